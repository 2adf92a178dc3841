//! TLS to PostgreSQL as libpq's URL parameters ask for it (`sslmode`, `sslrootcert`), over rustls:
//! reading them out of the database URL, checking the URL before anything starts, and the
//! certificate verifier each mode needs.

use std::str::FromStr;

use super::with_causes;
use crate::store::{StoreError, StoreResult};

/// The largest `sslrootcert` read (a CA bundle of every public root is ~250 KB).
const MAX_ROOT_CERT_BYTES: u64 = 4 * 1024 * 1024;

/// Checks a database URL the way [`PostgresStore::connect`](super::PostgresStore::connect) reads
/// it, without connecting: every parameter (the one refused is named), `sslmode`, and that
/// `sslrootcert` is a readable PEM file holding a certificate. `config check` and every command
/// that opens the store ask this first, so what `serve` would refuse is refused before anything
/// starts.
pub fn check_url(url: &str) -> Result<(), String> {
    let (rest, tls) = TlsSettings::split(url).map_err(|e| match e {
        StoreError::Backend(said) => said,
        other => with_causes(&other),
    })?;
    tokio_postgres::Config::from_str(&rest).map_err(|e| {
        let said = with_causes(&e);
        let hint = "libpq's parameters: sslmode, sslrootcert, connect_timeout, application_name, options, \
                    host, port, user, password, dbname, target_session_attrs…";
        format!("the URL is not valid: {said} ({hint})")
    })?;
    if let Some(path) = &tls.root_cert {
        use rustls::pki_types::pem::PemObject as _;
        // A file of certificates: not a device, a pipe or a directory (which would be read for
        // ever or hang), and not larger than any CA bundle is.
        let meta = std::fs::metadata(path).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("sslrootcert {}: not a regular file", path.display()));
        }
        if meta.len() > MAX_ROOT_CERT_BYTES {
            return Err(format!(
                "sslrootcert {}: {} bytes, more than any CA bundle ({MAX_ROOT_CERT_BYTES} at most)",
                path.display(),
                meta.len()
            ));
        }
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("sslrootcert {}: {}", path.display(), with_causes(&e)))?;
        let mut found = 0;
        for certificate in certificates {
            certificate.map_err(|e| format!("sslrootcert {}: {}", path.display(), with_causes(&e)))?;
            found += 1;
        }
        if found == 0 {
            return Err(format!("sslrootcert {}: holds no PEM certificate", path.display()));
        }
    }
    Ok(())
}

/// libpq's `sslmode`: whether to use TLS and how much of the server's certificate to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, unverified (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate is checked only when `sslrootcert` is given (then as
    /// `verify-ca`), as libpq does.
    Require,
    /// TLS, the certificate chained to `sslrootcert` (else the web's roots); any host name.
    VerifyCa,
    /// TLS, the chain and the host name (what a managed database over the internet needs).
    VerifyFull,
}

/// The TLS part of a database URL (`sslmode`, `sslrootcert`), read before tokio-postgres parses
/// the rest: its parser refuses `verify-ca`, `verify-full` and `sslrootcert`.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<std::path::PathBuf>,
}

impl TlsSettings {
    /// `url` without `sslmode` and `sslrootcert`, and what they said.
    pub fn split(url: &str) -> StoreResult<(String, TlsSettings)> {
        let mut parsed =
            url::Url::parse(url).map_err(|e| StoreError::driver("the database URL is not valid", e))?;
        let (mut mode, mut root_cert) = (SslMode::Prefer, None);
        for (name, value) in parsed.query_pairs() {
            match name.as_ref() {
                "sslmode" => {
                    mode = match value.as_ref() {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(StoreError::Backend(format!(
                                "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(std::path::PathBuf::from(value.as_ref())),
                _ => {}
            }
        }
        // The other parameters go on exactly as written (re-encoding would turn a space into
        // `+`, which tokio-postgres does not decode).
        let rest: Vec<&str> = parsed
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or_default();
                !pair.is_empty() && name != "sslmode" && name != "sslrootcert"
            })
            .collect();
        let rest = rest.join("&");
        parsed.set_query(if rest.is_empty() { None } else { Some(&rest) });
        Ok((parsed.to_string(), TlsSettings { mode, root_cert }))
    }

    /// What tokio-postgres is told: TLS off, preferred or required (the checks are the verifier's).
    pub(super) fn driver_mode(&self) -> tokio_postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }

    /// The rustls connector for this mode.
    pub(super) fn connector(&self) -> StoreResult<tokio_postgres_rustls::MakeRustlsConnect> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verify_chain = matches!(
            (self.mode, &self.root_cert),
            (SslMode::VerifyCa | SslMode::VerifyFull, _) | (SslMode::Require, Some(_))
        );
        let verifier: std::sync::Arc<dyn rustls::client::danger::ServerCertVerifier> = if verify_chain {
            let mut roots = rustls::RootCertStore::empty();
            match &self.root_cert {
                Some(path) => {
                    use rustls::pki_types::pem::PemObject as _;
                    let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
                        .map_err(|e| StoreError::driver(format!("sslrootcert {}", path.display()), e))?;
                    for certificate in certificates {
                        let certificate = certificate
                            .map_err(|e| StoreError::driver(format!("sslrootcert {}", path.display()), e))?;
                        roots
                            .add(certificate)
                            .map_err(|e| StoreError::driver(format!("sslrootcert {}", path.display()), e))?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            let chain = rustls::client::WebPkiServerVerifier::builder_with_provider(
                std::sync::Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| StoreError::driver("TLS verifier", e))?;
            if self.mode == SslMode::VerifyFull {
                chain
            } else {
                std::sync::Arc::new(verifiers::ChainOnly(chain))
            }
        } else {
            std::sync::Arc::new(verifiers::Unverified(provider.clone()))
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::driver("TLS configuration", e))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// The two certificate checks libpq has and rustls does not spell out.
mod verifiers {
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

    /// `prefer` and `require` without a root certificate: encrypted, the certificate unchecked
    /// (the handshake's signatures still are).
    #[derive(Debug)]
    pub struct Unverified(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for Unverified {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// `verify-ca`: the chain to a trusted root is checked, the host name is not.
    #[derive(Debug)]
    pub struct ChainOnly(pub Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

#[cfg(test)]
mod tls_settings {
    use super::{SslMode, TlsSettings};

    #[test]
    fn libpq_parameters_are_read_and_the_rest_passes_on_as_written() {
        let (url, tls) = TlsSettings::split(
            "postgres://u:p@db.example/tokens?options=-c%20search_path%3Dx&sslmode=verify-full&sslrootcert=/etc/ca%20dir/ca.pem&application_name=t",
        )
        .unwrap();
        assert_eq!(url, "postgres://u:p@db.example/tokens?options=-c%20search_path%3Dx&application_name=t");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert.as_deref(), Some(std::path::Path::new("/etc/ca dir/ca.pem")));
        let (url, tls) = TlsSettings::split("postgres://db.example/tokens").unwrap();
        assert_eq!((url.as_str(), tls.mode), ("postgres://db.example/tokens", SslMode::Prefer));
        for (given, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
        ] {
            assert_eq!(TlsSettings::split(&format!("postgres://h/d?sslmode={given}")).unwrap().1.mode, mode);
        }
        let refused = TlsSettings::split("postgres://h/d?sslmode=always").unwrap_err().to_string();
        assert!(refused.contains("sslmode=always"), "{refused}");
    }
}
