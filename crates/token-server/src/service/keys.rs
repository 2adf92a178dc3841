//! Signing keys: generation per algorithm, the public JWK (RFC 7517), JWT signing, and which keys
//! are published and which verify custom tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use token_core::{OrganizationId, ServiceId};

use super::{ServiceError, ServiceResult, Shared};
use crate::clock::Clock;
use crate::config::Config;
use crate::random;
use crate::store::{Audit, KeyStore, PrivateKeyDer, SigningKeyRecord, StoreError, StoreResult, Stores};

/// A retired key stays published at least this long after it retired (longer than a custom token
/// lives), and longer while JWT access tokens it signed are alive.
pub const RETIRED_KEY_GRACE_MS: i64 = 10 * 60 * 1000;

pub use token_core::keys::SignAlg;

/// The JOSE algorithm of `alg` in the JWT library's terms.
pub fn jwt_algorithm(alg: SignAlg) -> Algorithm {
    match alg {
        SignAlg::EdDsa => Algorithm::EdDSA,
        SignAlg::Es256 => Algorithm::ES256,
        SignAlg::Rs256 => Algorithm::RS256,
    }
}

/// Errors of key handling. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexical order.
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "OKP" => &["crv", "kty", "x"],
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), Value::String(jwk.get(*m)?.as_str()?.to_owned()));
    }
    // serde_json's Map without `preserve_order` is sorted, which is the order RFC 7638 asks for.
    let text = serde_json::to_string(&Value::Object(canonical)).ok()?;
    Some(b64(&Sha256::digest(text.as_bytes())))
}

/// Generates a new key for `service`; its `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate(service: ServiceId, alg: SignAlg, now_ms: i64) -> Result<SigningKeyRecord, KeyError> {
    let err = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
    let (private_der, mut jwk) = match alg {
        SignAlg::EdDsa => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let key = ed25519_dalek::SigningKey::generate(&mut random::key_rng());
            let der = key.to_pkcs8_der().map_err(|e| err(&e))?.as_bytes().to_vec();
            (der, json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes())}))
        }
        SignAlg::Es256 => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::SecretKey::random(&mut random::key_rng());
            let der = key.to_pkcs8_der().map_err(|e| err(&e))?.as_bytes().to_vec();
            let point = key.public_key().to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(KeyError::Generate("P-256 point without coordinates".into()));
            };
            (der, json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}))
        }
        SignAlg::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut random::key_rng(), 2048).map_err(|e| err(&e))?;
            let der = key.to_pkcs1_der().map_err(|e| err(&e))?.as_bytes().to_vec();
            (der, json!({"kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())}))
        }
    };
    let kid = jwk_thumbprint(&jwk).ok_or_else(|| KeyError::Generate("cannot compute thumbprint".into()))?;
    if let Value::Object(members) = &mut jwk {
        members.insert("use".into(), json!("sig"));
        members.insert("alg".into(), json!(alg.as_str()));
        members.insert("kid".into(), json!(kid));
    }
    Ok(SigningKeyRecord {
        kid,
        service_id: service,
        alg,
        private_der: PrivateKeyDer(private_der),
        public_jwk: jwk,
        created_at: now_ms,
        retired_at: None,
        revoked_at: None,
    })
}

/// A private key parsed by aws-lc-rs. Parsing validates the key (for RSA and P-256 that costs
/// more than a signature), so the [`Keys`] component parses each key once ([`ParsedKeys`]).
enum ParsedKey {
    Ed25519(signature::Ed25519KeyPair),
    P256(signature::EcdsaKeyPair),
    Rsa(signature::RsaKeyPair),
}

impl ParsedKey {
    fn of(key: &SigningKeyRecord) -> Result<Self, KeyError> {
        let der = key.private_der.0.as_slice();
        let invalid = |_| {
            KeyError::Sign(format!("the private key of {} is not a valid {} key", key.kid, key.alg.as_str()))
        };
        Ok(match key.alg {
            SignAlg::EdDsa => {
                ParsedKey::Ed25519(signature::Ed25519KeyPair::from_pkcs8(der).map_err(invalid)?)
            }
            SignAlg::Es256 => ParsedKey::P256(
                signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(invalid)?,
            ),
            SignAlg::Rs256 => ParsedKey::Rsa(signature::RsaKeyPair::from_der(der).map_err(invalid)?),
        })
    }
}

/// Most parsed keys kept; a service has one current key and a few retired ones.
const PARSED_KEYS_MAX: usize = 1024;

/// The parsed form of private keys, memoised by the SHA-256 of the private DER (a pure function
/// of it: the memo can never return another key's material). One per [`Keys`] component: two
/// servers in one process keep their own.
#[derive(Default)]
struct ParsedKeys {
    memo: Mutex<HashMap<[u8; 32], Arc<ParsedKey>>>,
}

