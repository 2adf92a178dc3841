//! Certificates for the TLS and certificate-binding tests, made by openssl (an independent tool,
//! not our code): a CA, server certificates it signs, and client certificates with their RFC 8705
//! thumbprint.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs openssl with `args`; its standard output.
pub fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A P-256 CA named `name` in `dir`: its key and certificate.
pub fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pem")));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={name}"),
        "-keyout",
        text(&key),
        "-out",
        text(&cert),
    ]);
    (key, cert)
}

/// A server certificate for `subject_alt_names` (e.g. `DNS:localhost,IP:127.0.0.1`) signed by the
/// CA `(ca_key, ca_cert)`, written to `cert` with its key at `key`.
pub fn issue(ca: (&Path, &Path), subject_alt_names: &str, cert: &Path, key: &Path) {
    let (csr, ext) = (cert.with_extension("csr"), cert.with_extension("ext"));
    std::fs::write(&ext, format!("subjectAltName={subject_alt_names}\n")).unwrap();
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        text(key),
        "-out",
        text(&csr),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        text(&csr),
        "-CA",
        text(ca.1),
        "-CAkey",
        text(ca.0),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        text(&ext),
        "-out",
        text(cert),
    ]);
}

/// A self-signed client certificate for `CN=name` in `dir` (created): its RFC 8705 `x5t#S256`
/// (base64url SHA-256 of the DER, from openssl's own fingerprint) and its PEM.
pub fn client_certificate(dir: &Path, name: &str) -> (String, String) {
    use base64::Engine as _;
    std::fs::create_dir_all(dir).unwrap();
    let (_, cert) = make_ca(dir, name);
    let fingerprint = openssl(&["x509", "-in", text(&cert), "-noout", "-fingerprint", "-sha256"]);
    let hex = fingerprint.trim().rsplit('=').next().unwrap().replace(':', "");
    let digest: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    assert_eq!(digest.len(), 32, "{fingerprint}");
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    (x5t, std::fs::read_to_string(cert).unwrap())
}
