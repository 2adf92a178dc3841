//! `POST /api/{serviceId}/pipeline`: a batch of `generateCustomToken` / `createToken` operations
//! in one round trip, as the RDK's `pipeline().send()` sends it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::TAG_CUSTOM_TOKENS;

/// A pipeline's body: an array of [`PipelineOperation`]s, or the RDK's object keyed by operation
/// name (`{"generateCustomToken": [...], "createToken": [...]}`). Each input is read by its
/// operation, so the body is kept as JSON here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineRequest(pub Value);

/// A pipeline's answer: one result per operation, in the request's form (array or keyed object),
/// each a [`GenerateCustomTokenResponse`](super::GenerateCustomTokenResponse) or a
/// `TokenCreateResponse` (or its error body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineResponse(pub Value);

crate::api::json_payload!(PipelineRequest, PipelineResponse);

crate::api::endpoint! {
    /// `POST /api/{serviceId}/pipeline`.
    pub struct Pipeline {
        operation_id: "pipeline",
        method: Post,
        path: "/api/{serviceId}/pipeline",
        summary: "Run a batch of generateCustomToken / createToken operations in one round trip (RDK pipeline().send()).",
        tag: TAG_CUSTOM_TOKENS,
        auth: Credential,
        idempotent: false,
        errors: crate::api::AUTH_ERRORS,
        request: PipelineRequest,
        response: PipelineResponse,
        error: crate::error_body::ApiErrorBody,
    }
}

/// One operation of a pipeline, as sent: `{"op": "...", "input": {...}}`. Inputs are kept as JSON
/// so that one malformed input fails only its own operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineOperation {
    /// `generateCustomToken` or `createToken`.
    pub op: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// The operation's input, as the operation alone takes it.
    pub input: Value,
}

/// Pipeline operation names.
pub const OP_GENERATE_CUSTOM_TOKEN: &str = "generateCustomToken";
/// The pipeline operation that creates a token.
pub const OP_CREATE_TOKEN: &str = "createToken";

#[cfg(feature = "openapi")]
mod documented {
    use serde_json::json;
    use utoipa::ToSchema as _;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;
    use crate::custom_token::GenerateCustomTokenResponse;
    use crate::openapi::{Components, Documented};

    fn inline(schema: serde_json::Value) -> RefOr<Schema> {
        serde_json::from_value(schema).unwrap_or_else(|e| panic!("pipeline schema: {e}"))
    }

    /// An array of operations, or the RDK's object keyed by operation. Each input is checked by
    /// its operation, and a failing one fails alone, in its own result.
    impl Documented for PipelineRequest {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            components.add::<PipelineOperation>();
            components.rules::<PipelineOperation>(|rules| {
                rules.field("op", json!({"enum": [OP_GENERATE_CUSTOM_TOKEN, OP_CREATE_TOKEN]}));
                rules.replace("input", json!({"type": "object"}));
            });
            let operation = format!("#/components/schemas/{}", PipelineOperation::name());
            Some(inline(json!({"oneOf": [
                {"type": "array", "items": {"$ref": operation}},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        OP_GENERATE_CUSTOM_TOKEN: {"type": "array", "items": {"type": "object"}},
                        OP_CREATE_TOKEN: {"type": "array", "items": {"type": "object"}},
                    },
                },
            ]})))
        }
    }

    impl Documented for PipelineResponse {
        fn schema(components: &mut Components) -> Option<RefOr<Schema>> {
            components.add::<GenerateCustomTokenResponse>();
            components.add::<crate::token_create::TokenCreateResponse>();
            let reference = |name: std::borrow::Cow<'static, str>| format!("#/components/schemas/{name}");
            let generated = reference(GenerateCustomTokenResponse::name());
            let created = reference(crate::token_create::TokenCreateResponse::name());
            let results = |item: &str| json!({"type": "array", "items": {"$ref": item}});
            Some(inline(json!({"oneOf": [
                {"type": "array", "items": {"anyOf": [{"$ref": generated}, {"$ref": created}]}},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        OP_GENERATE_CUSTOM_TOKEN: results(&generated),
                        OP_CREATE_TOKEN: results(&created),
                    },
                },
            ]})))
        }
    }
}
