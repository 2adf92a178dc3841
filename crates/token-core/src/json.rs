//! Reading JSON into a wire type, naming the member that does not fit (`at 'scopes[2]': …`): the
//! one reader of request bodies and of the pipeline's inputs.

use serde::de::DeserializeOwned;

/// Why a JSON text is not a `T`: the caller-facing message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// Parses `bytes` as one JSON `T` (nothing may follow it).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        JsonError(if path == "." || path.is_empty() {
            format!("The request body is not valid: {inner}.")
        } else {
            format!("The request body is not valid at '{path}': {inner}.")
        })
    })?;
    deserializer.end().map_err(|e| JsonError(format!("The request body is not valid: {e}.")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_member_that_does_not_fit() {
        let error = parse::<crate::introspection::IntrospectionRequest>(br#"{"token": "t", "scopes": [1]}"#)
            .unwrap_err();
        assert!(error.0.contains("at 'scopes[0]'"), "{error}");
        assert!(parse::<serde_json::Value>(b"{} {}").is_err(), "nothing may follow the value");
    }
}
