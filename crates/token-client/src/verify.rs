//! Offline verification of custom tokens and JWT access tokens against the service's JWK Set,
//! cached and revalidated with `If-None-Match` once it is older than the revalidation interval
//! (default 60 s, so a revoked key stops verifying within a minute); a `kid` not in the set makes
//! it fetch again, at most once per [`JwksVerifier::unknown_kid_interval`] (default 10 s), so
//! tokens with made-up `kid`s cannot make it hammer the server. An algorithm allow-list, and
//! `exp`/`nbf` with leeway.
//!
//! A JWT access token carrying a `status` claim (Token Status List, draft-ietf-oauth-status-list-17)
//! is checked against its list: fetched from the claim's `uri`, verified like the token (`typ`
//! `statuslist+jwt`, the service's keys, `sub` = the URI), used for its `ttl` and revalidated with
//! `If-None-Match`. Fails closed: a token whose list cannot be had is refused, unless the verifier
//! was told to accept a stale list for a bounded time ([`JwksVerifier::accept_stale_status_for`]).

use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, Instant};

use base64::Engine as _;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use token_core::custom_token::{CUSTOM_TOKEN_TYP, CustomTokenClaims, exchange_audience};
use token_core::keys::JwkSet;
use token_core::status_list::{self, StatusClaim};
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
    /// Status lists by URI, as last fetched.
    status_lists: RwLock<HashMap<String, CachedList>>,
    /// How long past its `ttl` a list may still be used when it cannot be fetched again.
    stale_status: Duration,
}

/// A Token Status List as last fetched and verified.
#[derive(Debug)]
struct CachedList {
    checked_at: Instant,
    ttl: Duration,
    etag: Option<String>,
    bytes: Vec<u8>,
}

/// The claims of a Status List Token this verifier reads.
#[derive(serde::Deserialize)]
struct StatusListTokenClaims {
    sub: String,
    #[serde(default)]
    ttl: Option<u64>,
    status_list: status_list::StatusListClaim,
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
            status_lists: RwLock::new(HashMap::new()),
            stale_status: Duration::ZERO,
        }
    }

    /// When a token's status list cannot be fetched again, keep using the last one for up to
    /// `grace` past its `ttl` (default zero: fail closed at once).
    pub fn accept_stale_status_for(mut self, grace: Duration) -> Self {
        self.stale_status = grace;
        self
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
        let claims: serde_json::Value =
            self.verify_typed(jwt, &["at+jwt", "application/at+jwt"], audience, issuer).await?;
        if let Some(status) = claims.get("status") {
            let claim: StatusClaim = serde_json::from_value(status.clone())
                .map_err(|e| Error::Verify(format!("the status claim is malformed: {e}")))?;
            self.check_status(&claim).await?;
        }
        serde_json::from_value(claims).map_err(|e| Error::Verify(format!("claims: {e}")))
    }

    /// The token's entry in its status list must be 0 (valid).
    async fn check_status(&self, claim: &StatusClaim) -> Result<(), Error> {
        let reference = &claim.status_list;
        let bytes = self.status_list_bytes(&reference.uri).await?;
        match status_list::status(&bytes, reference.idx) {
            Some(0) => Ok(()),
            Some(_) => Err(Error::Verify("the token is no longer valid (its status list says so)".into())),
            None => Err(Error::Verify(format!("index {} is outside its status list", reference.idx))),
        }
    }

    /// The decompressed bits of the list at `uri`: cached for its `ttl`, then revalidated; a stale
    /// copy only within the grace given, else an error (fail closed).
    async fn status_list_bytes(&self, uri: &str) -> Result<Vec<u8>, Error> {
        {
            let lists = self.status_lists.read().await;
            if let Some(list) = lists.get(uri).filter(|l| l.checked_at.elapsed() < l.ttl) {
                return Ok(list.bytes.clone());
            }
        }
        let mut lists = self.status_lists.write().await;
        let etag = lists.get(uri).and_then(|l| l.etag.clone());
        match self.fetch_status_list(uri, etag.as_deref()).await {
            Ok(Some(fresh)) => {
                let bytes = fresh.bytes.clone();
                lists.insert(uri.to_owned(), fresh);
                Ok(bytes)
            }
            Ok(None) => {
                let list =
                    lists.get_mut(uri).ok_or_else(|| Error::Verify("304 for a list never fetched".into()))?;
                list.checked_at = Instant::now();
                Ok(list.bytes.clone())
            }
            Err(e) => match lists.get(uri).filter(|l| l.checked_at.elapsed() < l.ttl + self.stale_status) {
                Some(stale) if !self.stale_status.is_zero() => Ok(stale.bytes.clone()),
                _ => Err(Error::Verify(format!(
                    "the token's status list could not be had ({e}); refusing the token"
                ))),
            },
        }
    }

    /// Fetches and verifies the list at `uri` (`None`: unchanged since `etag`).
    async fn fetch_status_list(&self, uri: &str, etag: Option<&str>) -> Result<Option<CachedList>, Error> {
        let mut request =
            self.client.inner.http.get(uri).header(reqwest::header::ACCEPT, status_list::MEDIA_TYPE);
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(crate::error::transport)?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(Error::Verify(format!("the status list answered {}", response.status())));
        }
        let etag =
            response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let jwt = response.text().await.map_err(crate::error::transport)?;
        let claims: StatusListTokenClaims = self.verify_typed(&jwt, &[status_list::TYP], None, None).await?;
        if claims.sub != uri {
            return Err(Error::Verify(format!("the status list at {uri} names itself {}", claims.sub)));
        }
        if claims.status_list.bits != status_list::BITS {
            return Err(Error::Verify(format!(
                "{} bits per status are not supported",
                claims.status_list.bits
            )));
        }
        let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&claims.status_list.lst)
            .map_err(|e| Error::Verify(format!("lst: {e}")))?;
        let mut bytes = Vec::new();
        // Bounded: a list is at most a few MiB however it was compressed.
        flate2::read::ZlibDecoder::new(&compressed[..])
            .take(16 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Verify(format!("lst: {e}")))?;
        let ttl = Duration::from_secs(claims.ttl.unwrap_or(status_list::DEFAULT_TTL_SECS as u64));
        Ok(Some(CachedList { checked_at: Instant::now(), ttl, etag, bytes }))
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
