//! The client layer's one error type. It separates what the server said, transport failures, and
//! answers that could not be decoded — and never carries a credential or token value.

use token_core::{Action, ResultCode};

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error (`resultCode`/`resultMessage`/`action`, or the custom-token
    /// family's `{success: false, error}`, or an RFC 6749 error).
    #[error("the server answered {status}: {message}")]
    Api {
        /// The HTTP status of the answer.
        status: u16,
        /// `A…` code when the answer carries one, as sent.
        result_code: Option<String>,
        /// That code from the catalogue this client was built with (`None` for a code it does not
        /// know, e.g. from a newer server).
        code: Option<ResultCode>,
        /// The message as sent (`[code] text`).
        message: String,
        /// The `action` the answer carried, or the catalogue's for its code.
        action: Option<Action>,
        /// `Retry-After`, when the server sent one (429, 503).
        retry_after_secs: Option<u64>,
    },
    /// The request could not be sent or the answer not received. The text names the URL
    /// (without its query) and every cause, e.g. `… for url (http://127.0.0.1:8080/api/1/jwks):
    /// client error (Connect): tcp connect error: Connection refused (os error 111)`.
    #[error("transport failure: {}", with_causes(.0))]
    Transport(#[source] reqwest::Error),
    /// The server answered something this client could not decode; the raw body is kept.
    #[error("undecodable answer (HTTP {status}): {reason}")]
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// Why it could not be decoded.
        reason: String,
        /// The body as received (lossily as UTF-8).
        body: String,
    },
    /// The client is not configured for this call (e.g. no service chosen).
    #[error("client configuration: {0}")]
    Config(String),
    /// A JWT failed offline verification.
    #[error("token verification failed: {0}")]
    Verify(String),
}

impl Error {
    /// The `resultCode` of an API error.
    pub fn result_code(&self) -> Option<&str> {
        match self {
            Error::Api { result_code, .. } => result_code.as_deref(),
            _ => None,
        }
    }

    /// The typed `resultCode` of an API error, when the catalogue knows it: compare with the
    /// constants (`e.code() == Some(ResultCode::CUSTOM_TOKEN_REPLAYED)`).
    pub fn code(&self) -> Option<ResultCode> {
        match self {
            Error::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// HTTP status of an API or decode error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `[A401203] text` → `A401203`.
pub(crate) fn code_of(message: &str) -> Option<String> {
    let rest = message.strip_prefix('[')?;
    let (code, _) = rest.split_once(']')?;
    (code.len() == 7 && code.starts_with('A')).then(|| code.to_owned())
}

/// `error` and each of its causes, `: `-separated (reqwest's own text stops at "error sending
/// request", which says nothing of why); a cause already in the text is not repeated.
fn with_causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        let part = next.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = next.source();
    }
    text
}

/// Keeps the URL of a transport error (which server, which endpoint) without its query,
/// fragment and any password: the client never puts secrets in URLs, but errors stay clean
/// regardless.
pub(crate) fn transport(mut e: reqwest::Error) -> Error {
    if let Some(url) = e.url_mut() {
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_password(None);
    }
    Error::Transport(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_message_prefix() {
        assert_eq!(code_of("[A401203] accessTokenTTL …").as_deref(), Some("A401203"));
        assert_eq!(code_of("no code"), None);
        assert_eq!(code_of("[short] x"), None);
    }
}
