//! The core layer's error: a rule was broken. Each variant names the offending field and maps to
//! exactly one [`ResultCode`]; the server and client map that code to the wire once.

use crate::result_code::ResultCode;

/// A request broke a rule of the API. `Display` is the human message (without the `[code]` prefix).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    // ---- token create
    #[error("{field} is required unless grantType is CLIENT_CREDENTIALS.")]
    SubjectRequired { field: &'static str },
    #[error("{field} must not be empty.")]
    SubjectEmpty { field: &'static str },
    #[error("{field} must consist of ASCII characters only.")]
    SubjectNotAscii { field: &'static str },
    #[error("{field} is {len} characters long; the maximum is 100.")]
    SubjectTooLong { field: &'static str, len: usize },
    #[error("{field} must not be negative (0 means the service default); got {value}.")]
    DurationNegative { field: &'static str, value: i64 },
    #[error("{field} is {value} seconds; the maximum is {max}.")]
    DurationTooLong { field: &'static str, value: i64, max: i64 },
    #[error("{field} must be a base64url-encoded SHA-256 value (43 characters, no padding).")]
    ThumbprintInvalid { field: &'static str },
    #[error("resources[{index}] is not an absolute URI without a fragment: {reason}.")]
    ResourceInvalid { index: usize, reason: String },
    #[error("authTime must not be negative; got {value}.")]
    AuthTimeNegative { value: i64 },
    #[error("The scope '{scope}' is not supported by the service.")]
    ScopeUnsupported { scope: String },
    #[error("The grant type {grant_type} is not supported by the service.")]
    GrantTypeUnsupported { grant_type: &'static str },
    #[error("jwtAtClaims is invalid: {reason}.")]
    JwtAtClaimsInvalid { reason: String },
    #[error("authorizationDetails is invalid: {reason}.")]
    AuthorizationDetailsInvalid { reason: String },
    #[error("properties[{index}] is invalid: {reason}.")]
    PropertyInvalid { index: usize, reason: String },
    #[error("{field} must be 1 to 512 printable ASCII characters.")]
    TokenValueInvalid { field: &'static str },
    #[error("{field} is {len} characters long; the maximum is {max}.")]
    FieldTooLong { field: &'static str, len: usize, max: usize },
    #[error("clientId is required.")]
    ClientIdMissing,
    #[error("The client (id = {client_id}) does not exist in the service.")]
    ClientUnknown { client_id: i64 },
    #[error("The client (id = {client_id}) is not allowed to use the grant type {grant_type}.")]
    ClientGrantTypeNotAllowed { client_id: i64, grant_type: &'static str },

    // ---- custom tokens
    #[error("userId {problem}.")]
    UserIdInvalid { problem: &'static str },
    #[error("identity {problem}.")]
    IdentityInvalid { problem: &'static str },
    #[error("accessTokenTTL must be from 1 to 3600 seconds; got {value}.")]
    AccessTokenTtlOutOfRange { value: i64 },
    #[error("refreshTokenTTL ({refresh}) must be greater than accessTokenTTL ({access}).")]
    RefreshTokenTtlNotGreater { access: i64, refresh: i64 },
    #[error("refreshTokenTTL must be at most {max} seconds; got {value}.")]
    RefreshTokenTtlTooLong { value: i64, max: i64 },
    #[error("claims must be a JSON object.")]
    ClaimsNotObject,
    #[error("claims must not contain the reserved claim name '{name}'.")]
    ClaimsReserved { name: String },
    #[error("claims are {size} bytes as JSON; the maximum is {max}.")]
    ClaimsTooLarge { size: usize, max: usize },
    #[error("the custom token's lifetime (exp - iat) must be from 0 to {max} seconds.")]
    CustomTokenLifetimeInvalid { max: i64 },
}

impl ValidationError {
    /// The one catalogue entry this error answers with.
    pub fn result_code(&self) -> ResultCode {
        use ValidationError::*;
        match self {
            SubjectRequired { .. } => ResultCode::SUBJECT_REQUIRED,
            SubjectEmpty { .. } | SubjectNotAscii { .. } | SubjectTooLong { .. } => {
                ResultCode::SUBJECT_INVALID
            }
            DurationNegative { .. } | DurationTooLong { .. } => ResultCode::DURATION_INVALID,
            ThumbprintInvalid { .. } => ResultCode::THUMBPRINT_INVALID,
            ResourceInvalid { .. } => ResultCode::RESOURCE_INVALID,
            AuthTimeNegative { .. } => ResultCode::AUTH_TIME_INVALID,
            ScopeUnsupported { .. } => ResultCode::SCOPE_UNSUPPORTED,
            GrantTypeUnsupported { .. } => ResultCode::GRANT_TYPE_UNSUPPORTED,
            JwtAtClaimsInvalid { .. } => ResultCode::JWT_AT_CLAIMS_INVALID,
            AuthorizationDetailsInvalid { .. } => ResultCode::AUTHORIZATION_DETAILS_INVALID,
            PropertyInvalid { .. } => ResultCode::PROPERTY_INVALID,
            TokenValueInvalid { .. } => ResultCode::TOKEN_VALUE_INVALID,
            FieldTooLong { .. } => ResultCode::FIELD_TOO_LONG,
            ClientIdMissing => ResultCode::CLIENT_ID_MISSING,
            ClientUnknown { .. } => ResultCode::CLIENT_UNKNOWN,
            ClientGrantTypeNotAllowed { .. } => ResultCode::CLIENT_GRANT_TYPE_NOT_ALLOWED,
            UserIdInvalid { .. } => ResultCode::USER_ID_INVALID,
            IdentityInvalid { .. } => ResultCode::IDENTITY_INVALID,
            AccessTokenTtlOutOfRange { .. } => ResultCode::ACCESS_TOKEN_TTL_INVALID,
            RefreshTokenTtlNotGreater { .. } | RefreshTokenTtlTooLong { .. } => {
                ResultCode::REFRESH_TOKEN_TTL_INVALID
            }
            ClaimsNotObject => ResultCode::CLAIMS_NOT_OBJECT,
            ClaimsReserved { .. } => ResultCode::CLAIMS_RESERVED,
            ClaimsTooLarge { .. } => ResultCode::CLAIMS_TOO_LARGE,
            CustomTokenLifetimeInvalid { .. } => ResultCode::CUSTOM_TOKEN_LIFETIME_INVALID,
        }
    }

    /// `[A109201] subject is required …` — the `resultMessage` / `error` text.
    pub fn wire_message(&self) -> String {
        self.result_code().message(self)
    }
}
