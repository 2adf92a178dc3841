//! Encryption of private signing keys at rest: AES-256-GCM under a key-encryption key (KEK) from
//! the configuration. The stored row keeps the KEK's ID beside the ciphertext, so a new KEK can be
//! introduced while the previous one still decrypts (the store re-encrypts at start).
//!
//! Sealed layout: 12-byte random nonce ‖ ciphertext+tag; the signing key's `kid` is the associated
//! data, so a ciphertext moved to another row does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Why a key-encryption key or a sealed key is unusable. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyEncryptionError {
    #[error("the key-encryption key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("the signing key is encrypted with key-encryption key '{0}', which is not configured")]
    UnknownKek(String),
    #[error("the signing key could not be decrypted (wrong key-encryption key or corrupted row)")]
    Decrypt,
    #[error("the signing key could not be encrypted")]
    Encrypt,
}

/// One key-encryption key and its ID (derived from the key, so it needs no configuration).
struct Kek {
    id: String,
    cipher: Aes256Gcm,
}

impl Kek {
    fn parse(text: &str) -> Result<Kek, KeyEncryptionError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KeyEncryptionError::BadKey)?;
        if bytes.len() != 32 {
            return Err(KeyEncryptionError::BadKey);
        }
        let id = format!("kek-{}", &URL_SAFE_NO_PAD.encode(Sha256::digest(&bytes))[..11]);
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyEncryptionError::BadKey)?;
        Ok(Kek { id, cipher })
    }
}

/// The configured key-encryption keys: the current one (new rows) and previous ones (decrypt only).
#[derive(Default)]
pub struct KeyEncryption {
    current: Option<Kek>,
    previous: Vec<Kek>,
}

impl std::fmt::Debug for KeyEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEncryption")
            .field("current", &self.current.as_ref().map(|k| &k.id))
            .field("previous", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl KeyEncryption {
    /// No encryption: private keys are stored as plain DER (the zero-config default).
    pub fn none() -> Self {
        Self::default()
    }

    /// From base64 key texts: the current key, and previous keys still able to decrypt.
    pub fn new(current: Option<&str>, previous: &[String]) -> Result<Self, KeyEncryptionError> {
        Ok(Self {
            current: current.map(Kek::parse).transpose()?,
            previous: previous.iter().map(|k| Kek::parse(k)).collect::<Result<_, _>>()?,
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.current.is_some()
    }

    /// The ID new rows are sealed under (`None`: stored in plaintext).
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|k| k.id.as_str())
    }

    /// Seals `plain` for the key `kid`: the stored bytes and the KEK ID (`None` = plaintext).
    pub fn seal(&self, kid: &str, plain: &[u8]) -> Result<(Vec<u8>, Option<String>), KeyEncryptionError> {
        let Some(kek) = &self.current else { return Ok((plain.to_vec(), None)) };
        let nonce: [u8; NONCE_LEN] = crate::random::os_bytes();
        // Never store something that would not open: a failure is an error, not empty bytes.
        let sealed = kek
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: kid.as_bytes() })
            .map_err(|_| KeyEncryptionError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((out, Some(kek.id.clone())))
    }

    /// Opens a stored key sealed under `kek_id` (`None` = plaintext).
    pub fn open(
        &self,
        kid: &str,
        stored: &[u8],
        kek_id: Option<&str>,
    ) -> Result<Vec<u8>, KeyEncryptionError> {
        let Some(kek_id) = kek_id else { return Ok(stored.to_vec()) };
        let kek = self
            .current
            .iter()
            .chain(&self.previous)
            .find(|k| k.id == kek_id)
            .ok_or_else(|| KeyEncryptionError::UnknownKek(kek_id.to_owned()))?;
        if stored.len() < NONCE_LEN {
            return Err(KeyEncryptionError::Decrypt);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        kek.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: kid.as_bytes() })
            .map_err(|_| KeyEncryptionError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "HxscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAAA=";

    #[test]
    fn seals_and_opens_and_binds_to_the_kid() {
        let kek = KeyEncryption::new(Some(KEY_A), &[]).unwrap();
        let (sealed, id) = kek.seal("kid-1", b"private key").unwrap();
        assert_ne!(sealed, b"private key");
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(kek.open("kid-1", &sealed, id.as_deref()).unwrap(), b"private key");
        assert!(matches!(kek.open("kid-2", &sealed, id.as_deref()), Err(KeyEncryptionError::Decrypt)));
    }

    #[test]
    fn previous_keys_decrypt_and_unknown_ones_are_named() {
        let old = KeyEncryption::new(Some(KEY_A), &[]).unwrap();
        let (sealed, id) = old.seal("k", b"secret").unwrap();
        let rotated = KeyEncryption::new(Some(KEY_B), &[KEY_A.to_owned()]).unwrap();
        assert_eq!(rotated.open("k", &sealed, id.as_deref()).unwrap(), b"secret");
        assert_ne!(rotated.current_id(), id.as_deref());
        let without = KeyEncryption::new(Some(KEY_B), &[]).unwrap();
        assert!(matches!(without.open("k", &sealed, id.as_deref()), Err(KeyEncryptionError::UnknownKek(_))));
        assert!(matches!(KeyEncryption::new(Some("c2hvcnQ="), &[]), Err(KeyEncryptionError::BadKey)));
        assert!(!format!("{rotated:?}").contains(KEY_B));
    }
}
