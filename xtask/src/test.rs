//! `cargo xtask test`: everything CI checks but fuzzing (`cargo xtask fuzz`), in the order that
//! fails fastest.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::{capture, codegen, project_root, run_step, target_directory};

/// Crates token-core must never depend on (architecture invariant: the core is pure).
const FORBIDDEN_IN_CORE: &[&str] =
    &["tokio", "axum", "reqwest", "hyper", "rusqlite", "sqlx", "mio", "socket2", "tower"];
/// Source-level uses token-core must not contain.
const FORBIDDEN_USES_IN_CORE: &[&str] = &["std::fs", "std::net", "std::process", "std::thread", "tokio::"];

pub fn run() -> Result<(), String> {
    run_step("format", "cargo", &["fmt", "--all", "--check"])?;
    run_step(
        "clippy",
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--all-features", "--quiet", "--", "-D", "warnings"],
    )?;
    // The README's `cargo run -p token-server` builds the default features, which every other step
    // leaves out (they use --all-features): code behind `test-support` must not leak into it.
    run_step("default features", "cargo", &["check", "-p", "token-server", "--bins", "--quiet"])?;
    check_core_is_pure()?;
    eprintln!("xtask: == codegen --check");
    codegen::run(true)?;
    ensure_independent_jose()?;
    let postgres_up = postgres_available()?;
    let cargo = run_cargo_tests(postgres_up)?;
    let postgres = run_suite_on_postgres(postgres_up)?;
    let sdk = run_sdk_suite(postgres_up)?;
    // The contract's short form: its examples and coverage phases whole, fuzzing at 50 cases per
    // operation (`cargo xtask contract` runs the long form, 200; CONTRACT_MAX_EXAMPLES sets it).
    let contract = run_contract(Some(CONTRACT_SHORT_MAX_EXAMPLES))?;
    let fairness = run_fairness(false)?;
    let fairness_on_postgres =
        if postgres_up { run_fairness(true)? } else { Tally { ok: true, ..Tally::default() } };
    let soak = run_soak()?;
    let alone = [&fairness, &fairness_on_postgres, &soak];
    let passed = cargo.passed
        + postgres.passed
        + sdk.passed
        + contract.passed
        + alone.iter().map(|t| t.passed).sum::<u64>();
    let failed = cargo.failed
        + postgres.failed
        + sdk.failed
        + contract.failed
        + alone.iter().map(|t| t.failed).sum::<u64>();
    // The soak and the fairness measurements are the ignored tests that ran after all (alone);
    // tests that need a PostgreSQL that is not there (outside CI) are skipped, never counted as
    // passed.
    let skipped = cargo.ignored.saturating_sub(soak.passed + soak.failed + fairness.passed + fairness.failed)
        + cargo.skipped
        + postgres.skipped
        + sdk.skipped;
    println!("xtask: {passed} passed, {failed} failed, {skipped} skipped");
    let all_ok = cargo.ok && postgres.ok && sdk.ok && contract.ok && alone.iter().all(|t| t.ok);
    if all_ok && failed == 0 && passed > 0 { Ok(()) } else { Err("tests failed".into()) }
}

/// What one suite reported.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
    /// Not run because what they need is missing here (PostgreSQL outside CI).
    skipped: u64,
    pub ok: bool,
}

/// `cargo tree -p token-core` must find none of [`FORBIDDEN_IN_CORE`], with every feature on, and
/// the core's sources must not reach for the file system, the network or threads.
pub fn check_core_is_pure() -> Result<(), String> {
    eprintln!("xtask: == architecture: token-core stays free of I/O");
    let tree = capture(
        "cargo",
        &[
            "tree",
            "-p",
            "token-core",
            "--all-features",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ],
    )?;
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let bad: Vec<&&str> = FORBIDDEN_IN_CORE.iter().filter(|f| names.contains(f)).collect();
    if !bad.is_empty() {
        return Err(format!("token-core depends on {bad:?} (see `cargo tree -p token-core -i <name>`)"));
    }
    // Every file under src/, the modules' folders (e.g. `tenancy/`) too.
    let mut folders = vec![project_root().join("crates/token-core/src")];
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() { folders.push(path) } else { files.push(path) }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        // Comments may talk about these paths; code may not use them.
        let code: String =
            text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for needle in FORBIDDEN_USES_IN_CORE {
            if code.contains(needle) {
                return Err(format!("{} uses {needle}; token-core must stay free of I/O", path.display()));
            }
        }
    }
    Ok(())
}

