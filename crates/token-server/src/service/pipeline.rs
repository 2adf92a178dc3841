//! The pipeline: many operations in one round trip (the server side of the
//! RDK's `pipeline().generateCustomToken(…).send()`). One result per operation, in order, each the
//! body that operation answers alone; one failing operation does not fail the others.
//!
//! Two body forms: a JSON array of `{"op": "...", "input": {...}}` (answered with an array), and the
//! RDK's object keyed by operation, `{"generateCustomToken": [input, …]}` (answered with the same
//! keys). Generations take a slot of the caller's parallel limit like direct calls, but wait for it.

use serde_json::{Map, Value, json};
use token_core::ResultCode;
use token_core::custom_token::{
    GenerateCustomToken, GenerateCustomTokenResponse, OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN,
};
use token_core::token_create::TokenCreateRequest;
use token_core::token_manage::ApiErrorBody;

use super::authenticate::Caller;
use super::error::parse_json;
use super::{ServiceError, ServiceResult, Services};

/// Parses a generate input from JSON (a pipeline operation), as the endpoint would.
pub fn parse_generate_input(input: &Value) -> ServiceResult<GenerateCustomToken> {
    parse_json(input.to_string().as_bytes())
}

fn error_body(e: &ServiceError) -> Value {
    let info = e.info();
    json!(ApiErrorBody {
        result_code: info.code.code.to_owned(),
        result_message: info.message,
        action: Some(info.code.action)
    })
}

/// Runs one operation (of a checked batch) and returns the body it would answer alone.
async fn run(services: &Services, caller: &Caller, op: &str, input: &Value) -> Value {
    match op {
        OP_GENERATE_CUSTOM_TOKEN => {
            let Some(_slot) = services.limiter.acquire(caller.credential.as_str()).await else {
                return json!(GenerateCustomTokenResponse::failed("the limiter is closed"));
            };
            let outcome = match parse_generate_input(input) {
                Ok(input) => services.generate_custom_token(&caller.service, &input).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(token) => json!(GenerateCustomTokenResponse::ok(token)),
                Err(e) => json!(GenerateCustomTokenResponse::failed(e.info().message)),
            }
        }
        // OP_CREATE_TOKEN: the batch's shape was checked before anything ran.
        _ => {
            let outcome = match parse_json::<TokenCreateRequest>(input.to_string().as_bytes()) {
                Ok(request) => services.create_token(caller.service.clone(), request).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(response) => json!(response),
                Err(e) => error_body(&e),
            }
        }
    }
}

/// A batch's shape is checked whole before anything runs: a misspelt operation or an input that
/// is not an object is a bug in the caller, and half a batch must not run because of it. What an
/// input holds is checked by its operation, which then fails alone.
fn check_known(op: &str, at: &str) -> ServiceResult<()> {
    if op != OP_GENERATE_CUSTOM_TOKEN && op != OP_CREATE_TOKEN {
        return Err(ServiceError::rule(
            ResultCode::PIPELINE_OPERATION_UNKNOWN,
            format!(
                "Unknown operation '{}'{at}; use {OP_GENERATE_CUSTOM_TOKEN} or {OP_CREATE_TOKEN}. Nothing ran.",
                op.chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok(())
}

/// See [`check_known`].
fn check_object(input: Option<&Value>, at: &str) -> ServiceResult<()> {
    if !input.is_some_and(Value::is_object) {
        return Err(ServiceError::rule(
            ResultCode::PIPELINE_OPERATION_UNKNOWN,
            format!("The input{at} must be a JSON object. Nothing ran."),
        ));
    }
    Ok(())
}

fn too_large(services: &Services, count: usize) -> Result<(), ServiceError> {
    let cap = services.config.pipeline_max_operations;
    if count > cap {
        return Err(ServiceError::rule(
            ResultCode::PIPELINE_TOO_LARGE,
            format!("The pipeline holds {count} operations; the maximum is {cap}. Split it."),
        ));
    }
    Ok(())
}

impl Services {
    /// Runs every operation of `body` for `caller`, in order; one result per operation, each the body
    /// that operation answers alone.
    pub async fn pipeline(&self, caller: &Caller, body: Value) -> ServiceResult<Value> {
        match body {
            Value::Array(operations) => {
                too_large(self, operations.len())?;
                let mut batch = Vec::with_capacity(operations.len());
                for (index, operation) in operations.iter().enumerate() {
                    let Some(op) = operation.get("op").and_then(Value::as_str) else {
                        return Err(ServiceError::rule(
                            ResultCode::PIPELINE_OPERATION_UNKNOWN,
                            format!(
                                "Operation {index} is not an object with a string 'op' and an 'input'. Nothing ran."
                            ),
                        ));
                    };
                    let input = operation.get("input");
                    let at = format!(" of operation {index}");
                    check_known(op, &at)?;
                    check_object(input, &at)?;
                    batch.push((op, input.unwrap_or(&Value::Null)));
                }
                let mut results = Vec::with_capacity(batch.len());
                for (op, input) in batch {
                    results.push(run(self, caller, op, input).await);
                }
                Ok(Value::Array(results))
            }
            Value::Object(groups) => {
                let mut count = 0;
                for (op, inputs) in &groups {
                    let Value::Array(inputs) = inputs else {
                        return Err(ServiceError::rule(
                            ResultCode::PIPELINE_NOT_A_LIST,
                            format!("'{op}' must map to an array of inputs."),
                        ));
                    };
                    check_known(op, "")?;
                    for (index, input) in inputs.iter().enumerate() {
                        check_object(Some(input), &format!(" {index} of '{op}'"))?;
                    }
                    count += inputs.len();
                }
                too_large(self, count)?;
                let mut answer = Map::new();
                for (op, inputs) in &groups {
                    let mut results = Vec::new();
                    for input in inputs.as_array().into_iter().flatten() {
                        results.push(run(self, caller, op, input).await);
                    }
                    answer.insert(op.clone(), Value::Array(results));
                }
                Ok(Value::Object(answer))
            }
            _ => Err(ServiceError::rule(
                ResultCode::PIPELINE_NOT_A_LIST,
                "The body must be an array of {\"op\", \"input\"} or an object keyed by operation.",
            )),
        }
    }
}
