//! The OpenAPI 3.1 document of the service, derived from the endpoint types: each endpoint
//! ([`crate::api::Endpoint`]) gives its metadata and its request, answer and error types, and each
//! of those types gives its schema through [`Documented`] — the schema utoipa derives from the
//! type, completed beside the type (in its own module) with the rules the server enforces on it.
//! No schema is named here by a string. `cargo xtask codegen` writes the document to
//! `docs/openapi.json`; `schemathesis --checks all` holds the server to it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder,
    Ref, RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::api::{Auth, Carrier, Endpoint, Metadata, Method, NoBody, NoContent, Payload};
use crate::{
    custom_token, events, introspection, keys, revocation, status_list, tenancy, token_create, token_manage,
};

const BEARER: &str = "bearer";

/// A payload type as the document shows it.
pub trait Documented: Payload {
    /// Whether a request must carry it (a key rotation may be sent without a body).
    const REQUIRED: bool = true;
    /// Adds the type's schema (and those it refers to) to `components`; how to refer to it, or
    /// `None` when it has no body.
    fn schema(components: &mut Components) -> Option<RefOr<Schema>>;
    /// Its query parameters (for [`Carrier::Query`] payloads).
    fn parameters() -> Vec<Parameter> {
        Vec::new()
    }
}

/// Documents types whose schema is what utoipa derives, with no further rule.
macro_rules! derived {
    ($($ty:ty),+ $(,)?) => {
        $(impl $crate::openapi::Documented for $ty {
            fn schema(components: &mut $crate::openapi::Components) -> Option<utoipa::openapi::RefOr<utoipa::openapi::Schema>> {
                Some(components.add::<$ty>())
            }
        })+
    };
}
pub(crate) use derived;

/// Documents types whose derived schema is completed by a rules function (`fn(&mut Rules)`).
macro_rules! with_rules {
    ($($ty:ty => $rules:expr),+ $(,)?) => {
        $(impl $crate::openapi::Documented for $ty {
            fn schema(components: &mut $crate::openapi::Components) -> Option<utoipa::openapi::RefOr<utoipa::openapi::Schema>> {
                let reference = components.add::<$ty>();
                components.rules::<$ty>($rules);
                Some(reference)
            }
        })+
    };
}
pub(crate) use with_rules;

impl Documented for NoBody {
    fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
        None
    }
}

impl Documented for NoContent {
    fn schema(_: &mut Components) -> Option<RefOr<Schema>> {
        None
    }
}

/// The rules a wire type's module states for its schema.
pub type RulesFn = fn(&mut Rules<'_>);

/// The schemas of the document, and the rules that complete them.
#[derive(Default)]
pub struct Components {
    schemas: BTreeMap<String, RefOr<Schema>>,
    rules: Vec<(String, RulesFn)>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components").field("schemas", &self.schemas.keys()).finish_non_exhaustive()
    }
}

impl Components {
    /// Adds `T`'s schema and the schemas it refers to; a reference to it.
    pub fn add<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut nested: Vec<(String, RefOr<Schema>)> = Vec::new();
        T::schemas(&mut nested);
        self.schemas.extend(nested);
        self.schemas.insert(T::name().into_owned(), <T as PartialSchema>::schema());
        Ref::from_schema_name(T::name()).into()
    }

    /// Completes `T`'s schema with `rules` once the document is built.
    pub fn rules<T: ToSchema>(&mut self, rules: RulesFn) {
        self.rules.push((T::name().into_owned(), rules));
    }
}

/// The rules the server enforces on one wire type, stated in its schema: a misspelt field fails
/// loudly (every test that builds the document), instead of adding a rule to nothing.
#[derive(Debug)]
pub struct Rules<'a> {
    name: &'a str,
    schema: &'a mut Value,
}

impl Rules<'_> {
    /// Adds `rules` to the schema of `field`.
    pub fn field(&mut self, field: &str, rules: Value) -> &mut Self {
        let name = self.name;
        let target =
            self.schema.get_mut("properties").and_then(|p| p.get_mut(field)).and_then(Value::as_object_mut);
        let (Some(target), Value::Object(rules)) = (target, rules) else {
            panic!("openapi rules: no property {field} in schema {name} (or its rules are not an object)");
        };
        target.extend(rules);
        self
    }

    /// Replaces the schema of `field`.
    pub fn replace(&mut self, field: &str, schema: Value) -> &mut Self {
        self.field(field, json!({}));
        self.schema["properties"][field] = schema;
        self
    }

    /// Marks `field` as required.
    pub fn require(&mut self, field: &str) -> &mut Self {
        self.field(field, json!({}));
        let required = &mut self.schema["required"];
        if !required.is_array() {
            *required = json!([]);
        }
        if let Some(list) = required.as_array_mut()
            && !list.iter().any(|f| f == field)
        {
            list.push(json!(field));
        }
        self
    }

    /// Makes an optional field non-nullable (the server refuses `null` where the field is given).
    pub fn non_null(&mut self, field: &str) -> &mut Self {
        self.field(field, json!({}));
        let target = &mut self.schema["properties"][field];
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
        self
    }

    /// Replaces the whole schema (a form body: what utoipa derives from the struct is not what
    /// travels).
    pub fn whole(&mut self, schema: Value) -> &mut Self {
        *self.schema = schema;
        self
    }

    /// Sets a keyword of the schema itself (`if`, `anyOf`, `examples`, `additionalProperties`…).
    pub fn set(&mut self, keyword: &str, value: Value) -> &mut Self {
        self.schema[keyword] = value;
        self
    }
}

