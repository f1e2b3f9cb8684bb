//! Strict shapes for request bodies, used through `#[serde(deserialize_with)]`.
//!
//! serde's derived `Deserialize` also reads a struct from a JSON array
//! (`[null, null]` fills fields by position) and reads a JSON `null` as an
//! absent `Option`. The Container Registry API documents objects and types
//! its optional fields as non-nullable unless it says otherwise, so request
//! models read every struct only from an object ([`object`], [`nullable_objects`])
//! and refuse `null` where the document does not allow it ([`present`]).

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// `T`, read only from a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

/// A struct field read only from a JSON object.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Object::<T>::deserialize(deserializer).map(|o| o.0)
}

/// An optional struct field: absent is `None` (with `#[serde(default)]`),
/// an object is `Some`, `null` is refused.
pub fn some_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    object(deserializer).map(Some)
}

/// An optional struct field the document makes nullable: absent is `None`
/// (with `#[serde(default)]`), an object is `Some`, and `null` is
/// `Some(T::default())`.
pub fn object_or_null_as_default<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let value = Option::<Object<T>>::deserialize(deserializer)?;
    Ok(Some(value.map(|o| o.0).unwrap_or_default()))
}

/// A list the document makes nullable, where `null` means the same as `[]`.
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A JSON object whose contents are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredObject;

/// An optional field the document types as an object without describing
/// it: absent is `None`, an object is `Some`, anything else is refused.
pub fn some_ignored_object<'de, D>(deserializer: D) -> Result<Option<IgnoredObject>, D::Error>
where
    D: Deserializer<'de>,
{
    Object::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>::deserialize(deserializer)
        .map(|_| Some(IgnoredObject))
}

/// A nullable list of structs: `null` is `None`, each element an object.
pub fn nullable_objects<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Option::<Vec<Object<T>>>::deserialize(deserializer)?;
    Ok(items.map(|items| items.into_iter().map(|o| o.0).collect()))
}

/// A nullable list of structs whose `null` means something: absent is
/// `None`, `null` is `Some(None)`, a list is `Some(Some(items))`.
pub fn null_or_objects<'de, D, T>(deserializer: D) -> Result<Option<Option<Vec<T>>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    nullable_objects(deserializer).map(Some)
}

/// An optional, non-nullable field: absent is `None` (with
/// `#[serde(default)]`), a value of `T` is `Some`, `null` is refused with
/// the usual "invalid type: null, expected ..." message.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A nullable field whose `null` means something: absent is `None`, `null`
/// is `Some(None)`, a value is `Some(Some(v))`.
pub fn null_or_present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(deserialize_with = "object")]
        inner: Inner,
        #[serde(default, deserialize_with = "present")]
        label: Option<String>,
        #[serde(default, deserialize_with = "nullable_objects")]
        list: Option<Vec<Inner>>,
    }

    fn parse(json: &str) -> Result<Outer, String> {
        serde_json::from_str::<Object<Outer>>(json)
            .map(|o| o.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn structs_come_only_from_objects() {
        assert!(parse(r#"{"inner": {"a": "x"}}"#).is_ok());
        assert!(
            parse(r#"[{"a": "x"}]"#)
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(
            parse(r#"{"inner": ["x"]}"#)
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(
            parse(r#"{"inner": {"a": "x"}, "list": [["y"]]}"#)
                .unwrap_err()
                .contains("JSON object")
        );
    }

    #[test]
    fn null_is_refused_unless_the_field_is_nullable() {
        let ok = parse(r#"{"inner": {"a": "x"}, "list": null}"#).unwrap();
        assert_eq!(ok.list, None);
        assert_eq!(ok.label, None);
        let err = parse(r#"{"inner": {"a": "x"}, "label": null}"#).unwrap_err();
        assert!(err.contains("null"), "{err}");
    }
}
