//! The baseline: the smallest axum service that reads the `Authorization`
//! header and answers a fixed JSON body of a given size. Tollgate's figures
//! are printed as ratios to this one, measured in the same run.
//!
//! Usage: `baseline LISTEN_ADDR BODY_BYTES`

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::any;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    // {"data":"xxxx..."} padded to exactly `size` bytes.
    let padding = size.saturating_sub(r#"{"data":""}"#.len());
    let body: &'static str =
        Box::leak(format!(r#"{{"data":"{}"}}"#, "x".repeat(padding)).into_boxed_str());
    let app = Router::new().fallback(any(move |headers: HeaderMap| async move {
        let authorized = headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| !v.is_empty());
        let status = if authorized { 200 } else { 401 };
        (
            axum::http::StatusCode::from_u16(status).unwrap_or_default(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
