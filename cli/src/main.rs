//! The innohot command line: argument parsing, progress display, messages,
//! signals, exit codes (0 success, 1 failure or bad input). This file reads argv (and hides the
//! password from `ps`), parses it, and hands the command to its module: the operator commands
//! in [`commands`], the developer ones (the simulator) in [`dev`].

mod args;
mod argv;
mod commands;
mod dev;
mod display;
mod export;
mod failure;
mod filter;
mod grants;
mod innobackupex;
mod optfile;
mod options;
mod replica;
mod report;
mod streaming;
mod target;

use args::{Command, UsageError};
use commands::common::{getopt_failure, usage_error};
use innohot::restore::copyback::Mode;
use std::process::ExitCode;

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // Now that the arguments are read: the password out of `ps`.
    argv::hide_passwords();
    let (cli, prepared) = match args::parse(&raw) {
        Ok(p) => p,
        Err(UsageError::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e @ (UsageError::Bad(_) | UsageError::Unknown { .. })) => {
            let command = args::prepare(&raw).ok().and_then(|p| p.args.first().cloned()).unwrap_or_default();
            let command = if args::is_command(&command) { command.as_str() } else { "" };
            return match e {
                UsageError::Unknown { msg, valued } => getopt_failure(command, &msg, args::getopt_code(valued)),
                UsageError::Bad(msg) | UsageError::Help(msg) => usage_error(command, &msg),
            };
        }
    };
    if !prepared.server_args.is_empty() && !matches!(cli.command, Command::Backup(_)) {
        eprintln!(
            "innohot: ignoring the server options after --mysqld-args ({}): only a backup reads any of them \
             (socket, port, datadir)",
            innohot::meta::mask_secrets(&prepared.server_args)
        );
    }
    match cli.command {
        Command::Backup(cmd) => commands::backup::run(&cmd, &prepared, &raw),
        Command::Prepare(p) => commands::prepare::run(&p),
        Command::CopyBack(r) => commands::restore::run(&r, Mode::Copy),
        Command::MoveBack(r) => commands::restore::run(&r, Mode::Move),
        Command::Verify(v) => commands::verify::run(&v.target_dir),
        Command::Extract(x) => commands::extract::run(&x),
        Command::Mysql57LogGroup(g) => commands::log_group::run(&g),
        Command::Demo(d) => dev::demo::run(d.dir),
        Command::Sim(s) => dev::sim::run(s),
    }
}
