//! Request bodies, decoded as their endpoint declares: [`RequestBody<E>`] reads `E::Request`
//! (content type, size limit, shape), so a handler of `E` cannot read another endpoint's body.

use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde_json::Value;
use token_core::api::Endpoint;
use token_core::custom_token::{
    CustomTokenExchangeRequest, GenerateCustomToken, PipelineRequest, RefreshRequest,
};
use token_core::introspection::{IntrospectionRequest, StandardIntrospectionRequest};
use token_core::revocation::RevocationRequest;
use token_core::tenancy::{Client, KeyRotateRequest, Service};
use token_core::token_create::TokenCreateRequest;
use token_core::token_manage::{TokenRevokeRequest, TokenUpdateRequest};

use crate::http::error::HttpError;

/// A request type read from a body.
pub trait Decode: Sized {
    /// Whether a request may come without a body (read as what an empty body decodes to); a
    /// body's media type is then checked only when there is a body.
    const EMPTY_ALLOWED: bool = false;

    /// Reads it from `body`, sent with `content_type` (`""` when none was given).
    fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError>;
}

/// The body must be `application/json` (parameters allowed).
fn require_json(content_type: &str) -> Result<(), HttpError> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    let got = if content_type.is_empty() { "none" } else { content_type };
    Err(HttpError::ContentType(got.to_owned()))
}

/// A JSON value of any shape (the pipeline's array or keyed form; the tenancy objects, which their
/// own reader checks member by member).
fn json_value(content_type: &str, body: &Bytes) -> Result<Value, HttpError> {
    require_json(content_type)?;
    token_core::json::parse(body).map_err(|e| HttpError::Body(e.0))
}

/// A typed JSON object. serde would also read a struct from an array (`["x"]` as its first
/// field): that is refused before it is read.
fn json_object<T: serde::de::DeserializeOwned>(content_type: &str, body: &Bytes) -> Result<T, HttpError> {
    require_json(content_type)?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(HttpError::Body("The request body must be a JSON object.".into()));
    }
    token_core::json::parse(body).map_err(|e| HttpError::Body(e.0))
}

macro_rules! json_objects {
    ($($ty:ty),+ $(,)?) => {
        $(impl Decode for $ty {
            fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError> {
                json_object(content_type, body)
            }
        })+
    };
}

json_objects!(
    TokenCreateRequest,
    TokenUpdateRequest,
    TokenRevokeRequest,
    IntrospectionRequest,
    StandardIntrospectionRequest,
    RevocationRequest,
    GenerateCustomToken,
    CustomTokenExchangeRequest,
    RefreshRequest,
    token_core::ssf::StreamRequest,
    token_core::ssf::StreamStatus,
    token_core::ssf::VerificationRequest,
    token_core::ssf::PollRequest,
);

impl Decode for PipelineRequest {
    fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError> {
        json_value(content_type, body).map(PipelineRequest)
    }
}

impl Decode for Service {
    fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError> {
        Ok(Service::from_request(json_value(content_type, body)?)?)
    }
}

impl Decode for Client {
    fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError> {
        Ok(Client::from_request(json_value(content_type, body)?)?)
    }
}

/// A key rotation may be sent without a body at all (as `curl -X POST` sends it): no body,
/// however it was sent (no length, `Content-Length: 0`, an empty chunked body), reads as `{}`.
impl Decode for KeyRotateRequest {
    const EMPTY_ALLOWED: bool = true;

    fn decode(content_type: &str, body: &Bytes) -> Result<Self, HttpError> {
        let value =
            if body.is_empty() { Value::Object(Default::default()) } else { json_value(content_type, body)? };
        Ok(KeyRotateRequest::from_request(value)?)
    }
}

/// The body of a request to `E`, read as `E::Request`.
#[derive(Debug)]
pub struct RequestBody<E: Endpoint>(pub E::Request, pub PhantomData<fn() -> E>);

impl<E, S> FromRequest<S> for RequestBody<E>
where
    E: Endpoint,
    E::Request: Decode,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // A wrong media type is refused before the body is read.
        if !<E::Request as Decode>::EMPTY_ALLOWED {
            require_json(&content_type)?;
        }
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::BodyTooLarge
            } else {
                HttpError::Body(format!("The request body could not be read: {rejection}."))
            }
        })?;
        E::Request::decode(&content_type, &body).map(|request| Self(request, PhantomData))
    }
}