impl std::fmt::Debug for ParsedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material: how many keys are kept.
        f.debug_struct("ParsedKeys").field("kept", &lock(&self.memo).len()).finish()
    }
}

impl ParsedKeys {
    /// The parsed form of `key`'s private part, parsed at its first use.
    fn get(&self, key: &SigningKeyRecord) -> Result<Arc<ParsedKey>, KeyError> {
        let id: [u8; 32] = Sha256::digest(&key.private_der.0).into();
        if let Some(found) = lock(&self.memo).get(&id) {
            return Ok(Arc::clone(found));
        }
        let parsed = Arc::new(ParsedKey::of(key)?);
        let mut memo = lock(&self.memo);
        if memo.len() >= PARSED_KEYS_MAX {
            memo.clear();
        }
        memo.insert(id, Arc::clone(&parsed));
        Ok(parsed)
    }
}

fn b64_json<T: serde::Serialize>(value: &T) -> Result<String, KeyError> {
    serde_json::to_vec(value).map(|json| b64(&json)).map_err(|e| KeyError::Sign(e.to_string()))
}

/// Signs `claims` as a compact JWS with `key`, with header `typ` and `kid` (RFC 7515; the
/// header as the JWT library writes it, the signature by aws-lc-rs). Parses the key for this one
/// signature: the server signs through [`Keys`], which parses each key once.
pub fn sign(key: &SigningKeyRecord, typ: &str, claims: &Value) -> Result<String, KeyError> {
    sign_with(&ParsedKey::of(key)?, key, typ, claims)
}

/// [`sign`] with `key` already parsed (`parsed`).
fn sign_with(
    parsed: &ParsedKey,
    key: &SigningKeyRecord,
    typ: &str,
    claims: &Value,
) -> Result<String, KeyError> {
    let mut header = Header::new(jwt_algorithm(key.alg));
    header.typ = Some(typ.to_owned());
    header.kid = Some(key.kid.clone());
    let mut jws = b64_json(&header)?;
    jws.push('.');
    jws.push_str(&b64_json(claims)?);
    let message = jws.as_bytes();
    let failed = |_| KeyError::Sign(format!("signing with {} failed", key.kid));
    let signature = match parsed {
        ParsedKey::Ed25519(pair) => b64(pair.sign(message).as_ref()),
        ParsedKey::P256(pair) => b64(pair.sign(&random::signing_rng(), message).map_err(failed)?.as_ref()),
        ParsedKey::Rsa(pair) => {
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&signature::RSA_PKCS1_SHA256, &random::signing_rng(), message, &mut signature)
                .map_err(failed)?;
            b64(&signature)
        }
    };
    jws.push('.');
    jws.push_str(&signature);
    Ok(jws)
}

/// Key generations one instance runs at once: an RSA key takes a core for up to a second, and
/// the other core stays for everyone else's requests.
const CONCURRENT_GENERATIONS: usize = 1;
/// The window of the key-generation bounds (`key_generations_per_service`, per organization):
/// each key costs a generation and stays published while it verifies live tokens, and an
/// organization's many services must not queue every other organization's key work behind theirs.
pub const ROTATION_WINDOW: Duration = Duration::from_secs(60);

/// The keys component: the services' signing keys (the only holder of the key store), their
/// generation, signing and publication. Clones share what they keep: issuance signs with it,
/// tenancy provisions through it, the status lists sign with it.
#[derive(Clone, Debug)]
pub struct Keys {
    store: Arc<dyn KeyStore>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    state: Arc<KeyState>,
}

/// What an instance keeps about keys: the generation limit, recent generations per service and
/// per organization, each service's JWK Set as rendered, the lock that makes a revocation of a
/// service's current key and its replacement one step, and the keys parsed for signing.
#[derive(Debug)]
struct KeyState {
    generations: tokio::sync::Semaphore,
    made_by_service: Mutex<HashMap<ServiceId, VecDeque<Instant>>>,
    made_by_organization: Mutex<HashMap<OrganizationId, VecDeque<Instant>>>,
    published: crate::store::cached::Memo<ServiceId, Arc<PublishedKeySet>>,
    /// Bumped by every forget: a set read from the store before a key change committed is not
    /// kept after it (it would serve a revoked key for `tenancy_cache_ms`).
    key_changes: std::sync::atomic::AtomicU64,
    /// Key changes of one service, one at a time (striped by service ID).
    changing: [tokio::sync::Mutex<()>; 16],
    parsed: ParsedKeys,
}

impl Default for KeyState {
    fn default() -> Self {
        Self {
            generations: tokio::sync::Semaphore::new(CONCURRENT_GENERATIONS),
            made_by_service: Default::default(),
            made_by_organization: Default::default(),
            published: crate::store::cached::Memo::new(),
            key_changes: Default::default(),
            changing: Default::default(),
            parsed: Default::default(),
        }
    }
}

