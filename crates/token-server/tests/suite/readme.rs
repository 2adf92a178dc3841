//! The README's quick start, run as written (bash, curl, sed, awk) against the real binary started
//! the way the README says, in a fresh directory: the README cannot rot.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_token-server");

/// The first ```sh block after the quick-start heading.
fn quick_start() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme.split("## 60-second quick start").nth(1).expect("the README has a quick start");
    let block = section.split("```sh\n").nth(1).expect("with a sh block");
    block.split("```").next().unwrap().to_owned()
}

#[test]
fn the_readme_quick_start_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    // `cargo run -p token-server`: no arguments but the port (the README's 8080 may be taken here).
    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
        }
    };
    let script = quick_start().replace("http://127.0.0.1:8080", &base);
    assert!(script.contains("custom-token/exchange"), "{script}");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the quick start failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One answer per line: the created token, the introspection of the exchanged one (usable, for
    // user-1), the revocation, and the introspection refused.
    let answers: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(answers.len(), 4, "{stdout}");
    assert!(answers[0].contains(r#""subject":"john""#), "{stdout}");
    assert!(
        answers[1].contains(r#""action":"OK""#) && answers[1].contains(r#""subject":"user-1""#),
        "{stdout}"
    );
    assert!(answers[2].contains(r#""count":1"#), "{stdout}");
    assert!(answers[3].contains(r#""action":"UNAUTHORIZED""#), "{stdout}");
}
