//! The OpenAPI 3.1 document of the service, built from the endpoint metadata and the schemas the
//! wire types derive. `cargo xtask codegen` writes it to `docs/openapi.json`.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::api::{Auth, Endpoint, Method};
use crate::{custom_token, introspection, jwks, revocation, token_create, token_manage};

const BEARER: &str = "bearer";

/// One documented operation: its endpoint (which declares method, path, authentication, request
/// and response schemas) and what only the document adds: the HTTP statuses it may answer besides
/// 200, query parameters and the request's media type.
struct Operation {
    endpoint: Endpoint,
    errors: &'static [(&'static str, &'static str)],
    /// Query parameters (GET endpoints).
    query: Vec<utoipa::openapi::path::Parameter>,
    /// Media type of the request body.
    request_type: &'static str,
}

const AUTH_ERRORS: &[(&str, &str)] = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service, or the client is not of this service."),
    ("404", "No such service (or, for update/delete, no such token)."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

const CUSTOM_TOKEN_ERRORS: &[(&str, &str)] = &[
    ("400", "The input broke a rule: success is false and error names the field."),
    ("401", "Missing or unknown Bearer credential."),
    ("403", "The credential may not act on this service."),
    ("429", "More than the allowed generations are in flight for this credential (Retry-After)."),
];

const END_USER_ERRORS: &[(&str, &str)] = &[
    ("400", "The token is missing, invalid, expired or already used: success is false and error says which."),
    ("404", "No such service."),
];

/// Pseudo schema names built here rather than derived: the pipeline's array forms.
const PIPELINE_REQUEST: &str = custom_token::PIPELINE_REQUEST_SCHEMA;
const PIPELINE_RESPONSE: &str = custom_token::PIPELINE_RESPONSE_SCHEMA;

fn op(endpoint: Endpoint) -> Operation {
    Operation { endpoint, errors: AUTH_ERRORS, query: Vec::new(), request_type: "application/json" }
}

fn operations() -> Vec<Operation> {
    use utoipa::IntoParams;
    vec![
        op(token_create::ENDPOINT),
        Operation {
            query: token_manage::TokenListRequest::into_params(|| Some(ParameterIn::Query)),
            ..op(token_manage::LIST_ENDPOINT)
        },
        op(token_manage::UPDATE_ENDPOINT),
        op(token_manage::DELETE_ENDPOINT),
        op(token_manage::REVOKE_ENDPOINT),
        op(introspection::ENDPOINT),
        op(introspection::STANDARD_ENDPOINT),
        op(revocation::ENDPOINT),
        op(jwks::SERVICE_JWKS_ENDPOINT),
        Operation { errors: &[("404", "No such service.")], ..op(jwks::ENDPOINT) },
        Operation { errors: CUSTOM_TOKEN_ERRORS, ..op(custom_token::GENERATE_ENDPOINT) },
        op(custom_token::PIPELINE_ENDPOINT),
        Operation { errors: END_USER_ERRORS, ..op(custom_token::EXCHANGE_ENDPOINT) },
        Operation { errors: END_USER_ERRORS, ..op(custom_token::REFRESH_ENDPOINT) },
        Operation {
            errors: &[("400", "RFC 6749 error: invalid_request, invalid_grant or unsupported_grant_type.")],
            request_type: "application/x-www-form-urlencoded",
            ..op(custom_token::OAUTH_TOKEN_ENDPOINT)
        },
    ]
}

fn json_ref(name: &str) -> utoipa::openapi::Content {
    let schema: RefOr<Schema> = match name {
        PIPELINE_REQUEST => ArrayBuilder::new().items(Ref::from_schema_name("PipelineOperation")).into(),
        PIPELINE_RESPONSE => ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Object)).into(),
        _ => Ref::from_schema_name(name).into(),
    };
    ContentBuilder::new().schema(Some(schema)).build()
}

