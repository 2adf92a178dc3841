//! `token-server backup PATH`: a consistent copy of the store, online (the server may keep
//! running), in a new file only its owner reads.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::CliError;
use crate::Database;
use crate::config::Config;

/// SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump --format=custom` (restored with `pg_restore`).
pub fn run(config: &Config, target: &Path) -> Result<(), CliError> {
    let failed = |reason: String| CliError::failed("token-server backup", reason);
    match config.backend() {
        database @ Database::Sqlite(path) => {
            database.copy_file(target).map_err(|e| failed(e.to_string()))?;
            println!("{}: backed up to {} (mode 0600)", path.display(), target.display());
        }
        Database::Postgres(url) => {
            pg_dump(url, target).map_err(failed)?;
            println!(
                "{}: backed up to {} (pg_dump --format=custom, mode 0600); restore with pg_restore \
                 into an empty database (docs/operations.md)",
                config.database_redacted(),
                target.display()
            );
        }
    }
    Ok(())
}

/// Backs a PostgreSQL store up with PostgreSQL's own tool (consistent and online, restorable with
/// `pg_restore`), into a new file only its owner reads. The password never reaches a command line
/// (where every user sees it): it is taken out of the URL and given to `pg_dump` as `PGPASSWORD`.
fn pg_dump(url: &str, target: &Path) -> Result<(), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("the database URL is not valid: {e}"))?;
    let mut password = parsed.password().map(percent_decoded);
    let _ = parsed.set_password(None);
    // The other parameters go on exactly as written: re-encoding would turn `%20` into `+`, which
    // libpq does not decode.
    let mut kept = Vec::new();
    for piece in parsed.query().unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(piece.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        match decoded.first() {
            Some((name, value)) if name == "password" => password = Some(value.clone()),
            _ => kept.push(piece.to_owned()),
        }
    }
    let kept = kept.join("&");
    parsed.set_query(if kept.is_empty() { None } else { Some(&kept) });
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let mut dump = std::process::Command::new("pg_dump");
    dump.arg("--format=custom")
        .arg("--no-password")
        .arg("--file")
        .arg(target)
        .arg("--dbname")
        .arg(parsed.as_str());
    if let Some(password) = password {
        dump.env("PGPASSWORD", password);
    }
    let failed = |why: String| {
        let _ = std::fs::remove_file(target);
        Err(why)
    };
    match dump.output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => failed(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => failed(
            "pg_dump was not found: install PostgreSQL's client tools (the server's major version or newer)"
                .into(),
        ),
        Err(e) => failed(format!("cannot run pg_dump: {e}")),
    }
}

/// A URL's user-info part as written before percent-encoding (`%40` → `@`; `+` stays `+`).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
