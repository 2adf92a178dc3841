//! Endpoint metadata: method, path template and names, declared next to each endpoint's request
//! and response types (ruma style). The server routes by it, the client builds URLs from it and
//! `cargo xtask codegen` writes the OpenAPI document from it.

/// HTTP methods used by the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
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

/// One endpoint of the API, declared once next to its request and response types: the server
/// routes by it (and authenticates by `auth`), the client builds its calls from it, and
/// `cargo xtask codegen` writes the OpenAPI document from it — so the three cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
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
    /// Schema name of the request body (`None`: no body).
    pub request: Option<&'static str>,
    /// Schema name of the success answer (`None`: an empty 204).
    pub response: Option<&'static str>,
}

impl Endpoint {
    /// The path with `{serviceId}` replaced.
    pub fn path_for(&self, service_id: crate::ids::ServiceId) -> String {
        self.path.replace("{serviceId}", &service_id.to_string())
    }
}

/// Tag of the token-management family (`004_…`).
pub const TAG_TOKEN_MANAGEMENT: &str = "Token management";
/// Tag of the custom-token family (`000_…`).
pub const TAG_CUSTOM_TOKENS: &str = "Custom tokens";