/// The members rule of the Authlete-shaped objects: a member we do not store is accepted only with
/// a value that says "unused".
pub fn unused_members_only(rules: &mut Rules<'_>) {
    rules.set(
        "additionalProperties",
        json!({
            "description": "A member this server does not store: accepted only when its value says it is unused.",
            "enum": [null, false, "", [], {}],
        }),
    );
}

/// One documented operation.
struct Operation {
    metadata: Metadata,
    request: Option<(RefOr<Schema>, &'static str, bool)>,
    parameters: Vec<Parameter>,
    response: Option<(RefOr<Schema>, &'static str)>,
    /// The status of a success with a body.
    success: u16,
    error: RefOr<Schema>,
}

fn operation<E: Endpoint>(components: &mut Components) -> Operation
where
    E::Request: Documented,
    E::Response: Documented,
    E::Error: Documented,
{
    let carrier = |c: Carrier| c.media_type().unwrap_or("application/json");
    let request = <E::Request as Documented>::schema(components)
        .filter(|_| <E::Request as Payload>::CARRIER != Carrier::Query)
        .map(|schema| {
            (schema, carrier(<E::Request as Payload>::CARRIER), <E::Request as Documented>::REQUIRED)
        });
    let response = <E::Response as Documented>::schema(components)
        .map(|schema| (schema, carrier(<E::Response as Payload>::CARRIER)));
    let error = <E::Error as Documented>::schema(components).unwrap_or_else(|| ObjectBuilder::new().into());
    Operation {
        metadata: E::METADATA,
        request,
        parameters: <E::Request as Documented>::parameters(),
        response,
        success: E::SUCCESS,
        error,
    }
}

/// Every endpoint the document describes (the operational ones — health, metrics, the document
/// itself — are not in it).
fn operations(components: &mut Components) -> Vec<Operation> {
    vec![
        operation::<token_create::Create>(components),
        operation::<token_manage::List>(components),
        operation::<token_manage::Update>(components),
        operation::<token_manage::Delete>(components),
        operation::<token_manage::Revoke>(components),
        operation::<introspection::Introspect>(components),
        operation::<introspection::Standard>(components),
        operation::<revocation::Revoke>(components),
        operation::<keys::ServiceJwks>(components),
        operation::<keys::PublicJwks>(components),
        operation::<status_list::Get>(components),
        operation::<custom_token::Generate>(components),
        operation::<custom_token::Pipeline>(components),
        operation::<custom_token::Exchange>(components),
        operation::<custom_token::Refresh>(components),
        operation::<tenancy::ServiceCreate>(components),
        operation::<tenancy::ServiceList>(components),
        operation::<tenancy::ServiceGet>(components),
        operation::<tenancy::ServiceUpdate>(components),
        operation::<tenancy::ServiceDelete>(components),
        operation::<tenancy::ClientCreate>(components),
        operation::<tenancy::ClientGet>(components),
        operation::<tenancy::ClientList>(components),
        operation::<tenancy::ClientUpdate>(components),
        operation::<tenancy::ClientDelete>(components),
        operation::<tenancy::AuthorizationList>(components),
        operation::<tenancy::AuthorizationDelete>(components),
        operation::<tenancy::KeyList>(components),
        operation::<tenancy::KeyRotate>(components),
        operation::<tenancy::KeyRevoke>(components),
        operation::<custom_token::OAuthToken>(components),
        operation::<events::ServiceEvents>(components),
        operation::<events::OrganizationEvents>(components),
        operation::<crate::ssf::SsfConfiguration>(components),
        operation::<crate::ssf::StreamCreate>(components),
        operation::<crate::ssf::StreamGet>(components),
        operation::<crate::ssf::StreamUpdate>(components),
        operation::<crate::ssf::StreamReplace>(components),
        operation::<crate::ssf::StreamDelete>(components),
        operation::<crate::ssf::StreamStatusGet>(components),
        operation::<crate::ssf::StreamStatusUpdate>(components),
        operation::<crate::ssf::StreamVerify>(components),
        operation::<crate::ssf::StreamPoll>(components),
    ]
}

fn path_item(op: Operation) -> PathItem {
    let metadata = op.metadata;
    let method = match metadata.method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Delete => HttpMethod::Delete,
        Method::Patch => HttpMethod::Patch,
        Method::Put => HttpMethod::Put,
    };
    let mut builder = OperationBuilder::new()
        .operation_id(Some(metadata.operation_id))
        .summary(Some(metadata.summary))
        .tag(metadata.tag);
    if metadata.auth != Auth::Public {
        builder = builder.security(SecurityRequirement::new::<_, _, String>(BEARER, []));
    }
    builder = match op.response {
        Some((schema, media_type)) => builder.response(
            op.success.to_string(),
            ResponseBuilder::new()
                .description("Success")
                .content(media_type, ContentBuilder::new().schema(Some(schema)).build()),
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
        ("streamId", "A Shared Signals stream's ID (32 hex digits)."),
    ] {
        if metadata.path.contains(&format!("{{{name}}}")) {
            let mut schema = ObjectBuilder::new().schema_type(Type::String);
            if name == "listId" {
                schema =
                    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(i64::MAX));
            }
            if name == "streamId" {
                schema = ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-f]{32}$"));
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
    for parameter in op.parameters {
        builder = builder.parameter(parameter);
    }
    if let Some((schema, media_type, required)) = op.request {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if required { Required::True } else { Required::False }))
                .content(media_type, ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        ));
    }
    for (status, description) in metadata.errors {
        builder = builder.response(
            *status,
            ResponseBuilder::new()
                .description(*description)
                .content("application/json", ContentBuilder::new().schema(Some(op.error.clone())).build()),
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
    let link = |target: Metadata, parameters: Value, body: Option<Value>| {
        let mut link = json!({"operationId": target.operation_id, "parameters": parameters});
        if let Some(body) = body {
            link["requestBody"] = body;
        }
        link
    };
    let same_service = || json!({"serviceId": "$request.path.serviceId"});
    let token = "$response.body#/accessToken";
    let client_id = "$response.body#/clientId";
    let client = |target: Metadata, body| {
        link(target, json!({"serviceId": "$request.path.serviceId", "clientId": client_id}), body)
    };
    let links = [
        (
            token_create::Create::METADATA,
            json!({
                "IntrospectToken": link(introspection::Introspect::METADATA, same_service(), Some(json!({"token": token}))),
                // The created token's own scopes: an update must keep to what the service supports.
                "UpdateToken": link(
                    token_manage::Update::METADATA,
                    same_service(),
                    Some(json!({"accessToken": token, "scopes": "$response.body#/scopes"})),
                ),
                "RevokeToken": link(token_manage::Revoke::METADATA, same_service(), Some(json!({"accessTokenIdentifier": token}))),
                "DeleteToken": link(
                    token_manage::Delete::METADATA,
                    json!({"serviceId": "$request.path.serviceId", "accessTokenIdentifier": token}),
                    None,
                ),
            }),
        ),
        (
            tenancy::ClientCreate::METADATA,
            json!({
                "GetClient": client(tenancy::ClientGet::METADATA, None),
                // The client as it is, named by its own ID: a body every client accepts.
                "UpdateClient": client(tenancy::ClientUpdate::METADATA, Some(json!({"clientId": client_id}))),
                "DeleteClient": client(tenancy::ClientDelete::METADATA, None),
            }),
        ),
    ];
    for (source, links) in links {
        let method = source.method.as_str().to_ascii_lowercase();
        document["paths"][source.path][method.as_str()]["responses"]["200"]["links"] = links;
    }
}

/// RFC 6749 section 3.3 scope-token: one or more of %x21 / %x23-5B / %x5D-7E.
pub const SCOPE_TOKEN_PATTERN: &str = "^[!#-\\[\\]-~]+$";

/// The whole document.
pub fn document() -> Value {
    let mut components = Components::default();
    let operations = operations(&mut components);
    let rules = std::mem::take(&mut components.rules);
    let mut document = serde_json::to_value(assemble(operations, components)).unwrap_or_default();
    let schemas = &mut document["components"]["schemas"];
    for (name, rules) in rules {
        let Some(schema) = schemas.get_mut(&name) else {
            panic!("openapi rules: no schema {name}");
        };
        rules(&mut Rules { name: &name, schema });
    }
    add_links(&mut document);
    document
}

/// The document as the types derive it, before the rules.
fn assemble(operations: Vec<Operation>, components: Components) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for op in operations {
        let path = op.metadata.path;
        paths = paths.path(path, path_item(op));
    }
    let builder = ComponentsBuilder::new()
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A Service Access Token (one service) or an Organization Token (every service of its organization).",
                    ))
                    .build(),
            ),
        )
        .schemas_from_iter(components.schemas);
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
        .components(Some(builder.build()))
        .build()
}

/// The document as pretty JSON, as written to `docs/openapi.json`.
pub fn document_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&document()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// userId and identity: not blank, no control characters.
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// 43 base64url characters decoding to exactly 32 bytes (the last one carries 2 zero bits).
pub const THUMBPRINT_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";
/// Caller-chosen token values: printable ASCII, no space.
pub const TOKEN_VALUE_PATTERN: &str = "^[!-~]+$";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::GrantType;

    #[test]
    #[should_panic(expected = "no property userld in schema GenerateCustomToken")]
    fn a_misspelt_field_fails_loudly() {
        let mut document = document();
        let schema = &mut document["components"]["schemas"]["GenerateCustomToken"];
        Rules { name: "GenerateCustomToken", schema }.field("userld", json!({"minLength": 1}));
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