/// Tests of the plain run that need the tests' PostgreSQL, by test target of token-server and name
/// filter: the backend's conformance cases, N instances on one database, a database outage.
const NEEDS_POSTGRES: &[(&str, &str)] = &[
    ("--lib", "store::postgres::conformance::"),
    ("--test=suite", "multi_instance::"),
    ("--test=suite", "outage::"),
    ("--test=suite", "postgres_tls::require_encrypts_against_the_machines_postgresql"),
];

/// Runs the workspace's tests, echoing the output and adding up every `test result:` line. Without
/// a PostgreSQL, its conformance cases are left out and counted as skipped.
fn run_cargo_tests(postgres_up: bool) -> Result<Tally, String> {
    let mut args = vec!["test", "--workspace", "--all-features", "--no-fail-fast"];
    let mut skipped = 0;
    if !postgres_up {
        args.push("--");
        for (target, filter) in NEEDS_POSTGRES {
            skipped += count_tests(&["-p", "token-server", target], &[filter])?;
            args.extend(["--skip", filter]);
        }
    }
    eprintln!("xtask: == tests: cargo {}", args.join(" "));
    let mut tally = cargo_test_tally(Command::new("cargo").args(&args).current_dir(project_root()))?;
    tally.skipped = skipped;
    Ok(tally)
}

/// How many tests `cargo test --all-features <selection> -- --list <filters>` would run (ignored
/// ones left out).
fn count_tests(selection: &[&str], filters: &[&str]) -> Result<u64, String> {
    let list = |extra: &[&str]| -> Result<u64, String> {
        let mut args = vec!["test", "--all-features", "--quiet"];
        args.extend(selection);
        args.extend(["--", "--list"]);
        args.extend(extra);
        args.extend(filters);
        Ok(capture("cargo", &args)?.lines().filter(|l| l.ends_with(": test")).count() as u64)
    };
    Ok(list(&[])?.saturating_sub(list(&["--ignored"])?))
}

/// Whether the tests' PostgreSQL is there; its absence is a failure in CI (`CI=true`) and a skip
/// elsewhere.
fn postgres_available() -> Result<bool, String> {
    let address =
        std::env::var("TOKEN_SERVER_TEST_POSTGRES_ADDR").unwrap_or_else(|_| POSTGRES_ADDRESS.into());
    let reachable = address
        .parse()
        .ok()
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok());
    if !reachable {
        if std::env::var("CI").as_deref() == Ok("true") {
            return Err(format!("PostgreSQL is required in CI and is not reachable at {address}"));
        }
        eprintln!("xtask: PostgreSQL is not reachable at {address}: its tests are SKIPPED");
    }
    Ok(reachable)
}

/// Where the tests' PostgreSQL listens (trust auth, database `test`).
const POSTGRES_ADDRESS: &str = "127.0.0.1:5432";

/// The server's HTTP suite again, every test on PostgreSQL (a schema each): the same tests, not a
/// copy. Without a PostgreSQL (outside CI) its tests are counted as skipped.
fn run_suite_on_postgres(postgres_up: bool) -> Result<Tally, String> {
    if !postgres_up {
        let skipped = count_tests(&["-p", "token-server", "--test=suite"], &[])?;
        return Ok(Tally { skipped, ok: true, ..Tally::default() });
    }
    let args = ["test", "-p", "token-server", "--all-features", "--test", "suite"];
    eprintln!("xtask: == tests on PostgreSQL: TOKEN_SERVER_TEST_BACKEND=postgres cargo {}", args.join(" "));
    cargo_test_tally(
        Command::new("cargo")
            .args(args)
            .env("TOKEN_SERVER_TEST_BACKEND", "postgres")
            .current_dir(project_root()),
    )
}

