//! `POST /api/{serviceId}/pipeline`: many operations in one round trip (the server side of the
//! RDK's `pipeline().generateCustomToken(…).send()`). One result per operation, in order, each the
//! body that operation answers alone; one failing operation does not fail the others.
//!
//! Two body forms: a JSON array of `{"op": "...", "input": {...}}` (answered with an array), and the
//! RDK's object keyed by operation, `{"generateCustomToken": [input, …]}` (answered with the same
//! keys). Generations take a slot of the caller's parallel limit like direct calls, but wait for it.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use token_core::ResultCode;
use token_core::custom_token::{GenerateCustomTokenResponse, OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN};
use token_core::token_create::TokenCreateRequest;
use token_core::token_manage::ApiErrorBody;

use crate::app::AppState;
use crate::auth::ServiceCaller;
use crate::error::{ApiError, JsonBody, parse_json};
use crate::handlers::custom_token::{generate_custom_token, parse_generate_input};
use crate::handlers::token_create::create_token;

fn error_body(e: &ApiError) -> Value {
    let info = e.info();
    json!(ApiErrorBody {
        result_code: info.code.code.to_owned(),
        result_message: info.message,
        action: Some(info.code.action)
    })
}

/// Runs one operation and returns the body it would answer alone.
async fn run(state: &AppState, caller: &ServiceCaller, op: &str, input: &Value) -> Value {
    match op {
        OP_GENERATE_CUSTOM_TOKEN => {
            let Some(_slot) = state.limiter.acquire(caller.credential.as_str()).await else {
                return json!(GenerateCustomTokenResponse::failed("the limiter is closed"));
            };
            let outcome = match parse_generate_input(input) {
                Ok(input) => generate_custom_token(state, &caller.service, &input).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(token) => json!(GenerateCustomTokenResponse::ok(token)),
                Err(e) => json!(GenerateCustomTokenResponse::failed(e.info().message)),
            }
        }
        OP_CREATE_TOKEN => {
            let outcome = match parse_json::<TokenCreateRequest>(input.to_string().as_bytes()) {
                Ok(request) => create_token(state, caller.service.clone(), request).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(response) => json!(response),
                Err(e) => error_body(&e),
            }
        }
        other => error_body(&ApiError::rule(
            ResultCode::PIPELINE_OPERATION_UNKNOWN,
            format!(
                "Unknown operation '{}'; use {OP_GENERATE_CUSTOM_TOKEN} or {OP_CREATE_TOKEN}.",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

fn too_large(state: &AppState, count: usize) -> Result<(), ApiError> {
    let cap = state.config.pipeline_max_operations;
    if count > cap {
        return Err(ApiError::rule(
            ResultCode::PIPELINE_TOO_LARGE,
            format!("The pipeline holds {count} operations; the maximum is {cap}. Split it."),
        ));
    }
    Ok(())
}

pub async fn pipeline(
    State(state): State<AppState>,
    caller: ServiceCaller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    match body {
        Value::Array(operations) => {
            too_large(&state, operations.len())?;
            let mut results = Vec::with_capacity(operations.len());
            for (index, operation) in operations.iter().enumerate() {
                let result = match (operation.get("op").and_then(Value::as_str), operation.get("input")) {
                    (Some(op), Some(input)) => run(&state, &caller, op, input).await,
                    _ => error_body(&ApiError::rule(
                        ResultCode::PIPELINE_OPERATION_UNKNOWN,
                        format!("Operation {index} is not an object with a string 'op' and an 'input'."),
                    )),
                };
                results.push(result);
            }
            Ok(Json(Value::Array(results)))
        }
        Value::Object(groups) => {
            let mut count = 0;
            for (op, inputs) in &groups {
                let Value::Array(inputs) = inputs else {
                    return Err(ApiError::rule(
                        ResultCode::PIPELINE_NOT_A_LIST,
                        format!("'{op}' must map to an array of inputs."),
                    ));
                };
                count += inputs.len();
            }
            too_large(&state, count)?;
            let mut answer = Map::new();
            for (op, inputs) in &groups {
                let mut results = Vec::new();
                for input in inputs.as_array().into_iter().flatten() {
                    results.push(run(&state, &caller, op, input).await);
                }
                answer.insert(op.clone(), Value::Array(results));
            }
            Ok(Json(Value::Object(answer)))
        }
        _ => Err(ApiError::rule(
            ResultCode::PIPELINE_NOT_A_LIST,
            "The body must be an array of {\"op\", \"input\"} or an object keyed by operation.",
        )),
    }
}
