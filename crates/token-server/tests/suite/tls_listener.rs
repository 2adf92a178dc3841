//! HTTPS on the listener (`tls_cert`, `tls_key`) with a CA and certificates made by openssl: a real
//! client trusting the test CA is served; one that does not trust it, and TLS 1.1, are refused;
//! SIGHUP reloads the certificate for new connections while an open one keeps working.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// A server certificate for 127.0.0.1 and localhost, signed by the CA in `dir`.
fn issue(dir: &Path, cert: &Path, key: &Path) {
    let ca = (dir.join("Test CA.key"), dir.join("Test CA.pem"));
    crate::pki::issue((&ca.0, &ca.1), "IP:127.0.0.1,DNS:localhost", cert, key);
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
    let (_, ca_cert) = crate::pki::make_ca(dir.path(), "Test CA");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    issue(dir.path(), &cert, &key);

    let mut server = Command::new(BIN)
        .arg("--database")
        .arg(dir.path().join("tls.sqlite"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TOKEN_SERVER_TLS_CERT", &cert)
        .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
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
        .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
        .env("TOKEN_SERVER_TLS_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "the broken key is refused at check");
}

/// A TLS private key readable by others is said at start and by `config check` (#37); one of mode
/// 0600 is not.
#[tokio::test]
async fn a_tls_key_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    crate::pki::make_ca(dir.path(), "Test CA");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    issue(dir.path(), &cert, &key);
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let check = Command::new(BIN)
            .args(["config", "check"])
            .env("TOKEN_SERVER_TLS_CERT", &cert)
            .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
            .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
            .env("TOKEN_SERVER_TLS_KEY", &key)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&check.stdout).into_owned();
        assert!(check.status.success(), "{printed}");
        assert_eq!(printed.contains("readable by others"), warned, "config check, mode {mode:o}: {printed}");

        let mut server = Command::new(BIN)
            .arg("--database")
            .arg(dir.path().join("perm.sqlite"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("TOKEN_SERVER_TLS_CERT", &cert)
            .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
            .env("TOKEN_SERVER_PUBLIC_BASE_URL", "https://localhost")
            .env("TOKEN_SERVER_TLS_KEY", &key)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for line in BufReader::new(server.stdout.take().unwrap()).lines() {
            if line.unwrap().starts_with("token-server listening on ") {
                break;
            }
        }
        let _ = server.kill();
        let output = server.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(log.contains("readable by others"), warned, "start, mode {mode:o}: {log}");
    }
}

/// With TLS on the listener, `public_base_url` is required (#37): without it a DPoP proof's `htu`
/// would be built from the request's `Host` and `http://`, so the right `https://` proof would be
/// refused and a `Host` of the client's choosing trusted. `config check` and `serve` name it.
#[test]
fn tls_without_public_base_url_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    crate::pki::make_ca(dir.path(), "Test CA");
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    issue(dir.path(), &cert, &key);
    for args in [&["config", "check"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let output = Command::new(BIN)
            .arg("--database")
            .arg(dir.path().join("nobase.sqlite"))
            .args(args)
            .env("TOKEN_SERVER_TLS_CERT", &cert)
            .env("TOKEN_SERVER_TLS_KEY", &key)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("public_base_url") && said.contains("tls_cert"), "{args:?}: {said}");
    }
}
