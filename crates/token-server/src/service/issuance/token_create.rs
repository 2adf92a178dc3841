//! Token create (`POST /api/{serviceId}/auth/token/create`, also a pipeline operation).

use token_core::token_create::{ClientPolicy, ServicePolicy, TokenCreateRequest, TokenCreateResponse};
use token_core::{ResultCode, TokenId, ValidationError};

use super::{Built, Issuance, Lineage, Terms, TokenGrant};
use crate::service::error::ManageError;
use crate::service::{ServiceResult, audit};
use crate::store::Actor;
use crate::store::{ConflictKind, ServiceRecord, StoreError, TokenExtra};

impl Issuance {
    /// Token create for `service` (also a pipeline operation).
    pub async fn create(
        &self,
        service: ServiceRecord,
        request: TokenCreateRequest,
        actor: &Actor,
    ) -> ServiceResult<TokenCreateResponse> {
        // Stateless rules first: a bad request costs no store access.
        request.check()?;
        let (service_id, client_id) = (service.id, request.client_id.unwrap_or(token_core::ClientId(0)));
        let client = self.clients.client(service_id, client_id).await?;
        let plan = request.plan(
            &ServicePolicy {
                supported_scopes: &service.supported_scopes,
                supported_grant_types: &service.supported_grant_types,
                access_token_duration: service.access_token_duration,
                refresh_token_duration: service.refresh_token_duration,
            },
            client
                .as_ref()
                .map(|c| ClientPolicy {
                    client_id: c.client_id,
                    alias: c.alias.as_deref(),
                    entity_id: c.entity_id.as_deref(),
                    grant_types: &c.grant_types,
                })
                .as_ref(),
        )?;

        let now = self.clock.now_ms();
        let (expires_at, expires_in) = plan.access_token_expiry(now);
        let grant = TokenGrant {
            subject: plan.subject.as_ref().map(|s| s.as_str().to_owned()),
            scopes: plan.scopes.clone(),
            refresh_scopes: plan.refresh_token_scopes(),
            properties: plan.properties.clone(),
            certificate_thumbprint: plan.binding.certificate_thumbprint.clone(),
            dpop_key_thumbprint: plan.binding.dpop_key_thumbprint.clone(),
            token_type: plan.token_type.to_owned(),
            authorization_details: plan.authorization_details.clone(),
            resources: plan.resources.clone(),
            acr: plan.acr.clone(),
            auth_time: plan.auth_time,
            session_id: plan.session_id.clone(),
            client_identifier: plan.client_identifier.clone(),
            for_external_attachment: plan.for_external_attachment,
            custom_token_kid: None,
            // Lifetimes as issued (0 = persistent), so that a refresh keeps them.
            extra: TokenExtra {
                access_token_ttl: Some(expires_in),
                refresh_token_ttl: plan.refresh_token_lifetime,
                jwt_at_claims: (!plan.jwt_at_claims.is_empty()).then(|| plan.jwt_at_claims.clone()),
                ..TokenExtra::default()
            },
        };
        let lineage =
            Lineage::New { client_id: plan.client_id, grant_type: plan.grant_type, grant: Box::new(grant) };
        let terms = Terms {
            now_ms: now,
            access_expires_at: expires_at,
            refresh_expires_at: plan.refresh_token_lifetime.map(|secs| now.saturating_add(secs * 1000)),
            access_token: plan.access_token.clone(),
            refresh_token: plan.refresh_token.clone(),
        };
        let Built { mut record, access_token, refresh_token } =
            self.build(service_id, lineage, terms).await?;

        let mut first_try = true;
        let jwt_access_token = loop {
            let jwt_access_token = self.jwt_access_token(&service, &mut record).await?;
            match self.tokens.insert_token(&record, &audit(actor, &service, now)).await {
                Ok(()) => break jwt_access_token,
                Err(StoreError::Conflict(ConflictKind::TokenValue)) => {
                    return Err(ManageError::ValueInUse.into());
                }
                // Deleted (here or elsewhere) since it was read, perhaps from the tenancy cache.
                Err(StoreError::ClientGone) => {
                    self.clients.forget_cached(service_id, plan.client_id);
                    return Err(ValidationError::ClientUnknown { client_id: plan.client_id.get() }.into());
                }
                Err(e) if self.keys.sign_again(service_id, &e, first_try) => first_try = false,
                Err(e) => return Err(e.into()),
            }
        };

        self.metrics.tokens_issued.with_label_values(&[plan.grant_type.as_str()]).inc();
        let visible: Vec<_> = plan.properties.iter().filter(|p| !p.hidden).cloned().collect();
        Ok(TokenCreateResponse {
            result_code: ResultCode::TOKEN_CREATED.code.to_owned(),
            result_message: ResultCode::TOKEN_CREATED.message(format!(
                "An access token was created successfully: {}, client = {}",
                plan.grant_type.oauth_name(),
                plan.client_id
            )),
            action: ResultCode::TOKEN_CREATED.action,
            access_token: Some(access_token),
            client_id: Some(plan.client_id),
            expires_at: Some(expires_at),
            expires_in: Some(expires_in),
            grant_type: Some(plan.grant_type),
            properties: (!visible.is_empty()).then_some(visible),
            refresh_token,
            scopes: Some(plan.scopes.clone()),
            subject: record.subject.clone(),
            token_type: Some(plan.token_type.to_owned()),
            jwt_access_token,
            authorization_details: plan.authorization_details.clone(),
            for_external_attachment: plan.for_external_attachment,
            token_id: Some(TokenId::new(record.token_id.clone())),
            refresh_token_scopes: plan.refresh_token_scopes(),
            client_identifier: plan.client_identifier.clone(),
            session_id: plan.session_id.clone(),
        })
    }
}
