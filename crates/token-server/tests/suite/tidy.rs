//! Tidy checks of the server's shape (in the spirit of rust-analyzer's tidy tests): the layering
//! that docs/architecture.md promises, checked on the sources so that it cannot silently rot.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of a file without its comments (comments may name what code may not use).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn route_modules_never_touch_the_store_nor_each_other() {
    let routes = src().join("http/routes");
    let modules: Vec<String> = rust_files(&routes)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "mod")
        .collect();
    assert!(modules.len() >= 8, "{modules:?}");
    for path in rust_files(&routes) {
        let code = code(&path);
        let name = path.display();
        for forbidden in ["crate::store", ".store.", "rusqlite", "Store"] {
            assert!(!code.contains(forbidden), "{name} uses `{forbidden}`: route modules call services only");
        }
        for other in &modules {
            for import in [format!("routes::{other}"), format!("super::{other}")] {
                assert!(!code.contains(&import), "{name} imports another route module (`{import}`)");
            }
        }
    }
}

#[test]
fn the_service_layer_knows_no_http_and_the_store_interface_no_backend() {
    for path in rust_files(&src().join("service")) {
        let code = code(&path);
        for forbidden in ["axum", "hyper", "crate::http", "StatusCode", "rusqlite"] {
            assert!(!code.contains(forbidden), "{} uses `{forbidden}`", path.display());
        }
    }
    let interface = code(&src().join("store/mod.rs"));
    for forbidden in ["rusqlite", "sqlx", "tokio_postgres", "spawn_blocking"] {
        assert!(!interface.contains(forbidden), "store/mod.rs names a backend: `{forbidden}`");
    }
    for path in rust_files(&src().join("store")) {
        for upper in ["crate::http", "crate::service"] {
            assert!(!code(&path).contains(upper), "{} reaches up into `{upper}`", path.display());
        }
    }
}

/// Both SQL backends have the same files (one per concern), and what they share names neither
/// driver: a backend's folder holds only its dialect. PostgreSQL's connection plumbing has files of
/// its own (group commit over the pool, connections shared by lookups, TLS) where SQLite's (the
/// writer thread, the reader pool) lives in its `mod.rs`; nothing else may differ.
#[test]
fn both_backends_have_the_same_layout_and_the_shared_sql_no_driver() {
    const POSTGRES_PLUMBING: [&str; 3] = ["group_commit.rs", "shared.rs", "tls.rs"];
    let names = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = rust_files(&src().join(dir))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("store/sqlite");
    assert!(sqlite.len() >= 6, "{sqlite:?}");
    let mut postgres = names("store/postgres");
    for plumbing in POSTGRES_PLUMBING {
        assert!(postgres.iter().any(|name| name == plumbing), "{plumbing} is gone: update this list");
    }
    postgres.retain(|name| !POSTGRES_PLUMBING.contains(&name.as_str()));
    assert_eq!(sqlite, postgres, "store/sqlite and store/postgres differ in their concerns");
    let mut shared = rust_files(&src().join("store/sql"));
    shared.push(src().join("store/sql.rs"));
    for file in shared {
        for driver in ["rusqlite", "tokio_postgres", "deadpool"] {
            assert!(!code(&file).contains(driver), "{} names a driver: `{driver}`", file.display());
        }
    }
}

/// docs/configuration.md names every configuration key and every environment variable the
/// configuration reads, so the reference cannot fall behind the code.
#[test]
fn the_configuration_reference_lists_every_key_and_variable() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Every file of the configuration module: the keys are `Config`'s fields, the variables
    // wherever they are read or listed.
    let mut files = rust_files(&src().join("config"));
    files.sort();
    let source = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<Vec<_>>().join("\n");
    let docs = std::fs::read_to_string(root.join("../../docs/configuration.md")).unwrap();
    let body = source.split("pub struct Config {").nth(1).unwrap().split("\n}").next().unwrap();
    let keys: Vec<&str> = body
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(keys.len() >= 18, "{keys:?}");
    for key in keys {
        assert!(docs.contains(&format!("| `{key}` |")), "docs/configuration.md lacks the key {key}");
    }
    let mut variables = 0;
    for part in source.split('"').filter(|p| p.starts_with("TOKEN_SERVER_") && !p.contains(' ')) {
        variables += 1;
        assert!(docs.contains(part), "docs/configuration.md lacks {part}");
    }
    assert!(variables >= 18, "{variables}");
}

