//! Walking every page of a list as one stream of items.

use std::future::Future;

use futures_util::stream::{self, Stream, TryStreamExt};

use crate::Error;

/// The items of every page, in order: `fetch(cursor)` answers one page's
/// items and the cursor of the next page, `None` after the last.
pub(crate) fn every_page<'a, C, T, F, Fut>(
    first: C,
    fetch: F,
) -> impl Stream<Item = Result<T, Error>> + 'a
where
    C: 'a,
    T: 'a,
    F: FnMut(C) -> Fut + 'a,
    Fut: Future<Output = Result<(Vec<T>, Option<C>), Error>> + 'a,
{
    let mut fetch = fetch;
    stream::try_unfold(Some(first), move |cursor| {
        let page = cursor.map(&mut fetch);
        async move {
            match page {
                None => Ok::<_, Error>(None),
                Some(page) => {
                    let (items, next) = page.await?;
                    Ok(Some((
                        stream::iter(items.into_iter().map(Ok::<T, Error>)),
                        next,
                    )))
                }
            }
        }
    })
    .try_flatten()
}
