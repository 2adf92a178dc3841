//! The result-code catalogue: every `resultCode` the service can answer, with its HTTP status, its
//! `action` and a summary. `docs/result-codes.md` is generated from [`ResultCode::ALL`].
//!
//! Scheme (as in the API family of `004_…`): `A` + 3-digit API number + 3 digits, where the third
//! digit from the right is the kind — 0 success, 1 server-side error, 2 error in the caller's
//! request or service configuration, 3 error about the client, 4 logged only.

use serde::{Deserialize, Serialize};

/// The next action the caller (an authorization server implementation) should take.
///
/// Token create answers only `OK`, `BAD_REQUEST`, `FORBIDDEN` and `INTERNAL_SERVER_ERROR`; token
/// update adds `NOT_FOUND`, introspection `UNAUTHORIZED` and revocation `INVALID_CLIENT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Action {
    /// The server failed; retrying later may help. The default: an answer nobody filled in fails
    /// closed.
    #[default]
    InternalServerError,
    /// The request is wrong; fix it before retrying.
    BadRequest,
    /// The caller may not do this.
    Forbidden,
    /// Done.
    Ok,
    /// What the request names does not exist.
    NotFound,
    /// The caller is not authenticated.
    Unauthorized,
    /// The client failed authentication (RFC 7009).
    InvalidClient,
}

impl Action {
    /// The wire name (`OK`, `BAD_REQUEST`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::InternalServerError => "INTERNAL_SERVER_ERROR",
            Action::BadRequest => "BAD_REQUEST",
            Action::Forbidden => "FORBIDDEN",
            Action::Ok => "OK",
            Action::NotFound => "NOT_FOUND",
            Action::Unauthorized => "UNAUTHORIZED",
            Action::InvalidClient => "INVALID_CLIENT",
        }
    }
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultCode {
    /// `A` + API number + kind + sequence, e.g. `A109001`.
    pub code: &'static str,
    /// HTTP status the server answers with.
    pub status: u16,
    /// `action` on the wire.
    pub action: Action,
    /// What the code means; the message sent names the details (field, value, client…).
    pub summary: &'static str,
}

impl ResultCode {
    /// `[A109001] message` — the `resultMessage` form of the API family.
    pub fn message(&self, detail: impl std::fmt::Display) -> String {
        format!("[{}] {}", self.code, detail)
    }

    /// Finds an entry by its code.
    pub fn lookup(code: &str) -> Option<ResultCode> {
        Self::ALL.iter().copied().find(|c| c.code == code)
    }
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $name:ident = ($code:literal, $status:literal, $action:ident, $summary:literal); )*) => {
        impl ResultCode {
            $( $(#[$doc])* #[doc = concat!("`", $code, "` (HTTP ", $status, "): ", $summary)]
            pub const $name: ResultCode = ResultCode {
                code: $code, status: $status, action: Action::$action, summary: $summary,
            }; )*
            /// Every code, in catalogue order.
            pub const ALL: &'static [ResultCode] = &[ $( ResultCode::$name ),* ];
        }
    };
}

