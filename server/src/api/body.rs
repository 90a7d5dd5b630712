//! JSON request bodies: parsed into typed structs whose fields are `Field`s (absent, null or a
//! value, so "leave alone" and "clear" stay apart), with unknown fields collected and refused
//! by the APIs that refuse them. The messages are the API's: "request body must be a JSON
//! object", "invalid JSON: …", "unknown field 'x'", "'k' must be a string or null".

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::ApiRequest;
use crate::error::ApiError;
use crate::model::name::printable;
use crate::model::value::TtlInput;

/// One field of a JSON body.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field {
    #[default]
    Absent,
    Null,
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    /// An array or object.
    Other(Value),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Field::Null,
            Value::String(s) => Field::Str(s),
            Value::Number(n) => Field::Num(n),
            Value::Bool(b) => Field::Bool(b),
            v => Field::Other(v),
        })
    }
}

impl Field {
    pub fn is_given(&self) -> bool {
        !matches!(self, Field::Absent | Field::Null)
    }

    /// A text field: absent -> None, null or "" -> Some(None), text -> Some(Some(text)).
    pub fn opt_str(&self, name: &str) -> Result<Option<Option<&str>>, ApiError> {
        match self {
            Field::Absent => Ok(None),
            Field::Null => Ok(Some(None)),
            Field::Str(s) if s.is_empty() => Ok(Some(None)),
            Field::Str(s) => Ok(Some(Some(s))),
            _ => Err(ApiError::BadRequest(format!(
                "'{name}' must be a string or null"
            ))),
        }
    }

    /// A text field where null counts as absent (`'k' must be a string` otherwise).
    pub fn str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self {
            Field::Absent | Field::Null => Ok(None),
            Field::Str(s) => Ok(Some(s)),
            _ => Err(ApiError::BadRequest(format!("'{name}' must be a string"))),
        }
    }

    /// The field as a TTL input for `TtlRange::check` (None when absent or null). In JSON a
    /// TTL is a number: `"120"` is refused like any other non-number.
    pub fn ttl(&self) -> Option<TtlInput<'_>> {
        match self {
            Field::Absent | Field::Null => None,
            Field::Num(n) => Some(TtlInput::Number(n.as_u64())),
            _ => Some(TtlInput::Other),
        }
    }
}

/// Fields of a body that its struct does not name.
pub type Unknown = BTreeMap<String, IgnoredAny>;

/// 400 for the first unknown field, if any.
pub fn refuse_unknown(unknown: &Unknown) -> Result<(), ApiError> {
    match unknown.keys().next() {
        Some(k) => Err(ApiError::BadRequest(format!(
            "unknown field '{}'",
            printable(k)
        ))),
        None => Ok(()),
    }
}

/// The body as a JSON object; 400 with a clear message otherwise.
pub fn object(req: &ApiRequest) -> Result<serde_json::Map<String, Value>, ApiError> {
    if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("invalid JSON: {e}"))),
    }
}

/// The body as the typed struct `T` (its fields `Field`s, its unknown fields collected).
pub fn typed<T: DeserializeOwned>(req: &ApiRequest) -> Result<T, ApiError> {
    from_object(object(req)?)
}

/// A JSON object as the typed struct `T`.
pub fn from_object<T: DeserializeOwned>(m: serde_json::Map<String, Value>) -> Result<T, ApiError> {
    // Every field is a `Field` (accepts any value) and unknown ones land in a map: an object
    // always converts; the error arm only guards a struct written otherwise.
    serde_json::from_value(Value::Object(m))
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Field,
        #[serde(default)]
        b: Field,
        #[serde(flatten)]
        rest: Unknown,
    }

    fn body(json: &str) -> Result<Body, ApiError> {
        typed(&ApiRequest::fake("POST", "/", &[], json))
    }

    #[test]
    fn fields_keep_absent_null_and_values_apart_and_unknown_fields_are_named() {
        let b = body(r#"{"a": null, "x": 1}"#).unwrap();
        assert_eq!(b.a, Field::Null);
        assert_eq!(b.b, Field::Absent);
        assert_eq!(
            refuse_unknown(&b.rest).unwrap_err().message(),
            "unknown field 'x'"
        );
        let b = body(r#"{"a": "", "b": "t"}"#).unwrap();
        assert_eq!(b.a.opt_str("a").unwrap(), Some(None));
        assert_eq!(b.b.opt_str("b").unwrap(), Some(Some("t")));
        assert!(refuse_unknown(&b.rest).is_ok());
        let b = body(r#"{"a": [1]}"#).unwrap();
        assert_eq!(
            b.a.opt_str("a").unwrap_err().message(),
            "'a' must be a string or null"
        );
        for (text, msg) in [
            ("", "request body must be a JSON object"),
            ("[1]", "request body must be a JSON object"),
            ("{", "invalid JSON"),
        ] {
            let e = body(text).err().expect("refused");
            assert!(e.message().starts_with(msg), "{text:?}: {}", e.message());
        }
    }
}
