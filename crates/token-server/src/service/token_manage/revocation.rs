//! The RFC 7009 revocation wrapper: a client revokes a token issued to it; any other token, or
//! none, is answered alike and left untouched.

use serde_json::{Value, json};
use token_core::introspection::parse_form;
use token_core::revocation::{RevocationRequest, RevocationResponse};
use token_core::{ResultCode, ServiceId, TokenHash};

use super::TokenManage;
use crate::service::ServiceResult;
use crate::service::introspection::find_by_value;
use crate::store::{Actor, Audit, RevokeReason, RevokeTarget, ValueKind};

fn revocation_answer(code: ResultCode, detail: &str, content: Option<Value>) -> RevocationResponse {
    RevocationResponse {
        result_code: code.code.to_owned(),
        result_message: code.message(detail),
        action: code.action,
        response_content: content.map(|c| c.to_string()),
    }
}

impl TokenManage {
    /// `POST /api/{serviceId}/auth/revocation`. The token must have been issued to the revoking
    /// client; a token of another client, or no token at all, is answered exactly like a revoked
    /// one (RFC 7009 section 2.2) and left untouched.
    pub async fn revocation(
        &self,
        service: ServiceId,
        request: RevocationRequest,
        actor: &Actor,
    ) -> ServiceResult<RevocationResponse> {
        let pairs = match parse_form(&request.parameters) {
            Ok(pairs) => pairs,
            Err(problem) => {
                let content = json!({"error": "invalid_request", "error_description": problem});
                return Ok(revocation_answer(ResultCode::REVOCATION_BAD_REQUEST, &problem, Some(content)));
            }
        };
        let get = |name: &str| {
            pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
        };
        let Some(token) = get("token") else {
            let detail = "the mandatory parameter 'token' is missing";
            let content = json!({"error": "invalid_request", "error_description": detail});
            return Ok(revocation_answer(ResultCode::REVOCATION_BAD_REQUEST, detail, Some(content)));
        };
        let invalid_client = |detail: &str| {
            let content = json!({"error": "invalid_client", "error_description": detail});
            revocation_answer(ResultCode::REVOCATION_INVALID_CLIENT, detail, Some(content))
        };
        let Some(client_identifier) =
            request.client_id.clone().filter(|c| !c.is_empty()).or_else(|| get("client_id"))
        else {
            return Ok(invalid_client("the revoking client is not identified (clientId or client_id)"));
        };
        let Some(client) = self.clients.client_by_identifier(service, &client_identifier).await? else {
            return Ok(invalid_client("the revoking client is not a client of this service"));
        };
        let hash = TokenHash::of(&token);
        let prefer_refresh = get("token_type_hint").as_deref() == Some("refresh_token");
        let now = self.clock.now_ms();
        let mut found = find_by_value(&*self.tokens, service, &hash, prefer_refresh).await?.map(|(t, _)| t);
        // A value the family had before a rotation still names the family (section 2.1).
        for kind in [ValueKind::Access, ValueKind::Refresh] {
            if found.is_none() {
                found = self.tokens.token_by_rotated_value(service, &hash, kind).await?;
            }
        }
        if let Some(found) = found.filter(|t| t.client_id == client.client_id) {
            let audit = Audit::new(actor.clone(), now).because(RevokeReason::ByValue);
            self.tokens.revoke(service, &RevokeTarget::Family(found.token_id), now, &audit).await?;
        }
        Ok(revocation_answer(ResultCode::REVOCATION_OK, "The revocation request was handled.", None))
    }
}
