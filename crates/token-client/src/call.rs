//! How every call is made: an endpoint's URL, its request carried as the endpoint declares, the
//! retry policy, and the answer decoded (every error family as [`Error::Api`]).

use rand::Rng;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use token_core::api::{Auth, Carrier, Endpoint, Metadata, Payload};

use crate::retry::Attempt;
use crate::{Action, Error, ResultCode, TokenClient, error};

/// A request body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    None,
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(String),
}

/// The answer of one HTTP exchange.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after_secs: Option<u64>,
}

impl TokenClient {
    /// The URL of `endpoint`: `{serviceId}` is this client's service (required only by paths
    /// that name one), the other `{name}`s the values of `extra`, each percent-encoded as one path
    /// segment (an alias or a subject may hold `/`, `?` or `%`).
    pub(crate) fn url(&self, endpoint: &Metadata, extra: &[(&str, &str)]) -> Result<url::Url, Error> {
        let mut url = self.inner.base.clone();
        let service =
            if endpoint.path.contains("{serviceId}") { Some(self.service_id()?.to_string()) } else { None };
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::Config("the base URL cannot be a base".into()))?;
            segments.pop_if_empty();
            for segment in endpoint.path.trim_start_matches('/').split('/') {
                let value = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some("serviceId") => service.as_deref().unwrap_or_default(),
                    Some(name) => extra
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| Error::Config(format!("no value for {{{name}}}")))?,
                    None => segment,
                };
                segments.push(value);
            }
        }
        Ok(url)
    }

    /// Sends to `endpoint` (its declared method; the Bearer credential when it declares one) with
    /// the retry policy; `idempotent` says whether a lost or 5xx attempt may be repeated.
    pub(crate) async fn send(
        &self,
        endpoint: &Metadata,
        url: url::Url,
        body: Body,
        idempotent: bool,
    ) -> Result<Answer, Error> {
        let authenticated = endpoint.auth != token_core::api::Auth::Public;
        self.send_as(endpoint, url, body, idempotent, authenticated).await
    }

    /// As [`send`](Self::send), with the Bearer credential (when this client has one) if
    /// `authenticated`: the refresh endpoints take it optionally.
    pub(crate) async fn send_as(
        &self,
        endpoint: &Metadata,
        url: url::Url,
        body: Body,
        idempotent: bool,
        authenticated: bool,
    ) -> Result<Answer, Error> {
        let method = match endpoint.method {
            token_core::api::Method::Get => Method::GET,
            token_core::api::Method::Post => Method::POST,
            token_core::api::Method::Delete => Method::DELETE,
            token_core::api::Method::Patch => Method::PATCH,
            token_core::api::Method::Put => Method::PUT,
        };
        let mut attempt = 0u32;
        loop {
            let mut request = self.inner.http.request(method.clone(), url.clone());
            if authenticated && let Some(bearer) = &self.inner.bearer {
                request = request.bearer_auth(bearer.secret());
            }
            match &body {
                Body::None => {}
                Body::Json(value) => request = request.json(value),
                Body::Form(text) => {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(text.clone());
                }
            }
            let what = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after_secs = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse().ok());
                    let body = response.bytes().await.map_err(error::transport)?.to_vec();
                    let answer = Answer { status, body, retry_after_secs };
                    if status < 400 {
                        return Ok(answer);
                    }
                    let jitter = jitter();
                    match self.inner.retry.next_delay(
                        attempt,
                        Attempt::Status { status, retry_after_secs },
                        idempotent,
                        jitter,
                    ) {
                        Some(delay) => {
                            tokio::time::sleep(delay).await;
                            attempt += 1;
                            continue;
                        }
                        None => return Ok(answer),
                    }
                }
                Err(e) => {
                    let what = if e.is_connect() { Attempt::NotSent } else { Attempt::Lost };
                    (what, e)
                }
            };
            let (what, e) = what;
            let jitter = jitter();
            match self.inner.retry.next_delay(attempt, what, idempotent, jitter) {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error::transport(e)),
            }
        }
    }

    /// Calls endpoint `E` (generic over the same `token_core::api::Endpoint` the server routes
    /// by): its method and path (`{serviceId}` is this client's service, the other parameters are
    /// `path`'s values), the Bearer credential when `E` needs one, `request` carried as `E`
    /// declares (JSON body, query string, form), retried only when `E` is idempotent; the answer
    /// decoded as `E::Response`, an error answer (in `E`'s error family) as [`Error::Api`].
    pub async fn call<E: Endpoint>(
        &self,
        path: &[(&str, &str)],
        request: &E::Request,
    ) -> Result<E::Response, Error>
    where
        E::Request: Serialize,
        E::Response: DeserializeOwned,
    {
        self.call_as::<E>(path, request, E::METADATA.auth != Auth::Public).await
    }

    /// As [`call`](Self::call), with the Bearer credential (when this client has one) if
    /// `authenticated`: the refresh endpoints take it optionally.
    pub(crate) async fn call_as<E: Endpoint>(
        &self,
        path: &[(&str, &str)],
        request: &E::Request,
        authenticated: bool,
    ) -> Result<E::Response, Error>
    where
        E::Request: Serialize,
        E::Response: DeserializeOwned,
    {
        let metadata = E::METADATA;
        let mut url = self.url(&metadata, path)?;
        let encode = |e: serde_json::Error| Error::Config(format!("cannot encode the request: {e}"));
        let body = match <E::Request as Payload>::CARRIER {
            Carrier::Nothing => Body::None,
            Carrier::Json | Carrier::Text(_) => Body::Json(serde_json::to_value(request).map_err(encode)?),
            Carrier::Query | Carrier::Form => {
                let pairs = form_pairs(&serde_json::to_value(request).map_err(encode)?);
                if <E::Request as Payload>::CARRIER == Carrier::Query {
                    if !pairs.is_empty() {
                        url.query_pairs_mut().extend_pairs(&pairs);
                    }
                    Body::None
                } else {
                    Body::Form(
                        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish(),
                    )
                }
            }
        };
        let answer = self.send_as(&metadata, url, body, metadata.idempotent, authenticated).await?;
        if <E::Response as Payload>::CARRIER == Carrier::Nothing && answer.status < 400 {
            // A 204: no body to read.
            return decode(Answer { body: b"null".to_vec(), ..answer });
        }
        decode(answer)
    }
}

