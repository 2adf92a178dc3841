//! Endpoints as types (ruma style): each endpoint of the API is a unit type implementing
//! [`Endpoint`], declared next to its request and response types. The trait ties the endpoint's
//! metadata (method, path, who may call it) to its request type, its success answer and the family
//! its errors are rendered in, so that:
//!
//! - the server routes a handler with `route::<E>(handler)`, which does not compile when the
//!   handler's answer is not `E::Response` or its failure not `E::Error`'s (`token-server`'s
//!   `http::endpoint`);
//! - the client's calls are generic over the same trait (`token_client::Client::call::<E>`);
//! - `cargo xtask codegen` writes the OpenAPI document from the types (`openapi`), with no schema
//!   named by a string.

use serde::{Deserialize, Serialize};

/// HTTP methods used by the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
    /// `PUT`.
    Put,
}

impl Method {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Anyone: end-user endpoints (the token in the body is the credential), public JWK Set, health.
    Public,
    /// `Authorization: Bearer` with a Service Access Token of the path's service or an Organization
    /// Token of its organization.
    Credential,
    /// `Authorization: Bearer` with an Organization Token: of the path's service's organization when
    /// the path names a service, else the organization acted on.
    Organization,
}

/// The HTTP statuses an endpoint may answer besides success, with what each means (the OpenAPI
/// document lists them).
pub type ErrorStatuses = &'static [(&'static str, &'static str)];

/// What an endpoint declares about itself besides its types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Stable operation id (OpenAPI `operationId`).
    pub operation_id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// Path template with `{serviceId}`-style parameters, exactly as routed.
    pub path: &'static str,
    /// One-line description (OpenAPI `summary`).
    pub summary: &'static str,
    /// OpenAPI tag: which API family the endpoint belongs to.
    pub tag: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// Whether sending it twice has the effect of sending it once (a client may retry it after a
    /// lost answer).
    pub idempotent: bool,
    /// The statuses it may answer besides success.
    pub errors: ErrorStatuses,
}

impl Metadata {
    /// The path with `{serviceId}` replaced.
    pub fn path_for(&self, service_id: crate::ids::ServiceId) -> String {
        self.path.replace("{serviceId}", &service_id.to_string())
    }
}

/// How a request or an answer travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// Nothing (a request without a body; a 204 answer).
    Nothing,
    /// A JSON body (`application/json`).
    Json,
    /// The query string of the URL.
    Query,
    /// An `application/x-www-form-urlencoded` body.
    Form,
    /// A body of another media type, as text.
    Text(&'static str),
}

impl Carrier {
    /// The media type of a body carried this way (`None`: no body).
    pub const fn media_type(self) -> Option<&'static str> {
        match self {
            Carrier::Json => Some("application/json"),
            Carrier::Form => Some("application/x-www-form-urlencoded"),
            Carrier::Text(media_type) => Some(media_type),
            Carrier::Nothing | Carrier::Query => None,
        }
    }
}

/// A request or answer type of the API, and how it travels.
pub trait Payload {
    /// How it travels.
    const CARRIER: Carrier;
}

/// The family an endpoint's errors are rendered in: the type of the error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `{resultCode, resultMessage, action}` with the code's status (the token-management family
    /// and everything else).
    Api,
    /// `{success: false, error}` (the custom-token family, `000_…`).
    CustomToken,
    /// RFC 6749 section 5.2's `{error, error_description}` (the form token endpoint).
    OAuth,
}

/// An error body: which family renders it.
pub trait ErrorFamily: Payload {
    /// The family.
    const FAMILY: Family;
}

/// One endpoint of the API.
pub trait Endpoint: 'static {
    /// Method, path, access and statuses.
    const METADATA: Metadata;
    /// What the caller sends.
    type Request: Payload;
    /// The success answer.
    type Response: Payload;
    /// The error body (and so the family errors are rendered in).
    type Error: ErrorFamily;
    /// The status of a success that has a body (a creation may answer `201`).
    const SUCCESS: u16 = 200;
}

/// The request of an endpoint that takes nothing (beyond its path and credential).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoBody;

impl Payload for NoBody {
    const CARRIER: Carrier = Carrier::Nothing;
}

/// The answer of an endpoint that answers `204 No Content`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoContent;

impl Payload for NoContent {
    const CARRIER: Carrier = Carrier::Nothing;
}

/// Declares wire types as JSON payloads.
macro_rules! json_payload {
    ($($ty:ty),+ $(,)?) => {
        $(impl $crate::api::Payload for $ty {
            const CARRIER: $crate::api::Carrier = $crate::api::Carrier::Json;
        })+
    };
}
pub(crate) use json_payload;

/// Declares an endpoint type: `endpoint! { /// docs
/// pub struct Name { operation_id: …, method: Post, path: …, summary: …, tag: …, auth: Credential,
/// idempotent: false, errors: …, request: T, response: U, error: F } }`.
macro_rules! endpoint {
    ($(#[$doc:meta])* pub struct $name:ident {
        operation_id: $operation_id:expr,
        method: $method:ident,
        path: $path:expr,
        summary: $summary:expr,
        tag: $tag:expr,
        auth: $auth:ident,
        idempotent: $idempotent:expr,
        errors: $errors:expr,
        request: $request:ty,
        response: $response:ty,
        error: $error:ty
        $(, success: $success:expr)? $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl $crate::api::Endpoint for $name {
            const METADATA: $crate::api::Metadata = $crate::api::Metadata {
                operation_id: $operation_id,
                method: $crate::api::Method::$method,
                path: $path,
                summary: $summary,
                tag: $tag,
                auth: $crate::api::Auth::$auth,
                idempotent: $idempotent,
                errors: $errors,
            };
            type Request = $request;
            type Response = $response;
            type Error = $error;
            $(const SUCCESS: u16 = $success;)?
        }
    };
}
pub(crate) use endpoint;

/// Tag of the token-management family (`004_…`).
pub const TAG_TOKEN_MANAGEMENT: &str = "Token management";
/// Tag of the custom-token family (`000_…`).
pub const TAG_CUSTOM_TOKENS: &str = "Custom tokens";
/// Tag of the operational endpoints (health, metrics, the document itself).
pub const TAG_OPERATIONS: &str = "Operations";

/// The statuses of most credential-authenticated endpoints.
pub const AUTH_ERRORS: ErrorStatuses = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service, or the client is not of this service."),
    ("404", "No such service (or, for update/delete, no such token)."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

/// Operations that may make a signing key (a new service, an algorithm switch, a rotation, the
/// replacement of a revoked current key): bounded per service and organization in time.
pub const KEY_MAKING_ERRORS: ErrorStatuses = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service (or key)."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    (
        "429",
        "The service or its organization made as many signing keys as it may this minute (A001209, Retry-After).",
    ),
    ("500", "Server-side error; details are logged, not returned."),
];

/// The statuses of the operational endpoints (not in the document).
pub const NO_ERRORS: ErrorStatuses = &[];
