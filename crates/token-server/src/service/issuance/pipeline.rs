//! The pipeline: many operations in one round trip (the server side of the
//! RDK's `pipeline().generateCustomToken(…).send()`). One result per operation, in order, each the
//! body that operation answers alone; one failing operation does not fail the others.
//!
//! Two body forms: a JSON array of `{"op": "...", "input": {...}}` (answered with an array), and the
//! RDK's object keyed by operation, `{"generateCustomToken": [input, …]}` (answered with the same
//! keys). Generations take a slot of the caller's parallel limit like direct calls, but wait for it.

use serde_json::Value;
use token_core::Secret;
use token_core::custom_token::{GenerateCustomToken, OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN};
use token_core::token_create::{TokenCreateRequest, TokenCreateResponse};

use super::Issuance;
use crate::service::authentication::Caller;
use crate::service::error::{PipelineError, parse_json};
use crate::service::{ServiceError, ServiceResult};

/// Parses a generate input from JSON (a pipeline operation), as the endpoint would.
pub fn parse_generate_input(input: &Value) -> ServiceResult<GenerateCustomToken> {
    parse_json(input)
}

/// What one operation of a pipeline did: the outcome it would have alone (the HTTP layer renders
/// each in its own family's shape).
#[derive(Debug)]
pub enum Outcome {
    Generated(ServiceResult<Secret>),
    Created(ServiceResult<Box<TokenCreateResponse>>),
}

/// The outcomes of a pipeline, in the shape of its body.
#[derive(Debug)]
pub enum Outcomes {
    /// For an array of operations: one outcome each, in order.
    List(Vec<Outcome>),
    /// For an object keyed by operation: the same keys, one outcome per input.
    Keyed(Vec<(String, Vec<Outcome>)>),
}

/// Runs one operation (of a checked batch).
async fn run(issuance: &Issuance, caller: &Caller, op: &str, input: &Value) -> Outcome {
    match op {
        OP_GENERATE_CUSTOM_TOKEN => {
            let Some(_slot) = issuance.limiter.acquire(caller.credential.as_str()).await else {
                return Outcome::Generated(Err(ServiceError::Internal("the limiter is closed".into())));
            };
            Outcome::Generated(match parse_generate_input(input) {
                Ok(input) => issuance.generate_custom_token(&caller.service, &input, &caller.actor()).await,
                Err(e) => Err(e),
            })
        }
        // OP_CREATE_TOKEN: the batch's shape was checked before anything ran.
        _ => Outcome::Created(match parse_json::<TokenCreateRequest>(input) {
            Ok(request) => {
                issuance.create(caller.service.clone(), request, &caller.actor()).await.map(Box::new)
            }
            Err(e) => Err(e),
        }),
    }
}

/// A batch's shape is checked whole before anything runs: a misspelt operation or an input that
/// is not an object is a bug in the caller, and half a batch must not run because of it. What an
/// input holds is checked by its operation, which then fails alone.
fn check_known(op: &str, at: &str) -> Result<(), PipelineError> {
    if op != OP_GENERATE_CUSTOM_TOKEN && op != OP_CREATE_TOKEN {
        return Err(PipelineError::UnknownOperation { op: op.chars().take(40).collect(), at: at.to_owned() });
    }
    Ok(())
}

/// See [`check_known`].
fn check_object(input: Option<&Value>, at: &str) -> Result<(), PipelineError> {
    if !input.is_some_and(Value::is_object) {
        return Err(PipelineError::InputNotObject(at.to_owned()));
    }
    Ok(())
}

fn too_large(issuance: &Issuance, count: usize) -> Result<(), PipelineError> {
    let max = issuance.config.pipeline_max_operations;
    if count > max {
        return Err(PipelineError::TooLarge { count, max });
    }
    Ok(())
}

impl Issuance {
    /// Runs every operation of `body` for `caller`, in order; one outcome per operation.
    pub async fn pipeline(&self, caller: &Caller, body: Value) -> ServiceResult<Outcomes> {
        match body {
            Value::Array(operations) => {
                too_large(self, operations.len())?;
                let mut batch = Vec::with_capacity(operations.len());
                for (index, operation) in operations.iter().enumerate() {
                    let Some(op) = operation.get("op").and_then(Value::as_str) else {
                        return Err(PipelineError::NotAnOperation(index).into());
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
                Ok(Outcomes::List(results))
            }
            Value::Object(groups) => {
                let mut count = 0;
                for (op, inputs) in &groups {
                    let Value::Array(inputs) = inputs else {
                        return Err(PipelineError::NotAList(op.clone()).into());
                    };
                    check_known(op, "")?;
                    for (index, input) in inputs.iter().enumerate() {
                        check_object(Some(input), &format!(" {index} of '{op}'"))?;
                    }
                    count += inputs.len();
                }
                too_large(self, count)?;
                let mut answer = Vec::with_capacity(groups.len());
                for (op, inputs) in &groups {
                    let mut results = Vec::new();
                    for input in inputs.as_array().into_iter().flatten() {
                        results.push(run(self, caller, op, input).await);
                    }
                    answer.push((op.clone(), results));
                }
                Ok(Outcomes::Keyed(answer))
            }
            _ => Err(PipelineError::BadShape.into()),
        }
    }
}
