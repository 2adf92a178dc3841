//! `token-server janitor`: one janitor run now, flat out (the server also runs it on a schedule).

use super::CliError;
use crate::config::Config;
use crate::service::maintenance::{JANITOR_BATCH, JanitorPacing};

/// Removes what ended more than `retention_secs` ago (default: the configuration's) and prints
/// what was removed.
pub fn run(config: Config, retention_secs: Option<u64>, as_json: bool) -> Result<(), CliError> {
    super::runtime()?.block_on(async move {
        let retention = retention_secs.unwrap_or(config.janitor_retention_secs);
        let app = super::app(config).await?;
        let run = app
            .maintenance()
            .run_janitor(retention.saturating_mul(1000) as i64, JANITOR_BATCH, JanitorPacing::FlatOut)
            .await
            .map_err(|e| CliError::failed("token-server janitor", e))?;
        super::table::print(&serde_json::to_value(run.purged).unwrap_or_default(), as_json);
        Ok(())
    })
}
