//! `token-server completions SHELL` and `token-server man`: generated from the command-line
//! definition itself, needing no configuration and no store.

use super::{Cli, CliError};

/// `token-server completions SHELL`: the script, written whole to standard output (a reader that
/// closes early, `| head`, is not an error).
pub fn print_completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut script = Vec::new();
    completions(shell, &mut script);
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
    Ok(())
}

/// `token-server man`: the manual page (roff) on standard output.
pub fn print_man() -> Result<(), CliError> {
    man(&mut std::io::stdout()).map_err(|e| CliError::failed("token-server man", e))
}

/// Writes the completion script for `shell`, generated from the command-line definition.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "token-server", out);
}

/// Writes the manual page (roff), generated from the command-line definition, with the
/// commands (each one's `--help` says the rest: no page is named that is not generated), the
/// environment and the files.
pub fn man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let roff = |text: &str| text.replace('\\', "\\e").replace('-', "\\-");
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        writeln!(out, ".TP\n\\fBtoken\\-server {}\\fR", roff(sub.get_name()))?;
        writeln!(out, "{}", roff(&sub.get_about().map(|a| a.to_string()).unwrap_or_default()))?;
    }
    writeln!(out, ".PP\n`token\\-server COMMAND \\-\\-help` describes each command and its options.")?;
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(
        out,
        "Every setting has a variable (they override the configuration file; the command line overrides \
         them). \\fBtoken\\-server config check\\fR refuses a TOKEN_SERVER_* variable it does not read. \
         \\fBRUST_LOG\\fR sets the log filter (default info)."
    )?;
    for name in crate::config::ENV_VARS {
        writeln!(out, ".TP\n\\fB{}\\fR", roff(name))?;
    }
    writeln!(out, ".SH FILES")?;
    for (path, what) in [
        (
            "token-server.sqlite",
            "the default store, in the working directory (--database, TOKEN_SERVER_DATABASE)",
        ),
        (
            "DATABASE.credentials",
            "the first start's credentials, mode 0600 (./token-server.credentials with PostgreSQL): read them, keep them in a secret store, delete the file",
        ),
        ("/etc/token-server/env", "the TOKEN_SERVER_* settings of the shipped systemd unit"),
        ("/var/lib/token-server/", "the shipped unit's state directory (its store)"),
    ] {
        writeln!(out, ".TP\n\\fI{}\\fR\n{}", roff(path), roff(what))?;
    }
    page.render_version_section(out)
}
