//! `cargo xtask <command>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `codegen [--check]` writes (or verifies) the generated files under `docs/`.
//! - `test` runs every check CI runs but fuzzing: fmt, clippy, the architecture invariants, the
//!   codegen check and every test suite, then prints one `xtask: N passed, M failed` summary line.
//! - `fuzz` builds the decoders' fuzz targets and runs each briefly (CI runs it after `test`).
//! - `contract` runs only the API-contract step of `test` (schemathesis against a started server).
//! - `bench` runs the release server as its own process under wrk, beside the reference server of
//!   the same run (see `docs/performance.md`); `bench-load` runs the quicker in-process bench.

mod codegen;
mod fuzz;
mod test;
mod wrk_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Project automation for the token service")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Write the generated files (docs/openapi.json, docs/result-codes.md).
    Codegen {
        /// Fail instead of writing when a generated file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Run every check and test suite (what CI runs, with `fuzz` after it).
    Test,
    /// Build the decoders' fuzz targets (`crates/token-core/fuzz`; cargo-fuzz is installed when
    /// missing) and run each briefly (`FUZZ_SECONDS`, default 5).
    Fuzz,
    /// Only the API-contract step of `test`: schemathesis against a started server
    /// (settings in xtask/contract/schemathesis.toml).
    Contract,
    /// The load benchmarks: the release server as its own process driven by wrk (which must be
    /// installed), beside this repository's reference server (`xtask/reference`) and PostgreSQL's
    /// own insert ceiling (pgbench), measured in the same run; writes target/bench/report.json.
    Bench {
        /// Seconds per run.
        #[arg(long, default_value_t = 8)]
        seconds: u64,
        /// Runs per scenario (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Connections (custom-token generation always uses 10, the per-credential limit).
        #[arg(long, default_value_t = 64)]
        concurrency: u64,
        /// Take the ratios to the original yardstick's scripts in this directory
        /// (`rust-ceiling-bench.sh`, `pg-ceiling.sh`, e.g. ../shared/bench) instead of this
        /// repository's reference server (`xtask/reference`) and pgbench ceiling: a cross-check.
        #[arg(long)]
        reference: Option<PathBuf>,
        /// Skip the reference server.
        #[arg(long)]
        no_reference: bool,
        /// `postgres://…`: run on a fresh PostgreSQL database created beside this one.
        #[arg(long)]
        database: Option<String>,
        /// Only the scenarios whose name contains one of these words (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Then bulk-insert this many tokens (SQL, not HTTP; e.g. 1000000) and measure token
        /// create and listing again, and the server's RSS.
        #[arg(long, default_value_t = 0)]
        prefill: u64,
        /// The server binary to measure (default: this checkout's release build). Comparing two
        /// versions: run the bench alternately with each, e.g. a build of the previous commit.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// The in-process load bench (`crates/token-server/benches/load.rs`): quick figures, and the
    /// janitor's effect on token creation (`--janitor-rows`).
    BenchLoad {
        /// Seconds per scenario.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        concurrency: u64,
        /// The store: `postgres://…` runs the scenarios on PostgreSQL (default: a fresh SQLite file).
        #[arg(long)]
        database: Option<String>,
        /// Also create this many tokens, then measure token create while the janitor purges them.
        #[arg(long, default_value_t = 0)]
        janitor_rows: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Codegen { check } => codegen::run(check),
        Cmd::Test => test::run(),
        Cmd::Fuzz => fuzz::run(),
        Cmd::Contract => test::run_contract(None).and_then(|tally| {
            if tally.ok { Ok(()) } else { Err("the server does not keep to docs/openapi.json".into()) }
        }),
        Cmd::Bench {
            seconds,
            runs,
            concurrency,
            reference,
            no_reference,
            database,
            only,
            prefill,
            binary,
        } => {
            let reference = match (no_reference, reference) {
                (true, _) => wrk_bench::Reference::None,
                (false, Some(dir)) => wrk_bench::Reference::Scripts(dir),
                (false, None) => wrk_bench::Reference::InRepository,
            };
            wrk_bench::run(wrk_bench::Options {
                seconds,
                runs,
                concurrency,
                reference,
                database,
                only,
                prefill,
                binary,
            })
        }
        Cmd::BenchLoad { seconds, concurrency, database, janitor_rows } => {
            let (seconds, concurrency, janitor_rows) =
                (seconds.to_string(), concurrency.to_string(), janitor_rows.to_string());
            let mut args = vec![
                "bench",
                "-p",
                "token-server",
                "--bench",
                "load",
                "--",
                "--seconds",
                &seconds,
                "--concurrency",
                &concurrency,
                "--janitor-rows",
                &janitor_rows,
            ];
            if let Some(database) = &database {
                args.extend(["--database", database.as_str()]);
            }
            run_step("bench", "cargo", &args)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Where cargo builds (`cargo metadata`: `CARGO_TARGET_DIR`, or the workspace's `target/`).
pub fn target_directory() -> Result<PathBuf, String> {
    let metadata = capture("cargo", &["metadata", "--format-version", "1", "--no-deps"])?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).map_err(|e| format!("cargo metadata: {e}"))?;
    let target = metadata["target_directory"].as_str().ok_or("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(target))
}

/// Runs a command in the project root, streaming its output; fails with `what` if it fails.
pub fn run_step(what: &str, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: == {what}: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(project_root())
        .status()
        .map_err(|e| format!("{what}: cannot run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

/// Runs a command and returns its stdout.
pub fn capture(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
