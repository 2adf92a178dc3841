//! The OpenAPI 3.1 document of the service, built from the endpoint metadata and the schemas the
//! wire types derive. `cargo xtask codegen` writes it to `docs/openapi.json`.

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder,
    Ref, RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::api::{Auth, Endpoint, Method};
use crate::grant::GrantType;
use crate::{
    custom_token, introspection, jwks, property, revocation, status_list, tenancy, token_create, token_manage,
};

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
    /// Media type of the success answer.
    response_type: &'static str,
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
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("429", "More than the allowed generations are in flight for this credential (Retry-After)."),
    ("500", "Server-side error; details are logged, not returned."),
];

const END_USER_ERRORS: &[(&str, &str)] = &[
    ("400", "The token is missing, invalid, expired or already used: success is false and error says which."),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

const REFRESH_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "The token is missing, invalid, expired or reused, or its DPoP proof or certificate is missing or wrong: success is false and error says which.",
    ),
    (
        "401",
        "The token needs the service's Bearer credential (only custom-token sessions and DPoP-bound tokens refresh without), or the credential given is not valid.",
    ),
    ("404", "No such service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

const OAUTH_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type, or (RFC 9449) invalid_dpop_proof.",
    ),
    (
        "401",
        "RFC 6749 invalid_client: the token needs the service's Bearer credential, or the one given is not valid.",
    ),
    ("404", "No such service (invalid_request)."),
    ("413", "The body is larger than the configured limit (invalid_request)."),
    ("500", "Server-side error (server_error); details are logged, not returned."),
];

/// Operations that may make a signing key (a new service, an algorithm switch, a rotation, the
/// replacement of a revoked current key): bounded per service and organization in time.
const KEY_MAKING_ERRORS: &[(&str, &str)] = &[
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

const CLIENT_WRITE_ERRORS: &[(&str, &str)] = &[
    ("400", "The request broke a rule; resultCode and resultMessage say which."),
    ("401", "Missing or unknown Bearer credential (WWW-Authenticate: Bearer)."),
    ("403", "The credential may not act on this service."),
    ("404", "No such service or client."),
    ("409", "The client ID or alias is taken in this service."),
    ("413", "The body is larger than the configured limit."),
    ("415", "The Content-Type is not application/json."),
    ("500", "Server-side error; details are logged, not returned."),
];

/// The `start`/`end` query parameters of the tenancy lists.
fn range() -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::IntoParams;
    tenancy::ListRange::into_params(|| Some(ParameterIn::Query))
}

/// Pseudo schema names built here rather than derived: the pipeline's array forms.
const PIPELINE_REQUEST: &str = custom_token::PIPELINE_REQUEST_SCHEMA;
const PIPELINE_RESPONSE: &str = custom_token::PIPELINE_RESPONSE_SCHEMA;

fn op(endpoint: Endpoint) -> Operation {
    Operation {
        endpoint,
        errors: AUTH_ERRORS,
        query: Vec::new(),
        request_type: "application/json",
        response_type: "application/json",
    }
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
        Operation {
            errors: &[
                ("400", "The service ID or list ID in the path is malformed."),
                (
                    "404",
                    "No such service, the service keeps no status lists, or no such list (or it was retired).",
                ),
            ],
            response_type: status_list::MEDIA_TYPE,
            ..op(status_list::ENDPOINT)
        },
        Operation { errors: CUSTOM_TOKEN_ERRORS, ..op(custom_token::GENERATE_ENDPOINT) },
        op(custom_token::PIPELINE_ENDPOINT),
        Operation { errors: END_USER_ERRORS, ..op(custom_token::EXCHANGE_ENDPOINT) },
        Operation { errors: REFRESH_ERRORS, ..op(custom_token::REFRESH_ENDPOINT) },
        Operation { errors: KEY_MAKING_ERRORS, ..op(tenancy::SERVICE_CREATE_ENDPOINT) },
        Operation { query: range(), ..op(tenancy::SERVICE_LIST_ENDPOINT) },
        op(tenancy::SERVICE_GET_ENDPOINT),
        Operation { errors: KEY_MAKING_ERRORS, ..op(tenancy::SERVICE_UPDATE_ENDPOINT) },
        op(tenancy::SERVICE_DELETE_ENDPOINT),
        Operation { errors: CLIENT_WRITE_ERRORS, ..op(tenancy::CLIENT_CREATE_ENDPOINT) },
        op(tenancy::CLIENT_GET_ENDPOINT),
        Operation { query: range(), ..op(tenancy::CLIENT_LIST_ENDPOINT) },
        Operation { errors: CLIENT_WRITE_ERRORS, ..op(tenancy::CLIENT_UPDATE_ENDPOINT) },
        op(tenancy::CLIENT_DELETE_ENDPOINT),
        Operation { query: range(), ..op(tenancy::AUTHORIZATION_LIST_ENDPOINT) },
        op(tenancy::AUTHORIZATION_DELETE_ENDPOINT),
        op(tenancy::KEY_LIST_ENDPOINT),
        Operation { errors: KEY_MAKING_ERRORS, ..op(tenancy::KEY_ROTATE_ENDPOINT) },
        Operation { errors: KEY_MAKING_ERRORS, ..op(tenancy::KEY_REVOKE_ENDPOINT) },
        Operation {
            errors: OAUTH_ERRORS,
            request_type: "application/x-www-form-urlencoded",
            ..op(custom_token::OAUTH_TOKEN_ENDPOINT)
        },
    ]
}

