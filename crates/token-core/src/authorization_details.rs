//! RFC 9396 authorization details, in both forms the API family accepts (the bare array and
//! `{"elements": [...]}`).

use serde_json::{Map, Value};

use crate::error::ValidationError;

/// RFC 9396: an array of objects each with a string `type`; Authlete's `{"elements": [...]}` form
/// is accepted too. Returns the array.
pub fn authorization_details_elements(details: &Value) -> Result<&Vec<Value>, ValidationError> {
    let invalid = |reason: &str| ValidationError::AuthorizationDetailsInvalid { reason: reason.to_owned() };
    let elements = match details {
        Value::Array(elements) => elements,
        Value::Object(object) => match object.get("elements") {
            Some(Value::Array(elements)) => elements,
            _ => return Err(invalid("an object must hold the array under \"elements\"")),
        },
        _ => return Err(invalid("it must be an array of objects")),
    };
    for (index, element) in elements.iter().enumerate() {
        match element.get("type") {
            Some(Value::String(t)) if !t.is_empty() => {}
            _ => {
                return Err(ValidationError::AuthorizationDetailsInvalid {
                    reason: format!("element {index} has no string \"type\""),
                });
            }
        }
    }
    Ok(elements)
}

/// The API family's form of authorization details, `{"elements": [...]}`, whichever form was given.
/// This is what the store keeps and the family's answers carry (JWTs carry the bare array).
pub fn authorization_details_object(details: &Value) -> Option<Value> {
    let elements = authorization_details_elements(details).ok()?;
    let mut object = Map::new();
    object.insert("elements".into(), Value::Array(elements.clone()));
    Some(Value::Object(object))
}

pub(crate) fn check_authorization_details(details: &Value) -> Result<(), ValidationError> {
    authorization_details_elements(details).map(|_| ())
}
