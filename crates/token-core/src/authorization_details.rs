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

/// The schema of RFC 9396 authorization details in the document: an array of objects with a
/// string `type`, or the family's `{"elements": [...]}`.
#[cfg(feature = "openapi")]
#[derive(Debug)]
pub struct AuthorizationDetailsSchema;

#[cfg(feature = "openapi")]
impl AuthorizationDetailsSchema {
    fn element() -> Value {
        serde_json::json!({
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"type": "string", "minLength": 1}},
        })
    }

    /// A field holding authorization details, or `null`.
    pub fn nullable_field() -> Value {
        use utoipa::ToSchema as _;
        serde_json::json!({"anyOf": [
            {"type": "null"},
            {"$ref": format!("#/components/schemas/{}", Self::name())},
        ]})
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AuthorizationDetailsSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let elements = serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/AuthorizationDetail"}});
        let schema = serde_json::json!({"oneOf": [
            elements,
            {"type": "object", "required": ["elements"], "properties": {"elements": elements}},
        ]});
        serde_json::from_value(schema).unwrap_or_else(|e| panic!("authorization details schema: {e}"))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AuthorizationDetailsSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "AuthorizationDetails".into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        let element = serde_json::from_value(Self::element())
            .unwrap_or_else(|e| panic!("authorization detail schema: {e}"));
        schemas.push(("AuthorizationDetail".to_owned(), element));
    }
}
