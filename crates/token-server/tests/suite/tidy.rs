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

/// docs/configuration.md names every configuration key and every environment variable the
/// configuration reads, so the reference cannot fall behind the code.
#[test]
fn the_configuration_reference_lists_every_key_and_variable() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
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
