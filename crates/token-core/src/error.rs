//! The core layer's error: a rule was broken. Each variant names the offending field and maps to
//! exactly one [`ResultCode`]; the server and client map that code to the wire once.

use crate::result_code::ResultCode;

/// A request broke a rule of the API. `Display` is the human message (without the `[code]` prefix).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    // ---- token create
    #[error("{field} is required unless grantType is CLIENT_CREDENTIALS.")]
    /// A subject is missing for a grant type that needs one.
    SubjectRequired {
        /// The field's wire name.
        field: &'static str,
    },
    #[error("{field} must not be empty.")]
    /// The subject is empty.
    SubjectEmpty {
        /// The field's wire name.
        field: &'static str,
    },
    #[error("{field} must consist of printable ASCII characters only (no control characters).")]
    /// The subject is not printable ASCII.
    SubjectNotAscii {
        /// The field's wire name.
        field: &'static str,
    },
    #[error("{field} is {len} characters long; the maximum is 100.")]
    /// The subject is longer than 100 characters.
    SubjectTooLong {
        /// The field's wire name.
        field: &'static str,
        /// Its length, in characters.
        len: usize,
    },
    #[error("{field} must not be negative (0 means the service default); got {value}.")]
    /// A duration is negative.
    DurationNegative {
        /// The field's wire name.
        field: &'static str,
        /// The value given.
        value: i64,
    },
    #[error("{field} is {value} seconds; the maximum is {max}.")]
    /// A duration is longer than allowed.
    DurationTooLong {
        /// The field's wire name.
        field: &'static str,
        /// The value given.
        value: i64,
        /// The most allowed.
        max: i64,
    },
    #[error("{field} must be a base64url-encoded SHA-256 value (43 characters, no padding).")]
    /// A thumbprint is not a base64url SHA-256.
    ThumbprintInvalid {
        /// The field's wire name.
        field: &'static str,
    },
    #[error("resources[{index}] is not an absolute URI without a fragment: {reason}.")]
    /// A resource indicator is not an absolute URI without a fragment.
    ResourceInvalid {
        /// Its position in the list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    #[error("authTime must not be negative; got {value}.")]
    /// `authTime` is negative.
    AuthTimeNegative {
        /// The value given.
        value: i64,
    },
    #[error("The scope '{scope}' is not supported by the service.")]
    /// A scope the service does not support.
    ScopeUnsupported {
        /// The scope.
        scope: String,
    },
    #[error("The grant type {grant_type} is not supported by the service.")]
    /// A grant type the service does not support.
    GrantTypeUnsupported {
        /// The grant type's wire name.
        grant_type: &'static str,
    },
    #[error("jwtAtClaims is invalid: {reason}.")]
    /// `jwtAtClaims` is not a JSON object of allowed claims.
    JwtAtClaimsInvalid {
        /// What is wrong with it.
        reason: String,
    },
    #[error("authorizationDetails is invalid: {reason}.")]
    /// `authorizationDetails` is not RFC 9396 authorization details.
    AuthorizationDetailsInvalid {
        /// What is wrong with it.
        reason: String,
    },
    #[error("properties[{index}] is invalid: {reason}.")]
    /// A property breaks its limits.
    PropertyInvalid {
        /// Its position in the list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    #[error("{field} must be 1 to 512 printable ASCII characters.")]
    /// A token value given by the caller is not 1 to 512 printable ASCII characters.
    TokenValueInvalid {
        /// The field's wire name.
        field: &'static str,
    },
    #[error(
        "{field} must not start with 'atk_' or 'rtk_': those prefixes are reserved for values the service generates."
    )]
    /// A token value given by the caller starts with a prefix of generated values.
    TokenValueReserved {
        /// The field's wire name.
        field: &'static str,
    },
    #[error("{field} is {len} characters long; the maximum is {max}.")]
    /// A text field is longer than allowed.
    FieldTooLong {
        /// The field's wire name.
        field: &'static str,
        /// Its length, in characters.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    #[error("clientId is required.")]
    /// No client was named.
    ClientIdMissing,
    #[error("The client (id = {client_id}) does not exist in the service.")]
    /// The client does not exist in the service.
    ClientUnknown {
        /// The client's ID.
        client_id: i64,
    },
    #[error("The client (id = {client_id}) is not allowed to use the grant type {grant_type}.")]
    /// The client may not use the grant type.
    ClientGrantTypeNotAllowed {
        /// The client's ID.
        client_id: i64,
        /// The grant type's wire name.
        grant_type: &'static str,
    },

    // ---- custom tokens
    #[error("userId {problem}.")]
    /// `userId` is empty, blank or too long.
    UserIdInvalid {
        /// What is wrong with it.
        problem: &'static str,
    },
    #[error("identity {problem}.")]
    /// `identity` is empty, blank or too long.
    IdentityInvalid {
        /// What is wrong with it.
        problem: &'static str,
    },
    #[error("accessTokenTTL must be from 1 to 3600 seconds; got {value}.")]
    /// `accessTokenTTL` is not from 1 to 3600 seconds.
    AccessTokenTtlOutOfRange {
        /// The value given.
        value: i64,
    },
    #[error("refreshTokenTTL ({refresh}) must be greater than accessTokenTTL ({access}).")]
    /// `refreshTokenTTL` is not greater than `accessTokenTTL`.
    RefreshTokenTtlNotGreater {
        /// `accessTokenTTL`, seconds.
        access: i64,
        /// `refreshTokenTTL`, seconds.
        refresh: i64,
    },
    #[error("refreshTokenTTL must be at most {max} seconds; got {value}.")]
    /// `refreshTokenTTL` is longer than allowed.
    RefreshTokenTtlTooLong {
        /// The value given.
        value: i64,
        /// The most allowed.
        max: i64,
    },
    #[error("claims must be a JSON object.")]
    /// `claims` is not a JSON object.
    ClaimsNotObject,
    #[error("claims must not contain the reserved claim name '{name}'.")]
    /// `claims` uses a reserved claim name.
    ClaimsReserved {
        /// The claim name.
        name: String,
    },
    #[error("claims are {size} bytes as JSON; the maximum is {max}.")]
    /// `claims` is larger than allowed.
    ClaimsTooLarge {
        /// The size of `claims` as JSON, bytes.
        size: usize,
        /// The most allowed.
        max: usize,
    },
    #[error("the custom token's lifetime (exp - iat) must be from 0 to {max} seconds.")]
    /// A custom token's `exp - iat` is out of range.
    CustomTokenLifetimeInvalid {
        /// The most allowed.
        max: i64,
    },
    // ---- tenancy (services, clients)
    #[error("These members are not supported by this server (nothing was changed): {members}.")]
    /// A service or client has members this server does not store, with values that say they are used.
    MembersUnsupported {
        /// The members' names (the first few).
        members: String,
    },
    // ---- Shared Signals
    #[error("{member}: {reason}.")]
    /// A member of a Shared Signals request has a value this transmitter does not accept.
    SsfInvalid {
        /// The member's name (path).
        member: String,
        /// Why.
        reason: String,
    },
    #[error("{member}: {reason}.")]
    /// A member of a service or client has a value this server does not accept.
    MemberInvalid {
        /// The member's name (path).
        member: String,
        /// Why.
        reason: String,
    },
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
            TokenValueInvalid { .. } | TokenValueReserved { .. } => ResultCode::TOKEN_VALUE_INVALID,
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
            MembersUnsupported { .. } => ResultCode::TENANCY_MEMBER_UNSUPPORTED,
            MemberInvalid { .. } => ResultCode::TENANCY_MEMBER_INVALID,
            SsfInvalid { .. } => ResultCode::SSF_REQUEST_INVALID,
        }
    }

    /// A tenancy member with a value this server does not accept.
    pub fn member_invalid(member: &str, reason: &str) -> Self {
        ValidationError::MemberInvalid { member: member.to_owned(), reason: reason.to_owned() }
    }

    /// `[A109201] subject is required …` — the `resultMessage` / `error` text.
    pub fn wire_message(&self) -> String {
        self.result_code().message(self)
    }
}