fn json_ref(name: &str) -> utoipa::openapi::Content {
    // The pipeline's bodies are completed by `contract` (their two forms).
    let schema: RefOr<Schema> = match name {
        PIPELINE_REQUEST | PIPELINE_RESPONSE => ObjectBuilder::new().into(),
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
    if op.endpoint.auth != Auth::Public {
        builder = builder.security(SecurityRequirement::new::<_, _, String>(BEARER, []));
    }
    builder = match op.endpoint.response {
        Some(response) => builder.response(
            "200",
            ResponseBuilder::new().description("Success").content(op.response_type, json_ref(response)),
        ),
        None => builder.response("204", ResponseBuilder::new().description("Done; no content.")),
    };
    for (name, description) in [
        ("serviceId", "A service ID."),
        ("accessTokenIdentifier", "An access token value or its hash."),
        ("clientId", "A client ID or its alias."),
        ("subject", "The end user's subject."),
        ("kid", "A signing key's ID."),
        ("listId", "A status list's ID (a positive number)."),
    ] {
        if op.endpoint.path.contains(&format!("{{{name}}}")) {
            let mut schema = ObjectBuilder::new().schema_type(Type::String);
            if name == "listId" {
                schema =
                    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(i64::MAX));
            }
            if name == "subject" {
                // As token create's subject: 1 to 100 printable ASCII characters.
                schema = schema.min_length(Some(1)).max_length(Some(100)).pattern(Some("^[\\x20-\\x7E]*$"));
            }
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(description))
                    .schema(Some(schema)),
            );
        }
    }
    for parameter in &op.query {
        builder = builder.parameter(parameter.clone());
    }
    if let Some(request) = op.endpoint.request {
        // A key rotation may be sent with no body at all (it reads as `{}`).
        let optional = op.endpoint.path == tenancy::KEY_ROTATE_ENDPOINT.path;
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if optional { Required::False } else { Required::True }))
                .content(op.request_type, json_ref(request))
                .build(),
        ));
    }
    // Errors have the family's shape: `{success: false, error}` for the custom-token endpoints
    // (their own response types), RFC 6749 for the form endpoint, `ApiErrorBody` otherwise.
    let error_schema = match op.endpoint.response {
        _ if op.request_type != "application/json" => "OAuthErrorResponse",
        Some(name @ ("GenerateCustomTokenResponse" | "TokenPairResponse")) => name,
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

/// OpenAPI links from an operation's answer to the operations that act on what it made: a created
/// token to introspection, update, revocation and delete; a created client to get, update and
/// delete. Clients (and schemathesis's stateful phase) follow them with the real values. (A
/// created service is not linked: schemathesis would start every scenario there, and a new
/// service has no client for token create.) (Written as JSON: utoipa 5 serializes `Link` with
/// snake_case member names, which OpenAPI does not read.)
fn add_links(document: &mut Value) {
    let link = |target: &Endpoint, parameters: Value, body: Option<Value>| {
        let mut link = json!({"operationId": target.operation_id, "parameters": parameters});
        if let Some(body) = body {
            link["requestBody"] = body;
        }
        link
    };
    let same_service = || json!({"serviceId": "$request.path.serviceId"});
    let token = "$response.body#/accessToken";
    let client_id = "$response.body#/clientId";
    let client = |target, body| {
        link(target, json!({"serviceId": "$request.path.serviceId", "clientId": client_id}), body)
    };
    let links = [
        (
            &token_create::ENDPOINT,
            json!({
                "IntrospectToken": link(&introspection::ENDPOINT, same_service(), Some(json!({"token": token}))),
                // The created token's own scopes: an update must keep to what the service supports.
                "UpdateToken": link(
                    &token_manage::UPDATE_ENDPOINT,
                    same_service(),
                    Some(json!({"accessToken": token, "scopes": "$response.body#/scopes"})),
                ),
                "RevokeToken": link(&token_manage::REVOKE_ENDPOINT, same_service(), Some(json!({"accessTokenIdentifier": token}))),
                "DeleteToken": link(
                    &token_manage::DELETE_ENDPOINT,
                    json!({"serviceId": "$request.path.serviceId", "accessTokenIdentifier": token}),
                    None,
                ),
            }),
        ),
        (
            &tenancy::CLIENT_CREATE_ENDPOINT,
            json!({
                "GetClient": client(&tenancy::CLIENT_GET_ENDPOINT, None),
                // The client as it is, named by its own ID: a body every client accepts.
                "UpdateClient": client(&tenancy::CLIENT_UPDATE_ENDPOINT, Some(json!({"clientId": client_id}))),
                "DeleteClient": client(&tenancy::CLIENT_DELETE_ENDPOINT, None),
            }),
        ),
    ];
    for (source, links) in links {
        let method = match source.method {
            Method::Get => "get",
            Method::Post => "post",
            Method::Delete => "delete",
        };
        document["paths"][source.path][method]["responses"]["200"]["links"] = links;
    }
}

fn add_schema<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut nested);
    components.schema(T::name(), <T as PartialSchema>::schema()).schemas_from_iter(nested)
}