/// A query or form's pairs from a request's JSON: its members that are given (`null` is left out),
/// strings as they are, numbers and booleans as JSON writes them.
fn form_pairs(value: &Value) -> Vec<(String, String)> {
    let Value::Object(members) = value else { return Vec::new() };
    members
        .iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name.clone(), text.clone())),
            other => Some((name.clone(), other.to_string())),
        })
        .collect()
}

/// A random fraction in `[0, 1)` for the retry policy's jitter.
fn jitter() -> f64 {
    rand::thread_rng().r#gen()
}

/// An API error from a message (`[code] text`), with the catalogue's action when it knows the code.
pub(crate) fn api_error(status: u16, message: String, retry_after_secs: Option<u64>) -> Error {
    let result_code = error::code_of(&message);
    let code = result_code.as_deref().and_then(ResultCode::lookup);
    Error::Api { status, result_code, code, message, action: code.map(|c| c.action), retry_after_secs }
}

/// Decodes a success body as `T`, or any of the server's error shapes as [`Error::Api`].
pub(crate) fn decode<T: DeserializeOwned>(answer: Answer) -> Result<T, Error> {
    let text = || String::from_utf8_lossy(&answer.body).into_owned();
    if answer.status < 400 {
        return serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
            status: answer.status,
            reason: e.to_string(),
            body: text(),
        });
    }
    let value: Value = serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        status: answer.status,
        reason: format!("error answer is not JSON: {e}"),
        body: text(),
    })?;
    if let Some(code) = value.get("resultCode").and_then(Value::as_str) {
        let message = value.get("resultMessage").and_then(Value::as_str).unwrap_or_default().to_owned();
        let action: Option<Action> = value.get("action").and_then(|a| serde_json::from_value(a.clone()).ok());
        return Err(Error::Api {
            status: answer.status,
            result_code: Some(code.to_owned()),
            code: ResultCode::lookup(code),
            message,
            action,
            retry_after_secs: answer.retry_after_secs,
        });
    }
    if let Some(message) = value.get("error").and_then(Value::as_str) {
        let message = match value.get("error_description").and_then(Value::as_str) {
            Some(description) => format!("{message}: {description}"),
            None => message.to_owned(),
        };
        return Err(api_error(answer.status, message, answer.retry_after_secs));
    }
    Err(Error::Decode { status: answer.status, reason: "unrecognised error answer".into(), body: text() })
}
