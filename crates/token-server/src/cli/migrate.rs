//! `token-server migrate [--status | --finish]`: the store's schema migrations, listed or applied
//! without starting the server (which also applies them at start).

use super::CliError;
use crate::Database;
use crate::config::Config;

/// `migrate --status`: every migration of the backend, applied or pending, with its checksum;
/// applies nothing and creates nothing.
pub fn status(config: &Config, as_json: bool) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed("token-server", format!("cannot start the runtime: {e}")))?;
    // No store yet: said, rather than a list that looks like a store behind on every migration.
    let missing = match config.backend() {
        Database::Sqlite(path) => (!path.exists()).then(|| path.display().to_string()),
        Database::Postgres(_) => None,
    };
    let status = runtime
        .block_on(config.backend().migration_status(config))
        .map_err(|e| CliError::failed("token-server migrate --status", e))?;
    match missing {
        Some(path) if !as_json => println!(
            "{path}: no store here yet; `token-server migrate` (or the first `serve`) creates it with all {} migrations",
            status.len()
        ),
        _ if !as_json && status.iter().all(|m| !m.applied) => println!(
            "{}: no token-server schema in this database yet; `token-server migrate` (or the first \
             `serve`) applies all {} migrations",
            config.database_redacted(),
            status.len()
        ),
        _ if as_json => super::table::print(&serde_json::to_value(status).unwrap_or_default(), true),
        _ => {
            for m in status {
                let state = if m.applied { "applied" } else { "pending" };
                println!("{:04} {:<32} {:<8} {}", m.version, m.name, state, m.checksum);
            }
        }
    }
    Ok(())
}

/// `migrate`: applies the pending migrations (SQLite: on the file, naming them, without a runtime;
/// PostgreSQL: by connecting, under the advisory lock). With `finish`, then finishes the upgrades
/// that wait for every instance to run this version.
pub fn apply(config: Config, finish: bool) -> Result<(), CliError> {
    let database = config.backend();
    if let (false, Database::Sqlite(_)) = (finish, database) {
        let applied = database.migrate_file().map_err(|e| CliError::failed("token-server migrate", e))?;
        if applied.is_empty() {
            println!("{}: the schema is up to date", config.database.display());
        } else {
            println!("{}: applied {}", config.database.display(), applied.join(", "));
        }
        return Ok(());
    }
    super::runtime()?.block_on(async move {
        let database = config.database_redacted();
        if !finish {
            config.backend().connect(&config).await.map_err(|e| super::cannot_open(&config, e))?;
            println!("{database}: the schema is up to date");
            return Ok(());
        }
        let finished = super::app(config)
            .await?
            .maintenance()
            .finish_upgrades()
            .await
            .map_err(|e| CliError::failed("token-server migrate --finish", e))?;
        if finished {
            println!("{database}: upgrades finished: new token values carry their token's ID");
        } else {
            println!("{database}: the schema is up to date and no upgrade waits");
        }
        Ok(())
    })
}
