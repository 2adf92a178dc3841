//! `cargo xtask fuzz`: the fuzz smoke of the decoders (`crates/token-core/fuzz`), apart from
//! `cargo xtask test` because a first run installs cargo-fuzz from source and builds libFuzzer and
//! four instrumented targets (most of a fresh machine's first test run). CI (`.ci/run`) runs it
//! after the tests.

use std::process::Command;

use crate::{project_root, run_step, target_directory};

/// The fuzz targets, each run briefly.
const TARGETS: &[&str] = &["json_bodies", "form_bodies", "bearer_header", "custom_token_jwt"];

/// Builds the targets with cargo fuzz (installed when missing) and runs each briefly from a fixed
/// seed (`FUZZ_SECONDS`, default 5), then prints one `xtask: fuzz: N passed, M failed` line.
/// Longer runs: `RUSTC_BOOTSTRAP=1 cargo fuzz run -O <target>` in crates/token-core
/// (docs/security.md).
pub fn run() -> Result<(), String> {
    let installed =
        Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        run_step("install cargo-fuzz", "cargo", &["install", "cargo-fuzz", "--locked", "--quiet"])?;
    }
    let target_dir = target_directory()?.join("fuzz").to_string_lossy().into_owned();
    let seconds = std::env::var("FUZZ_SECONDS").unwrap_or_else(|_| "5".into());
    let core = project_root().join("crates/token-core");
    // cargo fuzz needs sanitizer flags that stable rustc accepts only with RUSTC_BOOTSTRAP.
    let fuzz = |args: &[&str]| {
        eprintln!("xtask: == fuzz: cargo fuzz {}", args.join(" "));
        Command::new("cargo")
            .arg("fuzz")
            .args(args)
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&core)
            .status()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))
    };
    let built = fuzz(&["build", "-O", "--target-dir", &target_dir])?;
    if !built.success() {
        return Err(format!("cargo fuzz build failed ({built})"));
    }
    let max_time = format!("-max_total_time={seconds}");
    let mut failed = Vec::new();
    for name in TARGETS {
        let status = fuzz(&["run", "-O", "--target-dir", &target_dir, name, "--", &max_time, "-seed=1"])?;
        if !status.success() {
            failed.push(*name);
        }
    }
    println!("xtask: fuzz: {} passed, {} failed", TARGETS.len() - failed.len(), failed.len());
    if failed.is_empty() { Ok(()) } else { Err(format!("fuzz targets failed: {}", failed.join(", "))) }
}