/// Scenarios of the contract's stateful run: enough that every link of the document is followed to
/// a 2xx answer in every run (fewer left one of seven unreached now and then).
const STATEFUL_SCENARIOS: &str = "2000";

/// Cases per operation in the contract's fuzzing phase within `cargo xtask test`.
const CONTRACT_SHORT_MAX_EXAMPLES: u32 = 50;

/// The ignored tests of the suite whose names start with `filter`, alone (they measure latency or
/// memory, so nothing else may run beside them), one at a time, with `env`.
fn run_alone(what: &str, filter: &str, env: &[(&str, &str)]) -> Result<Tally, String> {
    let args = [
        "test",
        "-p",
        "token-server",
        "--all-features",
        "--test",
        "suite",
        filter,
        "--",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
    ];
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    eprintln!("xtask: == {what}, alone: {}cargo {}", shown.concat(), args.join(" "));
    let mut command = Command::new("cargo");
    command.args(args).current_dir(project_root()).envs(env.iter().copied());
    cargo_test_tally(&mut command)
}

/// The fairness measurements (`crates/token-server/tests/suite/fairness.rs`, the ignored ones): one
/// party's load against another's latency, on SQLite or on PostgreSQL.
fn run_fairness(on_postgres: bool) -> Result<Tally, String> {
    let backend = if on_postgres { "postgres" } else { "sqlite" };
    run_alone("fairness", "fairness::", &[("TOKEN_SERVER_TEST_BACKEND", backend)])
}

/// The hostile-client soak (`crates/token-server/tests/suite/soak.rs`). `SOAK_SECS` sets each
/// phase's length (default 20).
fn run_soak() -> Result<Tally, String> {
    let secs = std::env::var("SOAK_SECS").unwrap_or_else(|_| "20".to_owned());
    run_alone("hostile-client soak", "soak::", &[("SOAK_SECS", &secs)])
}

/// The Node suites against the real binary (Node's test runner), each installed with `npm ci` when
/// missing: the official TypeScript SDK of the token-management API, unchanged
/// (`xtask/compat/authlete-sdk`), and Token Status Lists decoded by `@sd-jwt/jwt-status-list` and
/// verified by `jose` (`xtask/compat/status-list`).
const NODE_SUITES: &[(&str, &str)] = &[
    ("xtask/compat/authlete-sdk", "@authlete/typescript-sdk"),
    ("xtask/compat/status-list", "@sd-jwt/jwt-status-list"),
];