fn path_item(op: &Operation) -> PathItem {
    let method = match op.endpoint.method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Delete => HttpMethod::Delete,
    };
    let mut builder = OperationBuilder::new()
        .operation_id(Some(op.endpoint.operation_id))
        .summary(Some(op.endpoint.summary))
        .tag(op.endpoint.tag);
    if op.endpoint.auth == Auth::Credential {
        builder = builder.security(SecurityRequirement::new::<_, _, String>(BEARER, []));
    }
    builder = match op.endpoint.response {
        Some(response) => builder.response(
            "200",
            ResponseBuilder::new().description("Success").content("application/json", json_ref(response)),
        ),
        None => builder.response("204", ResponseBuilder::new().description("Done; no content.")),
    };
    for (name, description) in
        [("serviceId", "A service ID."), ("accessTokenIdentifier", "An access token value or its hash.")]
    {
        if op.endpoint.path.contains(&format!("{{{name}}}")) {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
    }
    for parameter in &op.query {
        builder = builder.parameter(parameter.clone());
    }
    if let Some(request) = op.endpoint.request {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(op.request_type, json_ref(request))
                .build(),
        ));
    }
    // Errors share the family's shape: the endpoint's own response type where it has one (its
    // error answers fill only resultCode, resultMessage and action), `ApiErrorBody` otherwise.
    let error_schema = match op.endpoint.response {
        Some(name) if name.ends_with("Response") && !name.starts_with("OAuth") => name,
        Some(_) if op.request_type != "application/json" => "OAuthErrorResponse",
        _ => "ApiErrorBody",
    };
    for (status, description) in op.errors {
        builder = builder.response(
            *status,
            ResponseBuilder::new()
                .description(*description)
                .content("application/json", json_ref(error_schema)),
        );
    }
    PathItem::new(method, builder)
}

fn add_schema<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut nested);
    components.schema(T::name(), <T as PartialSchema>::schema()).schemas_from_iter(nested)
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for op in operations() {
        paths = paths.path(op.endpoint.path, path_item(&op));
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A Service Access Token (one service) or an Organization Token (every service of its organization).",
                ))
                .build(),
        ),
    );
    components = add_schema::<token_create::TokenCreateRequest>(components);
    components = add_schema::<token_create::TokenCreateResponse>(components);
    components = add_schema::<token_create::GrantType>(components);
    components = add_schema::<token_create::Property>(components);
    components = add_schema::<token_manage::TokenListResponse>(components);
    components = add_schema::<token_manage::AccessTokenInfo>(components);
    components = add_schema::<token_manage::ClientSummary>(components);
    components = add_schema::<token_manage::TokenUpdateRequest>(components);
    components = add_schema::<token_manage::TokenUpdateResponse>(components);
    components = add_schema::<token_manage::TokenRevokeRequest>(components);
    components = add_schema::<token_manage::TokenRevokeResponse>(components);
    components = add_schema::<token_manage::ApiErrorBody>(components);
    components = add_schema::<introspection::IntrospectionRequest>(components);
    components = add_schema::<introspection::IntrospectionResponse>(components);
    components = add_schema::<introspection::StandardIntrospectionRequest>(components);
    components = add_schema::<introspection::StandardIntrospectionResponse>(components);
    components = add_schema::<jwks::JwkSet>(components);
    components = add_schema::<revocation::RevocationRequest>(components);
    components = add_schema::<revocation::RevocationResponse>(components);
    components = add_schema::<crate::result_code::Action>(components);
    components = add_schema::<custom_token::GenerateCustomToken>(components);
    components = add_schema::<custom_token::GenerateCustomTokenResponse>(components);
    components = add_schema::<custom_token::CustomTokenData>(components);
    components = add_schema::<custom_token::PipelineOperation>(components);
    components = add_schema::<custom_token::CustomTokenExchangeRequest>(components);
    components = add_schema::<custom_token::RefreshRequest>(components);
    components = add_schema::<custom_token::TokenPairResponse>(components);
    components = add_schema::<custom_token::OAuthTokenRequest>(components);
    components = add_schema::<custom_token::OAuthTokenResponse>(components);
    components = add_schema::<custom_token::OAuthErrorResponse>(components);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("token-service")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Self-hostable token service: the token-management API (token create and its family) and custom tokens. Generated by `cargo xtask codegen` from token-core; do not edit.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}

/// The document as pretty JSON, as written to `docs/openapi.json`.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