/// RFC 6749 section 3.3 scope-token: one or more of %x21 / %x23-5B / %x5D-7E.
const SCOPE_TOKEN_PATTERN: &str = "^[!#-\\[\\]-~]+$";

/// The whole document: what the types derive, completed by [`contract`] with the rules the
/// server enforces.
pub fn document() -> Value {
    let mut document = serde_json::to_value(derived()).unwrap_or_default();
    contract(&mut document);
    add_links(&mut document);
    document
}

/// The document as the wire types and endpoint metadata derive it.
fn derived() -> OpenApi {
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
    components = add_schema::<token_manage::TokenState>(components);
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
    components = add_schema::<tenancy::Service>(components);
    components = add_schema::<tenancy::ServiceListResponse>(components);
    components = add_schema::<tenancy::Client>(components);
    components = add_schema::<tenancy::ClientListResponse>(components);
    components = add_schema::<tenancy::ClientAuthorizationListResponse>(components);
    components = add_schema::<tenancy::ClientAuthorizationDeleteResponse>(components);
    components = add_schema::<tenancy::KeyListResponse>(components);
    components = add_schema::<tenancy::KeyRotateRequest>(components);
    components = add_schema::<tenancy::KeyRotateResponse>(components);
    components = add_schema::<tenancy::KeyRevokeResponse>(components);
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
    let mut text =
        serde_json::to_string_pretty(&document()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

// ------------------------------------------------------------------ the enforced rules

/// The request rules the server enforces, stated in the document from the constants of the rules
/// themselves (`schemathesis --checks all` holds the two to each other: a request the document
/// allows must not be refused for its shape, one it forbids must be refused).
fn contract(document: &mut Value) {
    use custom_token::{MAX_ACCESS_TOKEN_TTL, MAX_IDENTITY_LEN, MAX_REFRESH_TOKEN_TTL, MAX_USER_ID_LEN};
    use property::{MAX_PROPERTIES, MAX_PROPERTY_KEY_LEN, MAX_PROPERTY_VALUE_LEN, RESERVED_PROPERTY_KEYS};
    use token_create::{MAX_JWT_AT_CLAIMS_LEN, MAX_LIST_LEN, MAX_TEXT_FIELD_LEN, MAX_TOKEN_DURATION_SECS};

    let schemas = &mut document["components"]["schemas"];
    let name = |max: usize| json!({"minLength": 1, "maxLength": max, "pattern": NAME_PATTERN});
    rule(schemas, "GenerateCustomToken", "userId", name(MAX_USER_ID_LEN));
    rule(schemas, "GenerateCustomToken", "identity", name(MAX_IDENTITY_LEN));
    rule(
        schemas,
        "GenerateCustomToken",
        "claims",
        json!({
            "type": ["object", "null"],
            "propertyNames": {"not": {"enum": custom_token::RESERVED_CLAIMS}},
            "description": format!("The end user's metadata: a JSON object of at most {} bytes; registered JWT names are reserved.", custom_token::MAX_CLAIMS_BYTES),
        }),
    );
    rule(
        schemas,
        "GenerateCustomToken",
        "accessTokenTTL",
        json!({"minimum": 1, "maximum": MAX_ACCESS_TOKEN_TTL}),
    );
    rule(
        schemas,
        "GenerateCustomToken",
        "refreshTokenTTL",
        json!({
            "minimum": 2,
            "maximum": MAX_REFRESH_TOKEN_TTL,
            "description": "Refresh token time-to-live in seconds: greater than accessTokenTTL (or the service's default when that is not given).",
        }),
    );
    rule(schemas, "CustomTokenExchangeRequest", "customToken", json!({"minLength": 1}));
    rule(schemas, "RefreshRequest", "refreshToken", json!({"minLength": 1}));

    // A Status List Token is a compact JWS, not JSON.
    schemas[status_list::STATUS_LIST_TOKEN_SCHEMA] = json!({
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
        "description": "A Status List Token (draft-ietf-oauth-status-list-17): a JWT with typ statuslist+jwt signed by the service's current key; claims sub (the list's URI), iat, exp, ttl and status_list {bits: 1, lst}.",
    });

    // Tenancy: the shape rules of the members we store (rules between members, and what the store
    // holds — a taken alias, an unknown client — are in the descriptions).
    for field in ["accessTokenDuration", "refreshTokenDuration"] {
        rule(schemas, "Service", field, json!({"minimum": 1}));
    }
    rule(
        schemas,
        "Service",
        "serviceName",
        json!({"pattern": "\\S", "description": "The service's name (not blank)."}),
    );
    rule(schemas, "Service", "supportedGrantTypes", json!({"minItems": 1}));
    rule(schemas, "Scope", "name", json!({"pattern": SCOPE_TOKEN_PATTERN}));
    rule(
        schemas,
        "ServiceExtension",
        "customTokenAccessTokenTTL",
        json!({"minimum": 1, "maximum": MAX_ACCESS_TOKEN_TTL}),
    );
    rule(
        schemas,
        "ServiceExtension",
        "customTokenRefreshTokenTTL",
        json!({"minimum": 2, "maximum": MAX_REFRESH_TOKEN_TTL, "description": "Default refreshTokenTTL of custom tokens' sessions, seconds: greater than customTokenAccessTokenTTL (or the service's access TTL when that is not given)."}),
    );
    for field in ["clientName", "clientIdAlias", "entityId"] {
        rule(schemas, "Client", field, json!({"maxLength": tenancy::MAX_CLIENT_TEXT_LEN}));
    }
    // The server's to assign: a request may leave them out (given, they must match).
    for (schema, field) in
        [("Service", "apiKey"), ("Service", "serviceOwnerNumber"), ("Client", "clientIdAliasEnabled")]
    {
        rule(schemas, schema, field, json!({"readOnly": true}));
    }
    // The members rule: a member we do not store is accepted only with a value that says "unused".
    for schema in ["Service", "Client", "Scope"] {
        schemas[schema]["additionalProperties"] = json!({
            "description": "A member this server does not store: accepted only when its value says it is unused.",
            "enum": [null, false, "", [], {}],
        });
    }

    let thumbprint = json!({"pattern": THUMBPRINT_PATTERN, "description": "base64url SHA-256 thumbprint (43 characters)."});
    let token_value = json!({"minLength": 1, "maxLength": 512, "pattern": TOKEN_VALUE_PATTERN});
    let create = "TokenCreateRequest";
    non_null(schemas, create, "clientId");
    require(schemas, create, "clientId");
    rule(
        schemas,
        create,
        "subject",
        json!({
            "minLength": 1,
            "maxLength": crate::ids::SUBJECT_MAX_LEN,
            "pattern": "^[\\u0020-\\u007e]*$",
            "description": "The end user (printable ASCII, at most 100 characters); required by the grant types that act for a user.",
        }),
    );
    for field in ["accessTokenDuration", "refreshTokenDuration"] {
        rule(schemas, create, field, json!({"minimum": 0, "maximum": MAX_TOKEN_DURATION_SECS}));
    }
    rule(schemas, create, "certificateThumbprint", thumbprint.clone());
    rule(schemas, create, "dpopKeyThumbprint", thumbprint);
    rule(schemas, create, "resources", json!({"maxItems": MAX_LIST_LEN}));
    rule(schemas, create, "authTime", json!({"minimum": 0}));
    for field in ["acr", "sessionId", "clientIdentifier"] {
        rule(schemas, create, field, json!({"maxLength": MAX_TEXT_FIELD_LEN}));
    }
    rule(schemas, create, "accessToken", token_value.clone());
    rule(schemas, create, "refreshToken", token_value);
    rule(schemas, create, "properties", json!({"maxItems": MAX_PROPERTIES}));
    rule(
        schemas,
        create,
        "jwtAtClaims",
        json!({"maxLength": MAX_JWT_AT_CLAIMS_LEN, "contentMediaType": "application/json"}),
    );
    rule(
        schemas,
        "Property",
        "key",
        json!({
            "minLength": 1,
            "maxLength": MAX_PROPERTY_KEY_LEN,
            "not": {"enum": RESERVED_PROPERTY_KEYS},
        }),
    );
    rule(schemas, "Property", "value", json!({"maxLength": MAX_PROPERTY_VALUE_LEN}));

    let update = "TokenUpdateRequest";
    rule(schemas, update, "accessToken", json!({"minLength": 1}));
    rule(schemas, update, "accessTokenExpiresAt", json!({"minimum": 0}));
    rule(schemas, update, "refreshTokenExpiresAt", json!({"minimum": 0}));
    let thumbprint_or_empty = json!({"pattern": format!("^({})?$", &THUMBPRINT_PATTERN[1..THUMBPRINT_PATTERN.len() - 1]), "description": "base64url SHA-256 thumbprint; empty removes the binding."});
    rule(schemas, update, "certificateThumbprint", thumbprint_or_empty.clone());
    rule(schemas, update, "dpopKeyThumbprint", thumbprint_or_empty);
    rule(schemas, update, "properties", json!({"maxItems": MAX_PROPERTIES}));

    // A subject follows token create's rule (revoking by subject records a cutoff for it).
    rule(
        schemas,
        "TokenRevokeRequest",
        "subject",
        json!({"maxLength": crate::ids::SUBJECT_MAX_LEN, "pattern": "^[\\u0020-\\u007e]*$"}),
    );
    // One target at least (`null` is the same as leaving a field out).
    schemas["TokenRevokeRequest"]["anyOf"] = json!(
        ["accessTokenIdentifier", "refreshTokenIdentifier", "clientIdentifier", "subject"]
            .map(|field| json!({"required": [field], "properties": {field: {"type": "string", "minLength": u32::from(field == "subject")}}}))
    );

    // RFC 9396: an array of objects with a string `type`, or the family's {"elements": [...]}.
    schemas["AuthorizationDetail"] = json!({
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string", "minLength": 1}},
    });
    let elements = json!({"type": "array", "items": {"$ref": "#/components/schemas/AuthorizationDetail"}});
    schemas["AuthorizationDetails"] = json!({"oneOf": [
        elements,
        {"type": "object", "required": ["elements"], "properties": {"elements": elements}},
    ]});
    for schema in [create, update] {
        schemas[schema]["properties"]["authorizationDetails"] = json!({"anyOf": [
            {"type": "null"},
            {"$ref": "#/components/schemas/AuthorizationDetails"},
        ]});
    }
    // Examples: the examples phase of the contract test sends them, and readers copy them.
    let examples = [
        (
            "GenerateCustomToken",
            json!({"userId": "user01", "identity": "enduser", "claims": {"name": "John Doe"}, "accessTokenTTL": 3600, "refreshTokenTTL": 2_592_000}),
        ),
        (
            "CustomTokenExchangeRequest",
            json!({"customToken": "eyJhbGciOiJFZERTQSIsInR5cCI6ImN1c3RvbS10b2tlbitqd3QifQ.e30.c2ln"}),
        ),
        ("RefreshRequest", json!({"refreshToken": "NuNmoNWbc4zQOLsPpcCLzdfaIy7KpFYzuOFJLOAnsxw"})),
        (
            "IntrospectionRequest",
            json!({"token": "VFGsNK-5sXiqterdaR7b5QbRX9VTwVCQB87jbr2_xAI", "scopes": ["history.read"]}),
        ),
        (
            "TokenCreateRequest",
            json!({"grantType": "AUTHORIZATION_CODE", "clientId": 26_888_344_961_664_i64, "subject": "john", "scopes": ["history.read", "timeline.read"], "jwtAtClaims": "{\"some_key\":\"some_value\"}", "accessTokenDuration": 3600, "refreshTokenDuration": 3600}),
        ),
        (
            "TokenUpdateRequest",
            json!({"accessToken": "VFGsNK-5sXiqterdaR7b5QbRX9VTwVCQB87jbr2_xAI", "scopes": ["history.read"]}),
        ),
        ("TokenRevokeRequest", json!({"clientIdentifier": "26888344961664", "subject": "john"})),
    ];
    for (schema, example) in examples {
        schemas[schema]["examples"] = json!([example]);
    }

    // Every grant type but CLIENT_CREDENTIALS acts for a user: it needs `subject`.
    schemas[create]["if"] =
        json!({"properties": {"grantType": {"const": GrantType::ClientCredentials.as_str()}}});
    schemas[create]["else"] = json!({"required": ["subject"], "properties": {"subject": {"type": "string"}}});

    // RFC 6749: one grant, with its own required parameter.
    schemas["OAuthTokenRequest"] = json!({
        "description": "Form parameters of the RFC 6749 token endpoint (application/x-www-form-urlencoded).",
        "oneOf": [
            {
                "type": "object",
                "required": ["grant_type", "assertion"],
                "properties": {
                    "grant_type": {"const": crate::grant::JWT_BEARER_GRANT},
                    "assertion": {"type": "string", "minLength": 1, "description": "The custom token (RFC 7523)."},
                },
            },
            {
                "type": "object",
                "required": ["grant_type", "refresh_token"],
                "properties": {
                    "grant_type": {"const": "refresh_token"},
                    "refresh_token": {"type": "string", "minLength": 1},
                },
            },
        ],
    });

    // The pipeline: an array of operations, or the RDK's object keyed by operation. Each input is
    // checked by its operation, and a failing one fails alone, in its own result.
    schemas["PipelineOperation"]["properties"]["op"]["enum"] =
        json!([custom_token::OP_GENERATE_CUSTOM_TOKEN, custom_token::OP_CREATE_TOKEN]);
    schemas["PipelineOperation"]["properties"]["input"] = json!({"type": "object"});
    let results =
        |item: &str| json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}});
    let any_result = json!({"anyOf": [
        {"$ref": "#/components/schemas/GenerateCustomTokenResponse"},
        {"$ref": "#/components/schemas/TokenCreateResponse"},
    ]});
    let pipeline = &mut document["paths"][custom_token::PIPELINE_ENDPOINT.path]["post"];
    pipeline["requestBody"]["content"]["application/json"]["schema"] = json!({"oneOf": [
        {"type": "array", "items": {"$ref": "#/components/schemas/PipelineOperation"}},
        {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                custom_token::OP_GENERATE_CUSTOM_TOKEN: {"type": "array", "items": {"type": "object"}},
                custom_token::OP_CREATE_TOKEN: {"type": "array", "items": {"type": "object"}},
            },
        },
    ]});
    pipeline["responses"]["200"]["content"]["application/json"]["schema"] = json!({"oneOf": [
        {"type": "array", "items": any_result},
        {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                custom_token::OP_GENERATE_CUSTOM_TOKEN: results("GenerateCustomTokenResponse"),
                custom_token::OP_CREATE_TOKEN: results("TokenCreateResponse"),
            },
        },
    ]});

    // The list's query: indexes are unsigned 32-bit integers.
    if let Some(parameters) =
        document["paths"][token_manage::LIST_ENDPOINT.path]["get"]["parameters"].as_array_mut()
    {
        for parameter in parameters {
            if matches!(parameter["name"].as_str(), Some("start" | "end")) {
                parameter["schema"] = json!({"type": "integer", "minimum": 0, "maximum": u32::MAX});
            }
        }
    }
}