/// docs/operations.md documents every metric family the server exports (the request metrics, the
/// domain counters and the store's), so the list cannot fall behind the code.
#[test]
fn the_operations_guide_documents_every_metric() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("../../docs/operations.md")).unwrap();
    let metrics = token_server::service::metrics::Metrics::new();
    token_server::store::StoreMetrics::new().register_with(|m| metrics.register(m));
    // Families with labels are rendered once they have a series.
    metrics.http_requests.with_label_values(&["/healthz", "GET", "200"]).inc();
    metrics.http_duration.with_label_values(&["/healthz"]).observe(0.001);
    metrics.errors.with_label_values(&["A001201"]).inc();
    metrics.tokens_issued.with_label_values(&["PASSWORD"]).inc();
    let text = metrics.render();
    let families: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    assert!(families.len() >= 15, "{families:?}");
    for family in families {
        assert!(docs.contains(&format!("| `{family}` |")), "docs/operations.md does not document {family}");
    }
}

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every file and directory of the repository, relative to its root, as `/`-joined text (build
/// output, dependencies and VCS data left out).
fn repository_paths(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "target" | ".git" | "node_modules" | ".schemathesis") {
            continue;
        }
        let relative = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.push(format!("{relative}/"));
            repository_paths(&path, base, out);
        } else {
            out.push(relative);
        }
    }
}

/// docs/architecture.md stays true: every module under a crate's `src/` (and xtask's) is named in
/// it, and every path it names in backticks exists (a path may be given from the repository root
/// or as its tail, e.g. `http/serve.rs`; placeholders such as `<group>` or `*`, and build output
/// under `target/`, are not checked).
#[test]
fn the_architecture_document_names_every_module_and_only_paths_that_exist() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let mut missing = Vec::new();
    let sources =
        ["crates/token-core/src", "crates/token-server/src", "crates/token-client/src", "xtask/src"];
    for dir in sources {
        for file in rust_files(&root.join(dir)) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let named = if name == "mod.rs" {
                let folder = file.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
                doc.contains(&format!("{folder}/")) || doc.contains(&format!("`{folder}`"))
            } else {
                let stem = name.trim_end_matches(".rs");
                doc.contains(&name) || doc.contains(&format!("`{stem}`"))
            };
            if !named {
                missing.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "docs/architecture.md does not name these modules: {missing:#?}");

    let mut paths = Vec::new();
    repository_paths(&root, &root, &mut paths);
    let mut dangling = Vec::new();
    for quoted in doc.split('`').skip(1).step_by(2) {
        let candidate = quoted.trim_start_matches("…/");
        let is_path = candidate.contains('/')
            && !candidate.contains(['<', '>', '*', ' ', '{', '…', '='])
            && !candidate.starts_with('/')
            // Build output, written by a command.
            && !candidate.starts_with("target/")
            && (candidate.ends_with('/')
                || [".rs", ".md", ".toml", ".json", ".sql", ".sh", ".lock"]
                    .iter()
                    .any(|e| candidate.ends_with(e)));
        if is_path && !paths.iter().any(|p| p == candidate || p.ends_with(&format!("/{candidate}"))) {
            dangling.push(quoted.to_owned());
        }
    }
    assert!(dangling.is_empty(), "docs/architecture.md names paths that do not exist: {dangling:#?}");
}

/// The `use` items of a file's code, each one whole (`use a::{b, c};` across lines).
fn use_items(code: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let starts_item =
            before.is_empty() || before.ends_with(['\n', ' ', '{', ';']) && !before.ends_with("::");
        let Some(end) = rest[at..].find(';') else { break };
        if starts_item {
            items.push(rest[at + 4..at + end].split_whitespace().collect::<Vec<_>>().join(" "));
        }
        rest = &rest[at + end + 1..];
    }
    items
}

