//! The shipped systemd unit (`deploy/token-server.service`): `systemd-analyze verify` accepts it
//! (with its binary path pointed at the one just built) and `systemd-analyze security` rates its
//! exposure at most 2.0.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "systemd-analyze is required in CI");
        eprintln!("skipped: no systemd-analyze");
        return;
    }
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/token-server.service"))
            .expect("deploy/token-server.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/token-server serve"), "installs where the docs say");
    for setting in
        ["DynamicUser=yes", "StateDirectory=token-server", "ProtectSystem=strict", "NoNewPrivileges=yes"]
    {
        assert!(unit.contains(setting), "{setting}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token-server.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/token-server", BIN)).unwrap();

    let verify = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && complaints.trim().is_empty(), "systemd-analyze verify: {complaints}");

    let security =
        Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&path).output().unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for token-server.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    assert!(exposure <= 2.0, "exposure {exposure} > 2.0:\n{report}");
}
