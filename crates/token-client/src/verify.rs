//! Offline verification of custom tokens and JWT access tokens against the service's JWK Set,
//! cached and revalidated with `If-None-Match` once it is older than the revalidation interval
//! (default 60 s, so a revoked key stops verifying within a minute); a `kid` not in the set makes
//! it fetch again, at most once per [`JwksVerifier::unknown_kid_interval`] (default 10 s), so
//! tokens with made-up `kid`s cannot make it hammer the server. An algorithm allow-list, and
//! `exp`/`nbf` with leeway.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use token_core::custom_token::{CUSTOM_TOKEN_TYP, CustomTokenClaims, exchange_audience};
use token_core::jwks::JwkSet;
use tokio::sync::RwLock;

use crate::{Error, TokenClient};

/// The JWK Set as last fetched.
#[derive(Debug)]
struct Cached {
    /// When the server last confirmed it (a fetch or a 304).
    checked_at: Instant,
    etag: Option<String>,
    set: JwkSet,
}

/// Verifies JWTs of one service offline. Create with [`TokenClient::verifier`].
#[derive(Debug)]
pub struct JwksVerifier {
    client: TokenClient,
    cache: RwLock<Option<Cached>>,
    /// When a fetch was last made for an unknown `kid`.
    last_unknown_fetch: std::sync::Mutex<Option<Instant>>,
    ttl: Duration,
    unknown_kid_interval: Duration,
    algorithms: Vec<Algorithm>,
    leeway_secs: u64,
}

impl JwksVerifier {
    pub(crate) fn new(client: TokenClient) -> Self {
        Self {
            client,
            cache: RwLock::new(None),
            last_unknown_fetch: std::sync::Mutex::new(None),
            ttl: Duration::from_secs(60),
            unknown_kid_interval: Duration::from_secs(10),
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
            leeway_secs: 30,
        }
    }

    /// Accept only these algorithms (default EdDSA, ES256, RS256; never `none` or HMAC).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Clock skew allowed on `exp`/`nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway_secs = leeway.as_secs();
        self
    }

    /// How long a fetched JWK Set is used before it is revalidated with the server (default 60 s;
    /// an unchanged set costs a 304).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The shortest time between two fetches made because a token names a `kid` the cached set
    /// does not hold (default 10 s).
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.unknown_kid_interval = interval;
        self
    }

    async fn key(&self, kid: &str) -> Result<Jwk, Error> {
        let mut known = None;
        {
            let cache = self.cache.read().await;
            if let Some(cached) = cache.as_ref().filter(|c| c.checked_at.elapsed() < self.ttl) {
                match find(&cached.set, kid) {
                    Some(jwk) => return Ok(jwk),
                    None => known = Some(()),
                }
            }
        }
        // A fresh set without the kid: fetch again only if the last such fetch is old enough (a
        // rotation may have happened; a made-up kid must not cost a request each time).
        if known.is_some() {
            let mut last = self.last_unknown_fetch.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < self.unknown_kid_interval) {
                return Err(Error::Verify(format!("no key '{kid}' in the service's JWK Set")));
            }
            *last = Some(Instant::now());
        }
        let mut cache = self.cache.write().await;
        let etag = cache.as_ref().and_then(|c| c.etag.clone());
        match self.client.jwks_if_none_match(etag.as_deref()).await? {
            Some((set, etag)) => *cache = Some(Cached { checked_at: Instant::now(), etag, set }),
            None => {
                if let Some(cached) = cache.as_mut() {
                    cached.checked_at = Instant::now();
                }
            }
        }
        cache
            .as_ref()
            .and_then(|c| find(&c.set, kid))
            .ok_or_else(|| Error::Verify(format!("no key '{kid}' in the service's JWK Set")))
    }

    /// Verifies an RFC 9068 JWT access token: header `typ` must be `at+jwt` (so no other JWT signed
    /// by the service's key, such as a custom token, passes for one), then signature, algorithm,
    /// `exp`/`nbf` and, when given, `aud` and `iss`; returns the claims.
    pub async fn verify_access_token<T: DeserializeOwned>(
        &self,
        jwt: &str,
        audience: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<T, Error> {
        self.verify_typed(jwt, &["at+jwt", "application/at+jwt"], audience, issuer).await
    }

    async fn verify_typed<T: DeserializeOwned>(
        &self,
        jwt: &str,
        types: &[&str],
        audience: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<T, Error> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|e| Error::Verify(format!("header: {e}")))?;
        // RFC 8725 section 3.11: explicit typing keeps one kind of JWT from passing for another.
        if !header.typ.as_deref().is_some_and(|typ| types.iter().any(|t| typ.eq_ignore_ascii_case(t))) {
            return Err(Error::Verify(format!(
                "the header's typ is {:?}, expected {}",
                header.typ, types[0]
            )));
        }
        if !self.algorithms.contains(&header.alg) {
            return Err(Error::Verify(format!("algorithm {:?} is not allowed", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| Error::Verify("the header names no key (kid)".into()))?;
        let jwk = self.key(&kid).await?;
        if let Some(alg) = jwk.common.key_algorithm
            && alg.to_string() != format!("{:?}", header.alg)
        {
            return Err(Error::Verify("the header's algorithm is not the key's".into()));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Error::Verify(format!("key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        jsonwebtoken::decode::<T>(jwt, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| Error::Verify(e.to_string()))
    }

    /// Verifies a custom token of this client's service issued by `issuer` (header `typ` must be the
    /// custom token's own).
    pub async fn verify_custom_token(&self, token: &str, issuer: &str) -> Result<CustomTokenClaims, Error> {
        let service = self.client.service.ok_or_else(|| Error::Config("no service chosen".into()))?;
        let audience = exchange_audience(issuer, service);
        self.verify_typed(token, &[CUSTOM_TOKEN_TYP], Some(&audience), Some(issuer)).await
    }
}

fn find(set: &JwkSet, kid: &str) -> Option<Jwk> {
    set.keys
        .iter()
        .find(|k| k.get("kid").and_then(|v| v.as_str()) == Some(kid))
        .and_then(|k| serde_json::from_value(k.clone()).ok())
}