/// Which bound a key generation met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerationBound {
    Service { id: ServiceId, limit: u32 },
    Organization { id: OrganizationId, limit: u32 },
}

impl std::fmt::Display for GenerationBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Service { id, limit } => write!(f, "service {id} made {limit} signing keys"),
            Self::Organization { id, limit } => {
                write!(f, "the services of organization {id} made {limit} signing keys")
            }
        }
    }
}

/// Most services whose rendered set or rotations an instance keeps (then it starts over).
const MAX_KEPT: usize = 10_000;

/// A service's JWK Set as served: the JSON and its `ETag` (a hash of that JSON).
#[derive(Debug)]
pub struct PublishedKeySet {
    pub json: String,
    pub etag: String,
}

impl Keys {
    pub(super) fn new(stores: &Stores, shared: &Shared) -> Self {
        Self {
            store: Arc::clone(&stores.keys),
            config: Arc::clone(&shared.config),
            clock: Arc::clone(&shared.clock),
            state: Default::default(),
        }
    }

    /// The service's JWK Set: the current key, and retired keys while tokens they signed live.
    /// Rendered once and reused for at most `tenancy_cache_ms` (the documented delay of a key
    /// change made elsewhere; a change through this instance forgets it at once), so a public
    /// request costs a map lookup however many keys the set holds.
    pub async fn published_keys(&self, service: ServiceId) -> ServiceResult<Arc<PublishedKeySet>> {
        let fresh = Duration::from_millis(self.config.tenancy_cache_ms);
        let state = &self.state;
        if let Some(set) = state.published.get(&service, fresh) {
            return Ok(set);
        }
        let read_at = Instant::now();
        let changes_before = state.key_changes.load(std::sync::atomic::Ordering::SeqCst);
        let keys = self.store.published_signing_keys(service, self.clock.now_ms()).await?;
        let set = token_core::keys::JwkSet { keys: keys.into_iter().map(|k| k.public_jwk).collect() };
        let json = serde_json::to_string(&set).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let etag = format!("\"{}\"", &token_core::TokenHash::of(&json).as_str()[..22]);
        let set = Arc::new(PublishedKeySet { json, etag });
        // A key changed through this instance while the store was read: this set may predate it,
        // so it answers this request only.
        let unchanged = || state.key_changes.load(std::sync::atomic::Ordering::SeqCst) == changes_before;
        state.published.put_if(service, Arc::clone(&set), read_at, unchanged);
        Ok(set)
    }

    /// Forgets `service`'s rendered JWK Set (its keys changed through this instance), and keeps
    /// any set being read meanwhile from being kept.
    fn forget_published_keys(&self, service: ServiceId) {
        // First the count (a set being read meanwhile is then not kept), then the set kept before.
        self.state.key_changes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.state.published.forget(&service);
    }