/// userId and identity: not blank, no control characters.
const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// 43 base64url characters decoding to exactly 32 bytes (the last one carries 2 zero bits).
const THUMBPRINT_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";
/// Caller-chosen token values: printable ASCII, no space.
const TOKEN_VALUE_PATTERN: &str = "^[!-~]+$";

/// Makes an optional field non-nullable (the server refuses `null` where the field is given).
fn non_null(schemas: &mut Value, schema: &str, field: &str) {
    let target = &mut schemas[schema]["properties"][field];
    if let Some(types) = target["type"].as_array_mut() {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            target["type"] = types[0].clone();
        }
    }
    if let Some(alternatives) = target["oneOf"].as_array() {
        let kept: Vec<Value> = alternatives.iter().filter(|a| a["type"] != "null").cloned().collect();
        if let [only] = kept.as_slice() {
            *target = only.clone();
        }
    }
}

/// Adds `rules` to the schema of `field` of component `schema`.
/// Adds `rules` to the schema of `schema.field`. A misspelt schema or field is a bug of this module:
/// it fails here, loudly (every test that builds the document), instead of adding a rule to nothing.
fn rule(schemas: &mut Value, schema: &str, field: &str, rules: Value) {
    let target = schemas
        .get_mut(schema)
        .and_then(|s| s.get_mut("properties"))
        .and_then(|p| p.get_mut(field))
        .and_then(Value::as_object_mut);
    let (Some(target), Value::Object(rules)) = (target, rules) else {
        panic!("openapi contract: no property {field} in schema {schema} (or its rules are not an object)");
    };
    target.extend(rules);
}

