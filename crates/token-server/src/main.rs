//! `token-server`: run the server (default) or administer the store. See `token-server --help`.
//! This file parses the command line and hands each command to its module under `cli/`.

use std::process::ExitCode;

use clap::Parser;
use token_server::cli::{self, Cli, CliError, Command, ConfigCmd};

/// Every request allocates and frees small buffers on whichever worker thread runs it; mimalloc's
/// per-thread free lists avoid glibc's arena locks and consolidation (`docs/performance.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Cli { config, database, json: as_json, command } = Cli::parse();
    let command = command.unwrap_or(Command::Serve { listen: None });
    // `--json` shapes a result; a command that prints none refuses it rather than ignore it.
    if as_json && !command.prints_results() {
        return cli::exit_code(Err(CliError::JsonWithoutResults));
    }
    // Generated from the command line itself: no configuration or store needed.
    match command {
        Command::Completions { shell } => return cli::exit_code(cli::manual::print_completions(shell)),
        Command::Man => return cli::exit_code(cli::manual::print_man()),
        _ => {}
    }
    let (config, telemetry) = match cli::configure(config.as_deref()) {
        Ok(configured) => configured,
        Err(e) => return cli::exit_code(Err(e)),
    };
    let outcome = cli::with_database(config, database).and_then(|config| match command {
        Command::Config(ConfigCmd::Check) => cli::check::run(&config),
        Command::Backup { path } => cli::backup::run(&config, &path),
        Command::Migrate { status: true, .. } => cli::migrate::status(&config, as_json),
        Command::Migrate { finish, .. } => cli::migrate::apply(config, finish),
        Command::Admin(command) => cli::admin::run(config, command, as_json),
        Command::Token(command) => cli::token::run(config, command, as_json),
        Command::Events(command) => cli::events::run(config, command, as_json),
        Command::Janitor { retention_secs } => cli::janitor::run(config, retention_secs, as_json),
        Command::Serve { listen } => cli::serve::run(config, listen),
        // Answered above.
        Command::Completions { .. } | Command::Man => Ok(()),
    });
    // Said before trace export shuts down (which may say something itself).
    let code = cli::exit_code(outcome);
    telemetry.shutdown();
    code
}