/// One way in: the HTTP layer and the CLI reach the domain only through `service` (a route or a
/// command is decode → one service call → render). Checked on their `use` items and qualified
/// paths: neither imports the store. (The commands open the store they hand to `App` through
/// `Database`, the one choice of backend, re-exported at the crate root.)
#[test]
fn http_and_the_cli_never_import_the_store() {
    let mut files = rust_files(&src().join("http"));
    files.extend(rust_files(&src().join("cli")));
    let mut offenders = Vec::new();
    for file in files {
        let code = code(&file);
        for item in use_items(&code) {
            let target = item
                .trim_start_matches("pub ")
                .trim_start_matches("crate::")
                .trim_start_matches("token_server::");
            if target.starts_with("store") || target.starts_with("{store") || target.contains(", store") {
                offenders.push(format!("{}: use {item}", file.display()));
            }
        }
        if code.contains("crate::store::") || code.contains("token_server::store::") {
            offenders.push(format!("{}: a qualified path into the store", file.display()));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The backend is chosen in one place: `Config::backend` (`store/open.rs`) reads the `database`
/// setting, and outside `store/` no code names a backend's store type: the commands, the server
/// and the crate root's `open_store` / `connect_store` go through `Database`.
#[test]
fn the_backend_is_chosen_in_one_place() {
    let mut offenders = Vec::new();
    for file in rust_files(&src()) {
        let code = code(&file);
        let relative = file.strip_prefix(src()).unwrap().to_string_lossy().into_owned();
        let reads_the_scheme = code.contains("\"postgres://\"") || code.contains("\"postgresql://\"");
        if reads_the_scheme && relative != "store/open.rs" {
            offenders.push(format!("{relative}: tells the backends apart by the database's text"));
        }
        if !relative.starts_with("store/") && (code.contains("SqliteStore") || code.contains("PostgresStore"))
        {
            offenders.push(format!("{relative}: names a backend's store type"));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The conformance suite covers what production runs: every case is listed in
/// `conformance_suite!` (a case left out would never run), the suite runs on SQLite, PostgreSQL
/// and the cached store as `App` composes it, and it is compiled for tests (or the
/// `conformance` feature) only.
#[test]
fn the_conformance_suite_runs_every_case_on_every_composition() {
    let suite: String = rust_files(&src().join("store/conformance"))
        .iter()
        .map(|file| code(file))
        .collect::<Vec<_>>()
        .join("\n");
    let macro_body = suite.split("macro_rules! conformance_suite").nth(1).expect("the macro");
    let cases: Vec<&str> = suite
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub async fn "))
        .filter_map(|l| l.split('(').next())
        .collect();
    assert!(cases.len() >= 40, "{cases:?}");
    for case in &cases {
        assert!(
            [",", ";", ")"].iter().any(|end| macro_body.contains(&format!("{case}{end}"))),
            "conformance case `{case}` is not listed in conformance_suite!, so it never runs"
        );
    }
    for composition in ["store/sqlite/mod.rs", "store/postgres/mod.rs", "store/cached.rs"] {
        assert!(
            code(&src().join(composition)).contains("conformance_suite!("),
            "{composition} does not run the conformance suite"
        );
    }
    let interface = code(&src().join("store/mod.rs"));
    assert!(
        interface.contains("#[cfg(any(test, feature = \"conformance\"))]\npub mod conformance;"),
        "the conformance suite must be compiled for tests or the `conformance` feature only"
    );
}

/// A publishable project: the license the manifests name is in LICENSE, there is a changelog, and
/// every published crate has the metadata crates.io shows (so `cargo package` warns of nothing).
#[test]
fn the_crates_are_publishable() {
    let license = std::fs::read_to_string(root().join("LICENSE")).expect("LICENSE");
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(workspace.contains("license = \"Apache-2.0\""), "the manifests name the LICENSE's license");
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(changelog.contains("## Unreleased"));
    for krate in ["token-core", "token-server", "token-client"] {
        let manifest = std::fs::read_to_string(root().join(format!("crates/{krate}/Cargo.toml"))).unwrap();
        for field in ["description =", "readme =", "keywords =", "categories =", "rust-version", "license"] {
            assert!(manifest.contains(field), "crates/{krate}/Cargo.toml has no {field}");
        }
        // Not on crates.io yet: no link to docs.rs (crates.io links it once published).
        assert!(!manifest.contains("docs.rs"), "crates/{krate}/Cargo.toml links docs.rs");
    }
    for text in ["README.md", "deploy/token-server.service"] {
        let text = std::fs::read_to_string(root().join(text)).unwrap();
        assert!(!text.contains("docs.rs/"), "no link to docs.rs while the crates are not published");
    }
}

/// Releases are told apart: `token-server --version` is the newest dated CHANGELOG entry, and
/// every entry but "Unreleased" carries its date.
#[test]
fn the_version_is_the_newest_dated_changelog_entry() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let changelog = std::fs::read_to_string(root.join("../../CHANGELOG.md")).unwrap();
    let releases: Vec<&str> = changelog.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    assert_eq!(releases.first(), Some(&"Unreleased"), "{releases:?}");
    for release in &releases[1..] {
        let (version, date) = release.split_once(" — ").unwrap_or_else(|| panic!("'{release}' has no date"));
        assert_eq!(version.split('.').count(), 3, "{release}");
        assert!(
            date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
            "'{release}': the date is YYYY-MM-DD"
        );
    }
    let newest = releases.get(1).expect("a release").split(" — ").next().unwrap();
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_token-server")).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("token-server {newest}"));
}

// ------------------------------------------------------------------ architecture invariants
//
// Each test below checks one **Architecture Invariant** of docs/architecture.md on the sources.

/// A file's code before its test module (test code may build what production code may not).
fn production_code(path: &Path) -> String {
    let code = code(path);
    match code.find("#[cfg(test)]") {
        Some(at) => code[..at].to_owned(),
        None => code,
    }
}

/// Production source files of the server, without the conformance suite (test-only: it builds
/// the records it stores).
fn production_files() -> Vec<PathBuf> {
    rust_files(&src()).into_iter().filter(|p| !p.starts_with(src().join("store/conformance"))).collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(src()).unwrap_or(path).display().to_string()
}

/// Issuance is the only place a token record is built: create, exchange and refresh all go
/// through `Issuance::build`, so a token's fields are chosen by one rule (the store's row decoder,
/// `store/sql/rows.rs`, only reads back what was stored).
#[test]
fn token_records_are_built_in_issuance_only() {
    let mut builders = Vec::new();
    for file in production_files() {
        let code = production_code(&file);
        let builds = code.match_indices("TokenRecord {").any(|(at, _)| {
            let before = &code[..at];
            !["pub struct ", "impl ", "for ", "-> "].iter().any(|end| before.ends_with(end))
        });
        if builds {
            builders.push(relative(&file));
        }
    }
    assert_eq!(builders, ["service/issuance/mod.rs", "store/sql/rows.rs"], "where a TokenRecord is built");
}

/// No global mutable state: a `static` holds what never changes (SQL text, the OpenAPI document,
/// the allocator); what changes is a field of the `App`'s components.
#[test]
fn no_static_holds_mutable_state() {
    const MUTABLE: [&str; 6] = ["Mutex", "RwLock", "Atomic", "Cell", "OnceLock", "static mut"];
    let mut offenders = Vec::new();
    for file in production_files() {
        let code = production_code(&file);
        if code.contains("thread_local!") {
            offenders.push(format!("{}: thread_local!", relative(&file)));
        }
        for (at, _) in code.match_indices("static ") {
            let before = &code[..at];
            if !(before.is_empty()
                || before.ends_with('\n')
                || before.ends_with("pub ")
                || before.ends_with(' '))
            {
                continue;
            }
            if before.ends_with("&'") || before.ends_with('\'') {
                continue;
            }
            let declaration = &code[at..code[at..].find('=').map_or(code.len(), |end| at + end)];
            if MUTABLE.iter().any(|m| declaration.contains(m)) {
                offenders.push(format!("{}: {declaration}", relative(&file)));
            }
        }
    }
    assert!(offenders.is_empty(), "global mutable state: {offenders:#?}");
}

/// Every random value is made by `random` (token values, IDs — the store's own included —, secrets,
/// key material, nonces): one place to audit the generator.
#[test]
fn random_values_come_from_one_module() {
    let allowed = ["random.rs"];
    let mut offenders = Vec::new();
    for file in production_files() {
        let code = production_code(&file);
        for generator in ["thread_rng", "OsRng", "rand::", "getrandom", "SystemRandom"] {
            if code.contains(generator) && !allowed.contains(&relative(&file).as_str()) {
                offenders.push(format!("{}: {generator}", relative(&file)));
            }
        }
    }
    assert!(offenders.is_empty(), "random values made elsewhere: {offenders:#?}");
}

/// Tenant isolation in the store: every statement that reads or changes `tokens` names the
/// service (`service_id`, or `TokenFilter::condition`, which always does), so no query can touch
/// another tenant's rows. The exceptions work across services by design and say why.
#[test]
fn every_token_statement_names_its_service() {
    // (file, a phrase of the statement, why it spans services)
    const ACROSS_SERVICES: [(&str, &str, &str); 3] = [
        (
            "store/sql/status_lists.rs",
            "retired_at IS NULL AND next_idx",
            "a list's retirement looks for its own tokens by list",
        ),
        (
            "store/sqlite/maintenance.rs",
            "purge_expired",
            "the janitor purges what ended, by time, in every service",
        ),
        (
            "store/postgres/maintenance.rs",
            "PURGE_BATCH",
            "the janitor purges what ended, by time, in every service",
        ),
    ];
    let mut files = rust_files(&src().join("store/sql"));
    files.push(src().join("store/sql.rs"));
    files.extend(rust_files(&src().join("store/sqlite")));
    files.extend(rust_files(&src().join("store/postgres")));
    let mut offenders = Vec::new();
    for file in files {
        let name = relative(&file);
        let code = production_code(&file);
        // Items are separated by blank lines; a statement is one item.
        for item in code.split("\n\n") {
            let touches =
                ["UPDATE tokens", "DELETE FROM tokens", "FROM tokens"].iter().any(|t| item.contains(t));
            if !touches || item.contains("service_id") || item.contains("{condition}") {
                continue;
            }
            let excused = ACROSS_SERVICES
                .iter()
                .any(|(f, phrase, _)| name.ends_with(f) && (phrase.is_empty() || item.contains(phrase)));
            if !excused {
                offenders.push(format!("{name}: {}", item.lines().take(4).collect::<Vec<_>>().join(" ")));
            }
        }
    }
    assert!(offenders.is_empty(), "token statements without the service: {offenders:#?}");
    let filter = code(&src().join("store/sql/tokens.rs"));
    let condition = filter.split("fn condition").nth(1).expect("TokenFilter::condition");
    assert!(
        condition.split("\n    }").next().unwrap().contains("service_id"),
        "TokenFilter::condition names the service"
    );
}

/// docs/architecture.md names every storage trait.
#[test]
fn the_architecture_document_names_every_storage_trait() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let interface = code(&src().join("store/mod.rs"));
    let traits: Vec<&str> = interface
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub trait "))
        .map(|l| l.split([':', ' ', '<', '{']).next().unwrap())
        .collect();
    assert!(traits.len() >= 9, "{traits:?}");
    let missing: Vec<_> = traits.iter().filter(|t| !doc.contains(&format!("`{t}`"))).collect();
    assert!(missing.is_empty(), "docs/architecture.md does not name these storage traits: {missing:?}");
}

/// The HTTP layer and the CLI name no store type, not even through a re-export of the service
/// layer: what they handle is the service layer's (or token-core's). One exception: `Database`,
/// the one choice of backend, with which the commands — the composition root — open the store
/// they hand to `App`.
#[test]
fn http_and_the_cli_name_no_store_type_even_re_exported() {
    let mut store_types = Vec::new();
    for file in rust_files(&src().join("store")) {
        for line in code(&file).lines() {
            let line = line.trim_start();
            for kind in ["pub struct ", "pub enum ", "pub type ", "pub trait "] {
                if let Some(rest) = line.strip_prefix(kind) {
                    store_types.push(rest.split([' ', '<', '(', '{', ';', ':']).next().unwrap().to_owned());
                }
            }
        }
    }
    let mut files = rust_files(&src().join("http"));
    let cli = src().join("cli");
    if cli.is_dir() {
        files.extend(rust_files(&cli));
    } else {
        files.push(src().join("cli.rs"));
    }
    let mut offenders = Vec::new();
    for file in files {
        for item in use_items(&code(&file)) {
            // Only this crate's own items can be the store's.
            if !["crate::", "super::", "token_server::"]
                .iter()
                .any(|p| item.trim_start_matches("pub ").starts_with(p))
            {
                continue;
            }
            let names: Vec<&str> = item.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
            for name in names {
                if name != "Database" && store_types.iter().any(|t| t == name) {
                    offenders.push(format!("{}: use {item} ({name})", relative(&file)));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "store types named by http/ or the CLI: {offenders:#?}");
}