catalogue! {
    // ---- shared by every endpoint (API 001)
    SERVER_ERROR = ("A001101", 500, InternalServerError, "An unexpected server-side error occurred; details are logged, not returned.");
    STORE_UNAVAILABLE = ("A001102", 503, InternalServerError, "The token store is unavailable.");
    AUTHORIZATION_MISSING = ("A001201", 401, BadRequest, "The Authorization header is missing or is not a Bearer credential.");
    CREDENTIAL_INVALID = ("A001202", 401, BadRequest, "The Bearer credential is not a known Service Access Token or Organization Token.");
    CREDENTIAL_FORBIDDEN = ("A001203", 403, Forbidden, "The Bearer credential is valid but may not act on this service.");
    SERVICE_UNKNOWN = ("A001204", 404, BadRequest, "No service has the ID given in the path.");
    BODY_MALFORMED = ("A001205", 400, BadRequest, "The request body is not valid JSON of the expected shape; the message names the field.");
    BODY_TOO_LARGE = ("A001206", 413, BadRequest, "The request body is larger than the configured limit.");
    CONTENT_TYPE_UNSUPPORTED = ("A001207", 415, BadRequest, "The Content-Type is not the one this endpoint accepts.");
    PATH_INVALID = ("A001208", 400, BadRequest, "A path parameter is malformed (e.g. a non-numeric service ID).");
    TOO_MANY_REQUESTS = ("A001209", 429, BadRequest, "Too many requests of this kind are in flight for this credential; retry after the Retry-After delay.");
    NOT_FOUND = ("A001210", 404, NotFound, "No endpoint at this path.");
    METHOD_NOT_ALLOWED = ("A001211", 405, BadRequest, "The endpoint does not accept this HTTP method.");
    QUERY_INVALID = ("A001212", 400, BadRequest, "A query parameter is malformed; the message names it.");
    REQUEST_TIMEOUT = ("A001213", 408, BadRequest, "The request (headers and body) was not received and answered within the configured time.");
    ORGANIZATION_TOKEN_REQUIRED = ("A001214", 403, Forbidden, "This endpoint needs an Organization Token (of the service's organization).");

    // ---- token create (API 109)
    TOKEN_CREATED = ("A109001", 200, Ok, "An access token was created successfully: {grant type}, client = {client ID}.");
    TOKEN_CREATE_STORE_FAILED = ("A109101", 500, InternalServerError, "The token could not be stored.");
    SUBJECT_REQUIRED = ("A109201", 400, BadRequest, "subject is required unless grantType is CLIENT_CREDENTIALS.");
    SUBJECT_INVALID = ("A109202", 400, BadRequest, "subject must be 1 to 100 printable ASCII characters.");
    DURATION_INVALID = ("A109203", 400, BadRequest, "accessTokenDuration / refreshTokenDuration must be 0 (service default) or a positive number of seconds within the maximum.");
    THUMBPRINT_INVALID = ("A109204", 400, BadRequest, "certificateThumbprint / dpopKeyThumbprint must be a base64url SHA-256 (43 characters, no padding).");
    RESOURCE_INVALID = ("A109205", 400, BadRequest, "Each resource must be an absolute URI without a fragment (RFC 8707).");
    AUTH_TIME_INVALID = ("A109206", 400, BadRequest, "authTime must be zero or positive (seconds since the Unix epoch).");
    SCOPE_UNSUPPORTED = ("A109207", 400, BadRequest, "A requested scope is not supported by the service.");
    GRANT_TYPE_UNSUPPORTED = ("A109208", 400, BadRequest, "The grant type is not supported by the service.");
    JWT_AT_CLAIMS_INVALID = ("A109209", 400, BadRequest, "jwtAtClaims must be a JSON object (as a string) that does not redefine registered JWT claims.");
    AUTHORIZATION_DETAILS_INVALID = ("A109210", 400, BadRequest, "authorizationDetails must be an array of objects, each with a string `type` (RFC 9396).");
    PROPERTY_INVALID = ("A109211", 400, BadRequest, "Each property needs a non-empty key; keys are unique; sizes are capped.");
    TOKEN_VALUE_INVALID = ("A109212", 400, BadRequest, "A caller-supplied accessToken / refreshToken must be 1 to 512 printable ASCII characters, not starting with atk_ or rtk_ (reserved for generated values).");
    TOKEN_VALUE_IN_USE = ("A109213", 400, BadRequest, "A token with the same value already exists; it was not changed.");
    PROPERTIES_NOT_JSON = ("A109214", 400, BadRequest, "properties are accepted only with POST and Content-Type application/json.");
    FIELD_TOO_LONG = ("A109215", 400, BadRequest, "A string field (acr, sessionId, clientIdentifier…) is longer than its cap.");
    CLIENT_ID_MISSING = ("A109301", 400, BadRequest, "clientId is required.");
    CLIENT_UNKNOWN = ("A109302", 403, Forbidden, "The client does not exist in this service.");
    CLIENT_GRANT_TYPE_NOT_ALLOWED = ("A109303", 400, BadRequest, "The client is not allowed to use this grant type.");

    // ---- token list (API 131)
    TOKEN_LIST_RANGE_INVALID = ("A131201", 400, BadRequest, "start/end are not a valid range (end is exclusive, at most 1000 entries a page).");
    TOKEN_LIST_CLIENT_UNKNOWN = ("A131301", 400, BadRequest, "No client with this clientIdentifier (ID or alias) exists in the service.");

    // ---- token update (API 135)
    TOKEN_UPDATED = ("A135001", 200, Ok, "The access token was updated.");
    TOKEN_UPDATE_INVALID = ("A135201", 400, BadRequest, "The update request is invalid; the message names the field.");
    TOKEN_UPDATE_NOT_FOUND = ("A135202", 404, NotFound, "No access token of this service has this value or hash.");

    // ---- token delete (API 137)
    TOKEN_DELETE_NOT_FOUND = ("A137202", 404, NotFound, "No access token of this service has this value or hash.");

    // ---- token revoke (API 312)
    TOKENS_REVOKED = ("A312001", 200, Ok, "Revoked N access token(s).");
    REVOKE_REQUEST_INVALID = ("A312201", 400, BadRequest, "Name a token (accessTokenIdentifier / refreshTokenIdentifier), a clientIdentifier (optionally with a subject), or a subject.");
    REVOKE_CLIENT_UNKNOWN = ("A312301", 400, BadRequest, "No client with this clientIdentifier exists in the service.");

    // ---- tenancy: services, clients, a user's grants, signing keys (API 210)
    AUTHORIZATIONS_DELETED = ("A210001", 200, Ok, "Every live token of the client for the subject was revoked.");
    TENANCY_MEMBER_UNSUPPORTED = ("A210201", 400, BadRequest, "The body has members this server does not store (named in the message); nothing was changed.");
    TENANCY_MEMBER_INVALID = ("A210202", 400, BadRequest, "A member has a value this server does not accept; the message names it. Nothing was changed.");
    TENANCY_SETTINGS_INVALID = ("A210203", 400, BadRequest, "The resulting settings break a rule (the message says which); nothing was changed.");
    TENANCY_CONFLICT = ("A210204", 409, BadRequest, "The client ID or alias is taken in this service; nothing was changed.");
    TENANCY_CLIENT_NOT_FOUND = ("A210205", 404, NotFound, "No client of the service has this ID or alias.");
    TENANCY_KEY_NOT_FOUND = ("A210206", 404, NotFound, "The service has no unrevoked signing key with this kid.");

    // ---- Token Status Lists (API 406)
    STATUS_LIST_UNKNOWN = ("A406201", 404, NotFound, "The service keeps no Token Status Lists, or has no such list (or it was retired).");

    // ---- introspection (API 056): answered with HTTP 200; `action` tells the resource server what to do
    INTROSPECTION_OK = ("A056001", 200, Ok, "The access token is valid.");
    INTROSPECTION_TOKEN_MISSING = ("A056201", 200, BadRequest, "The request does not contain a token.");
    INTROSPECTION_TOKEN_UNKNOWN = ("A056202", 200, Unauthorized, "The access token does not exist.");
    INTROSPECTION_TOKEN_INACTIVE = ("A056203", 200, Unauthorized, "The access token has expired or was revoked.");
    INTROSPECTION_SCOPE_INSUFFICIENT = ("A056204", 200, Forbidden, "The access token does not cover the required scopes.");
    INTROSPECTION_SUBJECT_MISMATCH = ("A056205", 200, Forbidden, "The access token is not for the required subject.");
    INTROSPECTION_BINDING_MISMATCH = ("A056206", 200, Unauthorized, "The presented certificate or DPoP key does not match the token's binding.");
    INTROSPECTION_DPOP_PROOF_INVALID = ("A056207", 200, Unauthorized, "The DPoP proof is invalid (RFC 9449 section 4.3).");
    INTROSPECTION_DPOP_TARGET_MISSING = ("A056208", 200, BadRequest, "A DPoP proof was given without the htm and htu of the request it proves.");

    // ---- standard introspection, RFC 7662 (API 145)
    STANDARD_INTROSPECTION_OK = ("A145001", 200, Ok, "Introspection done; responseContent holds the RFC 7662 answer.");
    STANDARD_INTROSPECTION_BAD_REQUEST = ("A145201", 200, BadRequest, "The RFC 7662 parameters are invalid (e.g. no token); responseContent holds the OAuth error.");

    // ---- revocation, RFC 7009 (API 113): answered with HTTP 200; `action` carries the outcome
    REVOCATION_OK = ("A113001", 200, Ok, "The token was revoked, or did not exist (RFC 7009 answers both the same).");
    REVOCATION_BAD_REQUEST = ("A113201", 200, BadRequest, "The RFC 7009 parameters are invalid (e.g. no token); responseContent holds the OAuth error.");
    REVOCATION_INVALID_CLIENT = ("A113301", 200, InvalidClient, "The revoking client is missing or not a client of the service.");

    // ---- custom tokens (API 401): `000_…`
    CUSTOM_TOKEN_GENERATED = ("A401001", 200, Ok, "A custom token was generated.");
    USER_ID_INVALID = ("A401201", 400, BadRequest, "userId must be 1 to 128 characters.");
    IDENTITY_INVALID = ("A401202", 400, BadRequest, "identity must be 1 to 128 characters.");
    ACCESS_TOKEN_TTL_INVALID = ("A401203", 400, BadRequest, "accessTokenTTL must be an integer from 1 to 3600 seconds.");
    REFRESH_TOKEN_TTL_INVALID = ("A401204", 400, BadRequest, "refreshTokenTTL must be greater than accessTokenTTL and at most the maximum.");
    CLAIMS_NOT_OBJECT = ("A401205", 400, BadRequest, "claims must be a JSON object.");
    CLAIMS_RESERVED = ("A401206", 400, BadRequest, "claims must not use a reserved JWT claim name.");
    CLAIMS_TOO_LARGE = ("A401207", 400, BadRequest, "claims serialised as JSON must not exceed the size cap.");
    CUSTOM_TOKEN_GENERATION_NOT_ALLOWED = ("A401208", 400, BadRequest, "The service does not allow the JWT_BEARER grant type, by which custom tokens are exchanged.");

    // ---- pipeline (API 402)
    PIPELINE_NOT_A_LIST = ("A402201", 400, BadRequest, "A pipeline body is a JSON array of {op, input} (or an object keyed by operation, RDK style).");
    PIPELINE_TOO_LARGE = ("A402202", 400, BadRequest, "The pipeline holds more operations than the configured cap.");
    PIPELINE_OPERATION_UNKNOWN = ("A402203", 400, BadRequest, "An operation of the pipeline is not generateCustomToken or createToken, or its input is malformed.");

    // ---- custom-token exchange (API 403)
    CUSTOM_TOKEN_EXCHANGED = ("A403001", 200, Ok, "The custom token was exchanged for an access and a refresh token.");
    CUSTOM_TOKEN_MISSING = ("A403201", 400, BadRequest, "The request does not contain a custom token.");
    CUSTOM_TOKEN_INVALID = ("A403202", 400, BadRequest, "The custom token is malformed, badly signed, or not for this service.");
    CUSTOM_TOKEN_EXPIRED = ("A403203", 400, BadRequest, "The custom token has expired.");
    CUSTOM_TOKEN_REPLAYED = ("A403204", 400, BadRequest, "The custom token was already used; a custom token is single use.");
    CUSTOM_TOKEN_LIFETIME_INVALID = ("A403205", 400, BadRequest, "The custom token's exp - iat is negative or longer than a custom token may live.");
    CUSTOM_TOKEN_EXCHANGE_NOT_ALLOWED = ("A403206", 400, BadRequest, "The service no longer allows the JWT_BEARER grant type, by which custom tokens are exchanged.");
    CUSTOM_TOKEN_SUBJECT_SIGNED_OUT = ("A403207", 400, BadRequest, "Every token of the custom token's user was revoked after it was generated; generate a new one.");

    // ---- refresh (API 404)
    TOKEN_REFRESHED = ("A404001", 200, Ok, "A new access token and a rotated refresh token were issued.");
    REFRESH_TOKEN_MISSING = ("A404201", 400, BadRequest, "The request does not contain a refresh token.");
    REFRESH_TOKEN_INVALID = ("A404202", 400, BadRequest, "The refresh token is unknown, expired or revoked.");
    REFRESH_TOKEN_REUSED = ("A404203", 400, BadRequest, "A rotated refresh token was used again; every token of its family was revoked.");
    REFRESH_NOT_ALLOWED = ("A404204", 400, BadRequest, "The service or the client no longer allows the REFRESH_TOKEN grant type.");
    REFRESH_CREDENTIAL_REQUIRED = ("A404205", 401, Unauthorized, "Without the service's credential only custom-token sessions and DPoP-bound tokens (with a proof) are refreshed.");
    REFRESH_PROOF_INVALID = ("A404206", 400, BadRequest, "The token is DPoP-bound and the request's DPoP proof is missing or invalid.");
    REFRESH_CERTIFICATE_MISMATCH = ("A404207", 400, BadRequest, "The token is certificate-bound and the client certificate given is missing or not the bound one.");

    // ---- OAuth token endpoint, RFC 6749 / RFC 7523 (API 405)
    OAUTH_GRANT_TYPE_UNSUPPORTED = ("A405201", 400, BadRequest, "grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer or refresh_token.");
    OAUTH_REQUEST_INVALID = ("A405202", 400, BadRequest, "The form-encoded token request is malformed or misses a parameter.");

    // ---- Shared Signals transmitter, SSF 1.0 (API 700)
    SSF_REQUEST_INVALID = ("A700201", 400, BadRequest, "A Shared Signals request broke a rule; the message names the member.");
    SSF_STREAM_NOT_FOUND = ("A700202", 404, NotFound, "The service has no stream with this stream_id.");
    SSF_PUSH_NOT_ALLOWED = ("A700203", 400, BadRequest, "The push endpoint_url is not allowed by the server's ssf_receiver_allowlist (empty: push is off).");
    SSF_NOT_POLLED = ("A700204", 400, BadRequest, "The stream is delivered by push, not polled.");
    SSF_STREAM_LIMIT = ("A701301", 409, Forbidden, "The service has as many streams as it may.");
    SSF_VERIFY_TOO_SOON = ("A702301", 429, BadRequest, "A verification was asked for sooner than min_verification_interval after the last one.");
    SSF_QUEUE_FULL = ("A702302", 429, BadRequest, "The stream has as many SETs waiting as it may (100,000); its receiver must take them first.");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_follow_the_scheme() {
        let mut seen = HashSet::new();
        for c in ResultCode::ALL {
            assert!(seen.insert(c.code), "duplicate {}", c.code);
            assert_eq!(c.code.len(), 7, "{}", c.code);
            assert!(c.code.starts_with('A') && c.code[1..].bytes().all(|b| b.is_ascii_digit()));
            let kind = c.code.as_bytes()[4];
            // Some APIs (introspection) answer HTTP 200 and let `action` carry the outcome, so the
            // kind is tied to the action, and only failures may use 4xx/5xx.
            match kind {
                b'0' => assert!(c.status < 300 && c.action == Action::Ok, "{}", c.code),
                b'1' => assert!(c.status >= 500 && c.action == Action::InternalServerError, "{}", c.code),
                b'2' | b'3' => assert!(c.action != Action::Ok && c.status < 500, "{}", c.code),
                _ => panic!("unknown kind in {}", c.code),
            }
        }
    }

    #[test]
    fn message_has_the_family_form() {
        assert_eq!(ResultCode::TOKEN_CREATED.message("x"), "[A109001] x");
        assert_eq!(ResultCode::lookup("A109001"), Some(ResultCode::TOKEN_CREATED));
    }
}