fn run_sdk_suite(postgres_up: bool) -> Result<Tally, String> {
    for (suite, marker) in NODE_SUITES {
        if !project_root().join(suite).join("node_modules").join(marker).exists() {
            run_step("Node suite install", "npm", &["ci", "--prefix", suite, "--no-audit", "--no-fund"])?;
        }
    }
    let bin = server_binary()?;
    let mut tally = Tally { ok: true, ..Tally::default() };
    let psql = |sql: &str| {
        capture("psql", &["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql]).map(|_| ())
    };
    // On SQLite, then on a fresh PostgreSQL schema each when one is reachable.
    let stores: &[&str] = if postgres_up { &["SQLite", "PostgreSQL"] } else { &["SQLite"] };
    for (n, (store, suite)) in
        stores.iter().flat_map(|store| NODE_SUITES.iter().map(move |(suite, _)| (*store, *suite))).enumerate()
    {
        eprintln!("xtask: == {suite} on {store}: node --test");
        let mut command = Command::new("node");
        command
            .args(["--test", "test/"])
            .env("TOKEN_SERVER_TEST_BIN", &bin)
            .current_dir(project_root().join(suite));
        let schema = format!("sdk_{}_{n}", std::process::id());
        if store == "PostgreSQL" {
            psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))?;
            command.env(
                "TOKEN_SERVER_TEST_DATABASE",
                format!("postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{schema}"),
            );
        }
        let ok = stream(&mut command, |line| {
            if let Some(n) = line.strip_prefix("# pass ") {
                tally.passed += n.trim().parse().unwrap_or(0);
            } else if let Some(n) = line.strip_prefix("# fail ") {
                tally.failed += n.trim().parse().unwrap_or(0);
            }
        })?;
        tally.ok &= ok;
        if store == "PostgreSQL" {
            let _ = psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
    if !postgres_up {
        // The same tests would have run on PostgreSQL.
        tally.skipped = tally.passed + tally.failed;
    }
    Ok(tally)
}

/// The debug server binary that `cargo test` built (its integration tests run it); built with the
/// same flags only if it is missing, so no dependency is rebuilt under other features.
fn server_binary() -> Result<PathBuf, String> {
    let bin = target_directory()?.join("debug/token-server");
    if !bin.exists() {
        run_step(
            "build the server binary",
            "cargo",
            &["build", "--quiet", "--workspace", "--all-features", "--bins"],
        )?;
    }
    Ok(bin)
}

/// A server process that is killed when dropped (also when a step fails).
struct RunningServer(Child);

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The DPoP tests make their proofs with PyJWT (an independent JOSE implementation, not our
/// signer): installed with pip when missing.
fn ensure_independent_jose() -> Result<(), String> {
    let installed = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run_step("install PyJWT", "python3", &["-m", "pip", "install", "--quiet", "pyjwt[crypto]"])?;
    }
    Ok(())
}

/// The API contract: schemathesis (installed with pip when missing) drives a started server on a
/// fresh store with every check against `docs/openapi.json`; its settings and the few narrow
/// exceptions, each with its reason, are in `xtask/contract/schemathesis.toml`.
pub fn run_contract(max_examples: Option<u32>) -> Result<Tally, String> {
    let installed = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !installed {
        run_step("install schemathesis", "python3", &["-m", "pip", "install", "--quiet", "schemathesis"])?;
    }
    let bin = server_binary()?;
    let dir = std::env::temp_dir().join(format!("token-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let database = dir.join("contract.sqlite");
    let admin = |args: &[&str]| -> Result<serde_json::Value, String> {
        let out = Command::new(&bin)
            .arg("--database")
            .arg(&database)
            .args(["--json", "admin"])
            .args(args)
            .output()
            .map_err(|e| format!("token-server admin: {e}"))?;
        if !out.status.success() {
            return Err(format!("admin {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("admin {}: {e}", args.join(" ")))
    };
    let org = admin(&["org", "create", "--name", "contract"])?["id"].to_string();
    let service = admin(&["service", "create", "--org", &org, "--name", "contract"])?["id"].to_string();
    // The document's example client ID, so that the examples phase's token/create succeeds.
    admin(&["client", "create", "--service", &service, "--id", "26888344961664", "--alias", "web"])?;
    // Everything runs with the organization's token (every route takes it). The service routes
    // that reconfigure or delete a service, and the key routes, act on services of their own
    // (schemathesis.toml): the token flows must keep their service as provisioned.
    let scratch =
        admin(&["service", "create", "--org", &org, "--name", "contract-scratch"])?["id"].to_string();
    let doomed = admin(&["service", "create", "--org", &org, "--name", "contract-doomed"])?["id"].to_string();
    let credential = admin(&["credential", "create", "--org", &org, "--label", "contract"])?;
    let secret = credential["secret"].as_str().ok_or("admin credential create printed no secret")?.to_owned();

    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(&bin)
        .arg("--database")
        .arg(&database)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        // Schemathesis sends thousands of schema-valid key-making requests a minute: the bounds
        // (429, documented) would leave the logic behind them untested.
        .env("TOKEN_SERVER_KEY_GENERATIONS_PER_SERVICE", "1000000")
        .env("TOKEN_SERVER_KEY_GENERATIONS_PER_ORGANIZATION", "1000000")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = RunningServer(child);
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().ok_or("the server exited before listening")?.map_err(|e| e.to_string())?;
        if let Some(rest) = line.strip_prefix("token-server listening on ") {
            break rest.split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    let root = project_root();
    let max_examples = std::env::var("CONTRACT_MAX_EXAMPLES").ok().or(max_examples.map(|n| n.to_string()));
    let reports = dir.join("reports");
    let reports_arg = reports.to_string_lossy().into_owned();
    // Two runs on the same server: the per-operation phases (their cases per operation set by
    // `max_examples`), then the stateful phase alone with the configuration's own number of
    // scenarios, so that the link check below never depends on a short run's luck.
    let mut statuses = Vec::new();
    // The stateful phase's scenarios are random walks over the links (from a fixed seed); one
    // walk can spend its token before a link reaches it. Up to three walks (seeds one apart), their
    // reports counted together: every link must reach a 2xx in one of them.
    let seeds = ["20261124", "20261125", "20261126"];
    let mut runs: Vec<(&str, Option<&str>)> = vec![("examples,coverage,fuzzing", None)];
    runs.extend(seeds.iter().map(|seed| ("stateful", Some(*seed))));
    for (phases, seed) in runs {
        if seed.is_some_and(|s| s != seeds[0])
            && stateful_links_answered(&root.join("docs/openapi.json"), &reports).is_ok()
        {
            break;
        }
        let mut args = vec![
            "--config-file",
            "xtask/contract/schemathesis.toml",
            "run",
            "docs/openapi.json",
            "--url",
            &base,
            "--checks",
            "all",
            "--phases",
            phases,
            "--workers",
            "2",
            "--no-color",
        ];
        if phases == "stateful" {
            // Positive data only, without the negative-data check (schemathesis.toml says why),
            // on the command line: `--mode all` and `--checks all` outrank the file's phase
            // settings.
            args.extend([
                "--max-examples",
                STATEFUL_SCENARIOS,
                "--mode",
                "positive",
                "--exclude-checks",
                "negative_data_rejection",
                // A scenario that deletes or reshapes its service (the other phases cover both)
                // leaves the links after it nothing to reach: a token of a deleted service, a
                // scope the service no longer has.
                "--exclude-operation-id",
                "service_delete_api",
                "--exclude-operation-id",
                "service_update_api",
                "--report",
                "ndjson",
                "--report-dir",
                &reports_arg,
            ]);
            if let Some(seed) = seed {
                args.extend(["--seed", seed]);
            }
        } else if let Some(n) = &max_examples {
            args.extend(["--max-examples", n]);
        }
        eprintln!("xtask: == API contract: schemathesis {}", args.join(" "));
        let status = Command::new("schemathesis")
            .args(args)
            .env("SERVICE_ID", &service)
            .env("SCRATCH_SERVICE_ID", &scratch)
            .env("DOOMED_SERVICE_ID", &doomed)
            .env("ORGANIZATION_TOKEN", &secret)
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run schemathesis: {e}"))?;
        statuses.push(status.success());
    }
    drop(server);
    let links = stateful_links_answered(&root.join("docs/openapi.json"), &reports);
    match &links {
        Ok(counts) => eprintln!("xtask: stateful phase, 2xx answers per linked operation: {counts:?}"),
        Err(e) => eprintln!("xtask: {e}"),
    }
    let ok = statuses.iter().all(|ok| *ok) && links.is_ok();
    if ok {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("xtask: the server's log is in {}", dir.join("server.log").display());
    }
    Ok(Tally { passed: u64::from(ok), failed: u64::from(!ok), ok, ..Tally::default() })
}

/// Every operation a link of the document leads to must have answered 2xx at least once in the
/// stateful phase when called through a link (schemathesis's `--report ndjson` event stream: the
/// stateful scenarios' cases whose link values were applied, and their answers). Returns the count
/// of such answers per linked operation.
fn stateful_links_answered(
    document: &std::path::Path,
    reports: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, u64>, String> {
    use serde_json::Value;
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(document).map_err(|e| format!("{}: {e}", document.display()))?,
    )
    .map_err(|e| e.to_string())?;
    // operationId → "METHOD /path", and the targets of every link.
    let mut operations = std::collections::BTreeMap::new();
    let mut targets = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if let Some(id) = operation["operationId"].as_str() {
                operations.insert(id.to_owned(), format!("{} {path}", method.to_uppercase()));
            }
            for response in operation["responses"].as_object().into_iter().flatten().map(|(_, r)| r) {
                for link in response["links"].as_object().into_iter().flatten().map(|(_, l)| l) {
                    if let Some(target) = link["operationId"].as_str() {
                        targets.insert(target.to_owned());
                    }
                }
            }
        }
    }
    if targets.is_empty() {
        return Err("docs/openapi.json has no links for the stateful phase to follow".into());
    }
    let mut answered: std::collections::BTreeMap<String, u64> =
        targets.iter().filter_map(|t| operations.get(t)).map(|op| (op.clone(), 0)).collect();
    let entries = std::fs::read_dir(reports).map_err(|e| format!("{}: {e}", reports.display()))?;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
            let finished = &event["ScenarioFinished"];
            if finished["phase"] != "stateful" {
                continue;
            }
            let recorder = &finished["recorder"];
            for (id, case) in recorder["cases"].as_object().into_iter().flatten() {
                if case["is_transition_applied"] != true {
                    continue;
                }
                let operation = format!(
                    "{} {}",
                    case["value"]["method"].as_str().unwrap_or_default(),
                    case["value"]["path"].as_str().unwrap_or_default()
                );
                let status = recorder["interactions"][id]["response"]["status_code"].as_u64().unwrap_or(0);
                if let Some(count) = answered.get_mut(&operation)
                    && (200..300).contains(&status)
                {
                    *count += 1;
                }
            }
        }
    }
    let missing: Vec<&String> = answered.iter().filter(|(_, n)| **n == 0).map(|(op, _)| op).collect();
    if missing.is_empty() {
        Ok(answered)
    } else {
        Err(format!("the stateful phase got no 2xx through a link from: {missing:?}"))
    }
}

/// Runs a `cargo test` command, echoing it and adding up every `test result:` line.
fn cargo_test_tally(command: &mut Command) -> Result<Tally, String> {
    let mut tally = Tally::default();
    tally.ok = stream(command, |line| {
        if let Some(rest) = line.strip_prefix("test result: ") {
            tally.passed += count(rest, " passed");
            tally.failed += count(rest, " failed");
            tally.ignored += count(rest, " ignored");
        }
    })?;
    Ok(tally)
}

/// Runs `command`, echoing its stdout line by line to `on_line`; true when it exits with success.
fn stream(command: &mut Command, mut on_line: impl FnMut(&str)) -> Result<bool, String> {
    let mut child =
        command.stdout(Stdio::piped()).spawn().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            on_line(&line);
        }
    }
    Ok(child.wait().map_err(|e| e.to_string())?.success())
}

/// In `ok. 12 passed; 0 failed; …` finds the number before `label`.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find(|part| part.trim_end().ends_with(label.trim()))
        .and_then(|part| part.split_whitespace().rev().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_the_summary_line() {
        let line = "ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(count(line, " passed"), 12);
        assert_eq!(count(line, " failed"), 1);
        assert_eq!(count(line, " ignored"), 3);
    }
}
