//! HTTPS on the listener (`tls_cert`, `tls_key`) with a CA and certificates made by openssl: a real
//! client trusting the test CA is served; one that does not trust it, and TLS 1.1, are refused;
//! SIGHUP reloads the certificate for new connections while an open one keeps working.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A server certificate for 127.0.0.1 and localhost, signed by the CA in `dir`, written to
/// `cert` and `key`.
fn issue(dir: &Path, cert: &Path, key: &Path) {
    let csr = dir.join("server.csr");
    let ext = dir.join("san.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
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
        &s(key),
        "-out",
        &s(&csr),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&dir.join("ca.pem")),
        "-CAkey",
        &s(&dir.join("ca.key")),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &s(&ext),
        "-out",
        &s(cert),
    ]);
}

/// The serial of the certificate the listener presents to a new connection (openssl s_client).
fn presented_serial(port: u16) -> String {
    let mut client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pem = String::new();
    let mut inside = false;
    for line in BufReader::new(client.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        inside |= line.starts_with("-----BEGIN CERTIFICATE");
        if inside {
            pem.push_str(&line);
            pem.push('\n');
        }
        if line.starts_with("-----END CERTIFICATE") {
            break;
        }
    }
    let _ = client.kill();
    let _ = client.wait();
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-serial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut x509.stdin.take().unwrap(), pem.as_bytes()).unwrap();
    String::from_utf8(x509.wait_with_output().unwrap().stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn https_on_the_listener_with_a_reload_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_key, ca_cert) = (dir.path().join("ca.key"), dir.path().join("ca.pem"));
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
        "/CN=Test CA",
        "-keyout",
        ca_key.to_str().unwrap(),
        "-out",
        ca_cert.to_str().unwrap(),
    ]);
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    issue(dir.path(), &cert, &key);

    let mut server = Command::new(BIN)
        .arg("--database")
        .arg(dir.path().join("tls.sqlite"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOKEN_SERVER_TLS_CERT", &cert)
        .env("TOKEN_SERVER_TLS_KEY", &key)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut base = String::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            base = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();

    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca_cert).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .tls_built_in_root_certs(false)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let healthz = format!("{base}/healthz");
    assert_eq!(
        trusting.get(&healthz).send().await.unwrap().status(),
        200,
        "a client trusting the CA is served"
    );
    let stranger = reqwest::Client::builder().tls_built_in_root_certs(true).build().unwrap();
    assert!(stranger.get(&healthz).send().await.is_err(), "a client not trusting the CA is refused");
    let old_tls = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-tls1_1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!old_tls.status.success(), "TLS 1.1 is refused");

    // A new certificate in place of the old one, then SIGHUP.
    let before = presented_serial(port);
    issue(dir.path(), &cert, &key);
    let pid = server.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let mut after = before.clone();
    for _ in 0..50 {
        after = presented_serial(port);
        if after != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(after, before, "new connections get the reloaded certificate");
    assert!(after.starts_with("serial="), "{after}");
    // The connection opened before the reload is still served (the client keeps it alive).
    assert_eq!(trusting.get(&healthz).send().await.unwrap().status(), 200);

    // A broken file on reload keeps the certificate in use.
    std::fs::write(&key, "not a key").unwrap();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(presented_serial(port), after, "an unusable file changes nothing");
    assert_eq!(trusting.get(&healthz).send().await.unwrap().status(), 200);

    server.kill().unwrap();
    server.wait().unwrap();

    // config check refuses what serve would: a key without a certificate, an unreadable file.
    let refused =
        Command::new(BIN).args(["config", "check"]).env("TOKEN_SERVER_TLS_KEY", &key).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("tls_cert"));
    let refused = Command::new(BIN)
        .args(["config", "check"])
        .env("TOKEN_SERVER_TLS_CERT", &cert)
        .env("TOKEN_SERVER_TLS_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "the broken key is refused at check");
}
