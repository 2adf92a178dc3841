//! `client.pipeline().generate_custom_token(a).create_token(b).send().await`: one round trip per
//! chunk of at most `pipeline_chunk` operations, results in the order the operations were added.

use serde_json::{Value, json};
use token_core::custom_token::{
    GenerateCustomToken, GenerateCustomTokenResponse, OP_CREATE_TOKEN, OP_GENERATE_CUSTOM_TOKEN,
};
use token_core::token_create::{TokenCreateRequest, TokenCreateResponse};
use token_core::{ResultCode, Secret};

use crate::call::{Body, api_error, decode};
use crate::custom_tokens::custom_token_of;
use crate::{Error, TokenClient};

/// The result of one pipeline operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum PipelineResult {
    /// A `generateCustomToken`: the custom token, or why not.
    CustomToken(Result<Secret, Error>),
    /// A `createToken`: the answer, or why not.
    TokenCreate(Result<Box<TokenCreateResponse>, Error>),
}

impl PipelineResult {
    /// The custom token of a successful generation.
    pub fn custom_token(&self) -> Option<&Secret> {
        match self {
            PipelineResult::CustomToken(Ok(token)) => Some(token),
            _ => None,
        }
    }

    /// Whether the operation succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, PipelineResult::CustomToken(Ok(_)) | PipelineResult::TokenCreate(Ok(_)))
    }
}

#[derive(Debug)]
enum Operation {
    Generate(Value),
    Create(Value),
}

/// Collects operations; [`send`](PipelineBuilder::send) runs them.
#[derive(Debug)]
pub struct PipelineBuilder<'a> {
    client: &'a TokenClient,
    operations: Vec<Operation>,
    encode_error: Option<String>,
}

impl<'a> PipelineBuilder<'a> {
    pub(crate) fn new(client: &'a TokenClient) -> Self {
        Self { client, operations: Vec::new(), encode_error: None }
    }

    fn push(mut self, wrap: fn(Value) -> Operation, input: impl serde::Serialize) -> Self {
        match serde_json::to_value(input) {
            Ok(value) => self.operations.push(wrap(value)),
            Err(e) => self.encode_error = Some(e.to_string()),
        }
        self
    }

    /// Adds a `generateCustomToken` operation.
    pub fn generate_custom_token(self, input: GenerateCustomToken) -> Self {
        self.push(Operation::Generate, input)
    }

    /// Adds a token create (`auth/token/create`) operation.
    pub fn create_token(self, request: TokenCreateRequest) -> Self {
        self.push(Operation::Create, request)
    }

    /// Operations added so far.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    /// Whether no operation was added.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// Sends every operation (in chunks under the server's cap) and returns one result per
    /// operation, in order. Fails as a whole only when a chunk itself fails (transport, auth).
    pub async fn send(self) -> Result<Vec<PipelineResult>, Error> {
        if let Some(e) = self.encode_error {
            return Err(Error::Config(format!("cannot encode a pipeline input: {e}")));
        }
        let url = self.client.pipeline_url()?;
        let mut results = Vec::with_capacity(self.operations.len());
        for chunk in self.operations.chunks(self.client.pipeline_chunk()) {
            let body: Vec<Value> = chunk
                .iter()
                .map(|op| match op {
                    Operation::Generate(input) => json!({"op": OP_GENERATE_CUSTOM_TOKEN, "input": input}),
                    Operation::Create(input) => json!({"op": OP_CREATE_TOKEN, "input": input}),
                })
                .collect();
            // The server runs a pipeline's generations one at a time under this credential's limit:
            // hold one of this client's slots so that direct calls never push it past the limit.
            let _slot = self.client.generation_slot().await?;
            let answer = self
                .client
                .send(
                    &<token_core::custom_token::Pipeline as token_core::api::Endpoint>::METADATA,
                    url.clone(),
                    Body::Json(Value::Array(body)),
                    false,
                )
                .await?;
            let values: Vec<Value> = decode(answer)?;
            if values.len() != chunk.len() {
                return Err(Error::Decode {
                    status: 200,
                    reason: format!("{} results for {} operations", values.len(), chunk.len()),
                    body: String::new(),
                });
            }
            for (op, value) in chunk.iter().zip(values) {
                results.push(match op {
                    Operation::Generate(_) => PipelineResult::CustomToken(generated(value)),
                    Operation::Create(_) => PipelineResult::TokenCreate(created(value)),
                });
            }
        }
        Ok(results)
    }
}

/// The HTTP status the operation would have answered alone (from the catalogue).
fn status_of(message: &str) -> u16 {
    crate::error::code_of(message).and_then(|c| ResultCode::lookup(&c)).map(|c| c.status).unwrap_or(400)
}

fn generated(value: Value) -> Result<Secret, Error> {
    let response: GenerateCustomTokenResponse = serde_json::from_value(value.clone())
        .map_err(|e| Error::Decode { status: 200, reason: e.to_string(), body: value.to_string() })?;
    let status = response.error.as_deref().map(status_of).unwrap_or(200);
    custom_token_of(response, status)
}

fn created(value: Value) -> Result<Box<TokenCreateResponse>, Error> {
    let response: TokenCreateResponse = serde_json::from_value(value.clone()).map_err(|e| Error::Decode {
        status: 200,
        reason: e.to_string(),
        body: value.to_string(),
    })?;
    if response.result_code == ResultCode::TOKEN_CREATED.code {
        Ok(Box::new(response))
    } else {
        let status = ResultCode::lookup(&response.result_code).map(|c| c.status).unwrap_or(400);
        Err(api_error(status, response.result_message, None))
    }
}