/// Marks `schema.field` as required; fails loudly like [`rule`] on a field the schema lacks.
fn require(schemas: &mut Value, schema: &str, field: &str) {
    if schemas.get(schema).and_then(|s| s.get("properties")).and_then(|p| p.get(field)).is_none() {
        panic!("openapi contract: no property {field} in schema {schema} to require");
    }
    let required = &mut schemas[schema]["required"];
    if !required.is_array() {
        *required = json!([]);
    }
    if let Some(list) = required.as_array_mut()
        && !list.iter().any(|f| f == field)
    {
        list.push(json!(field));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "no property userld in schema GenerateCustomToken")]
    fn a_misspelt_field_fails_loudly() {
        let mut document = document();
        rule(
            &mut document["components"]["schemas"],
            "GenerateCustomToken",
            "userld",
            json!({"minLength": 1}),
        );
    }

    #[test]
    #[should_panic(expected = "no property userId in schema GenerateCustomTokn")]
    fn a_misspelt_schema_fails_loudly() {
        let mut document = document();
        require(&mut document["components"]["schemas"], "GenerateCustomTokn", "userId");
    }

    #[test]
    fn the_subject_rule_of_the_document_is_the_grant_types_own() {
        let document = document();
        let create = &document["components"]["schemas"]["TokenCreateRequest"];
        let exempt = create["if"]["properties"]["grantType"]["const"].as_str().unwrap();
        for grant in GrantType::ALL {
            assert_eq!(grant.requires_subject(), grant.as_str() != exempt, "{grant:?}");
        }
    }

    #[test]
    fn examples_keep_the_stated_rules() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let generate: custom_token::GenerateCustomToken =
            serde_json::from_value(schemas["GenerateCustomToken"]["examples"][0].clone()).unwrap();
        let defaults = custom_token::CustomTokenDefaults { access_token_ttl: 3600, refresh_token_ttl: 7200 };
        assert!(generate.plan(defaults).is_ok());
        let create: token_create::TokenCreateRequest =
            serde_json::from_value(schemas["TokenCreateRequest"]["examples"][0].clone()).unwrap();
        assert!(create.check().is_ok());
    }

    #[test]
    fn the_thumbprint_pattern_is_exactly_a_sha256_in_base64url() {
        use base64::Engine as _;
        // The pattern's last class: the characters whose two low bits are zero.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last: String = alphabet.chars().enumerate().filter(|(i, _)| i % 4 == 0).map(|(_, c)| c).collect();
        assert!(THUMBPRINT_PATTERN.ends_with(&format!("[{last}]$")), "{THUMBPRINT_PATTERN}");
        for c in alphabet.chars() {
            let value = format!("{}{c}", "A".repeat(42));
            let decodes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&value).is_ok();
            assert_eq!(decodes, last.contains(c), "{value}");
            assert_eq!(crate::validate::is_base64url_sha256(&value), last.contains(c));
        }
    }
}