    /// Waits for `service`'s other key changes on this instance to finish (a revocation of the
    /// current key and its replacement are one step).
    pub(super) async fn changing_keys(&self, service: ServiceId) -> tokio::sync::MutexGuard<'_, ()> {
        let stripes = &self.state.changing;
        stripes[(service.get() % stripes.len() as u64) as usize].lock().await
    }

    /// A new key, generated on the blocking pool, one generation at a time per instance.
    pub(super) async fn generate_key(
        &self,
        service: ServiceId,
        alg: SignAlg,
    ) -> Result<SigningKeyRecord, KeyError> {
        let _one_at_a_time =
            self.state.generations.acquire().await.map_err(|e| KeyError::Generate(e.to_string()))?;
        let now_ms = self.clock.now_ms();
        tokio::task::spawn_blocking(move || generate(service, alg, now_ms))
            .await
            .map_err(|e| KeyError::Generate(e.to_string()))?
    }

    /// Counts a key generation of `service` of `organization`, or says which bound it meets and in
    /// how many seconds one is allowed again (nothing is counted then).
    /// (`service` is `None` for a service being created: it has made none yet.)
    pub(super) fn allow_key_generation(
        &self,
        organization: OrganizationId,
        service: Option<ServiceId>,
    ) -> Result<(), (GenerationBound, u64)> {
        let state = &self.state;
        let config = &self.config;
        let (per_service, per_organization) =
            (config.key_generations_per_service, config.key_generations_per_organization);
        let mut by_service = lock(&state.made_by_service);
        let mut by_organization = lock(&state.made_by_organization);
        let service_wait =
            service.and_then(|service| wait_for(&mut by_service, service, per_service as usize));
        let organization_wait = wait_for(&mut by_organization, organization, per_organization as usize);
        if let (Some(id), Some(secs)) = (service, service_wait) {
            return Err((GenerationBound::Service { id, limit: per_service }, secs));
        }
        if let Some(secs) = organization_wait {
            return Err((GenerationBound::Organization { id: organization, limit: per_organization }, secs));
        }
        if let Some(service) = service {
            by_service.entry(service).or_default().push_back(Instant::now());
        }
        by_organization.entry(organization).or_default().push_back(Instant::now());
        Ok(())
    }

    /// Adds `key` as its service's current key (the previous one stays published while it
    /// verifies live tokens) and stops serving the service's rendered JWK Set.
    pub(super) async fn add(&self, key: &SigningKeyRecord, audit: &Audit) -> StoreResult<()> {
        self.store.add_signing_key(key, RETIRED_KEY_GRACE_MS, audit).await?;
        self.forget_published_keys(key.service_id);
        Ok(())
    }

    /// Revokes the key `kid` of `service`: unpublished at once. `false` when there is none.
    pub(super) async fn revoke(
        &self,
        service: ServiceId,
        kid: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> StoreResult<bool> {
        if !self.store.revoke_signing_key(service, kid, now_ms, audit).await? {
            return Ok(false);
        }
        self.forget_published_keys(service);
        Ok(true)
    }

    /// The service's current key as stored, if it has one.
    pub(super) async fn current(&self, service: ServiceId) -> StoreResult<Option<SigningKeyRecord>> {
        self.store.current_signing_key(service).await
    }

    /// Every key the service ever had, newest first.
    pub(super) async fn all(&self, service: ServiceId) -> StoreResult<Vec<SigningKeyRecord>> {
        self.store.all_signing_keys(service).await
    }

    /// The service's current signing key.
    pub(super) async fn signing_key(&self, service: ServiceId) -> ServiceResult<SigningKeyRecord> {
        self.store
            .current_signing_key(service)
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("service {service} has no signing key")))
    }

    /// Keys a custom token may be signed with now: the current key and keys retired at most
    /// `max_retired_ms` ago; revoked keys never.
    pub(super) async fn verification_keys(
        &self,
        service: ServiceId,
        max_retired_ms: i64,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        self.store.verification_keys(service, self.clock.now_ms(), max_retired_ms).await
    }

    /// Whether to sign and store again after the store refused a token with `error`: true, once
    /// (`first_try`), when the key it was signed with was revoked meanwhile — by another instance
    /// or the CLI, while this process still held the key — after forgetting the key, so that the
    /// next attempt signs with the one that replaced it. No token signed by a revoked key is ever
    /// stored; issuers see a revocation elsewhere at once instead of a cache lifetime later.
    pub(super) fn sign_again(&self, service: ServiceId, error: &StoreError, first_try: bool) -> bool {
        if first_try && matches!(error, StoreError::KeyRevoked) {
            self.store.forget_current_key(service);
            return true;
        }
        false
    }

    /// Signs `claims` as a compact JWS with `key` (see [`sign`]), the key parsed at its first use.
    pub(super) fn sign(&self, key: &SigningKeyRecord, typ: &str, claims: &Value) -> Result<String, KeyError> {
        sign_with(&*self.state.parsed.get(key)?, key, typ, claims)
    }
}

/// Seconds until `key` may make another of at most `limit` per [`ROTATION_WINDOW`]; `None` when it
/// may now. Forgets what left the window (and every idle key when the map is full).
fn wait_for<K: std::hash::Hash + Eq + Copy>(
    made: &mut HashMap<K, VecDeque<Instant>>,
    key: K,
    limit: usize,
) -> Option<u64> {
    if made.len() >= MAX_KEPT && !made.contains_key(&key) {
        made.retain(|_, recent| recent.back().is_some_and(|at| at.elapsed() < ROTATION_WINDOW));
    }
    let recent = made.entry(key).or_default();
    while recent.front().is_some_and(|at| at.elapsed() >= ROTATION_WINDOW) {
        recent.pop_front();
    }
    (recent.len() >= limit).then(|| {
        let oldest = recent.front().map_or(Duration::ZERO, Instant::elapsed);
        ROTATION_WINDOW.saturating_sub(oldest).as_secs().max(1)
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain values: a panic elsewhere cannot leave one half-written.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};

    #[test]
    fn every_algorithm_signs_and_verifies_with_its_published_jwk() {
        for alg in [SignAlg::EdDsa, SignAlg::Es256, SignAlg::Rs256] {
            let key = generate(ServiceId(1), alg, 0).unwrap();
            let token = sign(&key, "at+jwt", &json!({"sub": "a", "exp": 4_000_000_000i64})).unwrap();
            let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
            let decoding = DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = Validation::new(jwt_algorithm(alg));
            validation.validate_aud = false;
            let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
            assert_eq!(data.claims["sub"], "a");
            assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
            assert!(
                !key.public_jwk.to_string().contains("\"d\""),
                "public JWK must not hold the private part"
            );
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 section 3.1.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
