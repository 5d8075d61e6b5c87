//! What happens before clap: the xtrabackup/mariabackup spelling (`innohot --backup
//! --target-dir=X`), the `loose-` prefix, `_` for `-` in option names, and the password,
//! which is taken out of the arguments so no parser, error or help text ever holds it.
//! Then clap, and its errors as one sentence.

use super::{Cli, Command, UsageError};
use clap::{CommandFactory, Parser};

/// The arguments after preprocessing, ready for clap.
#[derive(Debug, Default)]
pub struct Prepared {
    pub args: Vec<String>,
    /// `--password=VALUE` from the command line (taken out of `args`).
    pub password: Option<String>,
    /// A bare `--password` or `-p`: ask on the terminal.
    pub ask_password: bool,
    /// `--loose-X` options innohot does not know, dropped (each gets a warning).
    pub loose_ignored: Vec<String>,
    /// The words after `--mysqld-args`: the server's options, as mariabackup passes them to its
    /// embedded server (see `options::server_args`).
    pub server_args: Vec<String>,
    /// `--innobackupex`: innobackupex's spelling (messages name `--apply-log` for `--prepare`).
    pub innobackupex: bool,
}

/// The commands the xtrabackup spelling names with an option (`--backup`, ...), as mariabackup
/// does; their options are also taken in its spellings (`loose-`, `_`, the password's forms).
pub const XTRABACKUP_MODES: [&str; 4] = ["backup", "prepare", "copy-back", "move-back"];

pub const PASSWORD_HOW: &str = "give the password as --password=VALUE, in INNOHOT_PASSWORD, or as password= in the \
                            [client] group of --defaults-file (the latter two keep it out of the process list)";

/// Turns `args` (without the program name) into what clap parses. Never puts
/// a password (or the word after a bare `--password`) into an error.
pub fn prepare(args: &[String]) -> Result<Prepared, UsageError> {
    // mariabackup's `--mysqld-args`: what follows is the server's, not the tool's.
    let (args, server_args) = match args.iter().position(|a| long_name(a).as_deref() == Some("mysqld-args")) {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    // my_getopt's `-?` is `--help`.
    let mut args: Vec<String> = args.iter().map(|a| if a == "-?" { "--help".to_string() } else { a.clone() }).collect();
    let extracting = args.first().is_some_and(|a| a == "extract");
    if !extracting && args.iter().any(|a| long_name(a).as_deref() == Some("decompress")) {
        return Err(UsageError::Bad(DECOMPRESS_REFUSED.into()));
    }
    let before = args.len();
    args.retain(|a| long_name(a).as_deref() != Some("innobackupex"));
    let innobackupex = args.len() != before;
    if innobackupex {
        args = crate::innobackupex::rewrite(&args, crate::commands::common::now_unix())?;
    }
    let mut out = prepare_words(args)?;
    out.server_args = server_args;
    out.innobackupex = innobackupex;
    Ok(out)
}

/// mariabackup's `--decompress` undoes its `--compress` (qpress files), which innohot does not make.
const DECOMPRESS_REFUSED: &str = "--decompress: innohot does not decompress mariabackup's --compress (.qp files): \
                                  decompress the backup with mariabackup --decompress (it needs qpress), then use \
                                  innohot on the result; innohot's own --compress=zstd stream is decompressed by \
                                  innohot extract --decompress";

/// A long option's name (`-` for `_`, without `loose-` or a value): `--Loose_No_Lock=1` is `no-lock`.
pub fn long_name(arg: &str) -> Option<String> {
    let name = arg.strip_prefix("--")?.split('=').next().unwrap_or_default().replace('_', "-");
    Some(name.strip_prefix("loose-").map(str::to_string).unwrap_or(name))
}

/// Whether `--name` of `command` takes the next word as its value (`--user NAME`); a password
/// option does too (`--password VALUE`, as mariabackup reads it).
pub fn takes_separate_value(command: &str, name: &str) -> bool {
    if name == "password" || name == "pass" {
        return true;
    }
    let cmd = Cli::command();
    let Some(sub) = cmd.find_subcommand(command) else { return false };
    let takes = sub
        .get_arguments()
        .find(|a| a.get_long() == Some(name))
        .is_some_and(|a| a.get_action().takes_values() && !a.is_require_equals_set());
    takes
}

/// The xtrabackup spelling: the mode is an option (`--backup`, ...), anywhere on the line;
/// it becomes the command, first.
fn mode_first(args: &mut Vec<String>) -> Result<(), UsageError> {
    let first_is_command = args.first().is_some_and(|a| !a.starts_with('-'));
    if !first_is_command {
        let mut modes = Vec::new();
        args.retain(|a| {
            let name = a.strip_prefix("--").map(|n| n.replace('_', "-"));
            match XTRABACKUP_MODES.iter().find(|mode| name.as_deref() == Some(**mode)) {
                Some(mode) => {
                    modes.push(*mode);
                    false
                }
                None => true,
            }
        });
        match modes.as_slice() {
            [] => {}
            [one] => args.insert(0, one.to_string()),
            many => {
                return Err(UsageError::Bad(format!(
                    "give one of --backup, --prepare, --copy-back, --move-back, not {}",
                    many.iter().map(|m| format!("--{m}")).collect::<Vec<_>>().join(" and ")
                )))
            }
        }
    }
    Ok(())
}

fn prepare_words(mut args: Vec<String>) -> Result<Prepared, UsageError> {
    mode_first(&mut args)?;
    let command = args.first().cloned().unwrap_or_default();
    if !XTRABACKUP_MODES.contains(&command.as_str()) {
        return Ok(Prepared { args, ..Prepared::default() });
    }
    let known = known_long_options(&command);
    let mut out = Prepared { args: vec![command.clone()], ..Prepared::default() };
    let mut it = args.into_iter().skip(1).peekable();
    while let Some(arg) = it.next() {
        // A bare --password or -p asks on the terminal, as the mysql clients do. A word right
        // after --password is its value, as mariabackup reads it; after -p it is refused unseen
        // (the clients would take it for a database name, mariabackup for the password).
        let (bare_long, bare_short) = (is_bare_password(&arg), arg == "-p");
        if bare_long || bare_short {
            if it.peek().is_some_and(|next| !next.starts_with('-')) {
                if bare_long {
                    out.password = it.next();
                    continue;
                }
                return Err(UsageError::Bad(format!(
                    "-p takes no separate value (the word after it is not shown, it may be a password): {PASSWORD_HOW}"
                )));
            }
            out.ask_password = true;
            continue;
        }
        if arg == "--" {
            out.args.push(arg);
            out.args.extend(it.by_ref());
            break;
        }
        let Some(long) = arg.strip_prefix("--") else {
            // The MySQL clients' short forms: -pPASSWORD (never a separate word), -uUSER, -u USER.
            if let Some(password) = arg.strip_prefix("-p") {
                out.password = Some(password.to_string());
            } else if let Some(user) = arg.strip_prefix("-u") {
                let user = match user {
                    "" => it.next().ok_or_else(|| UsageError::Bad("-u needs a user name: -u NAME or -uNAME".into()))?,
                    attached => attached.to_string(),
                };
                out.args.push(format!("--user={user}"));
            } else {
                out.args.push(arg);
            }
            continue;
        };
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n.replace('_', "-"), Some(v.to_string())),
            None => (long.replace('_', "-"), None),
        };
        let (name, loose) = match name.strip_prefix("loose-") {
            Some(n) => (n.to_string(), true),
            None => (name, false),
        };
        if let (true, Some(v)) = (name == "password" || name == "pass", &value) {
            out.password = Some(v.clone());
            continue;
        }
        if loose && !known.contains(&name) {
            out.loose_ignored.push(name);
            continue;
        }
        out.args.push(match value {
            Some(v) => format!("--{name}={v}"),
            None => format!("--{name}"),
        });
    }
    Ok(out)
}

fn is_bare_password(arg: &str) -> bool {
    let Some(name) = arg.strip_prefix("--") else { return false };
    let name = name.replace('_', "-");
    let name = name.strip_prefix("loose-").unwrap_or(&name);
    name == "password" || name == "pass"
}

/// Long option names of a subcommand (what `loose-` may refer to).
fn known_long_options(command: &str) -> Vec<String> {
    let cmd = Cli::command();
    cmd.find_subcommand(command)
        .map(|c| {
            let names =
                c.get_arguments().flat_map(|a| a.get_long().into_iter().chain(a.get_all_aliases().unwrap_or_default()));
            names.map(str::to_string).collect()
        })
        .unwrap_or_default()
}

/// Parses a whole command line (without the program name).
pub fn parse(args: &[String]) -> Result<(Cli, Prepared), UsageError> {
    let prepared = prepare(args)?;
    let argv = std::iter::once("innohot".to_string()).chain(prepared.args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(cli) => {
            // A value no setting takes is the command line's mistake, said before any option
            // file is read; one mariabackup gives its own exit code for is left to `resolve`.
            if let Command::Backup(cmd) = &cli.command {
                match crate::options::check_command_line(cmd) {
                    Err(e) if e.getopt.is_none() => return Err(UsageError::Bad(e.msg)),
                    _ => {}
                }
            }
            Ok((cli, prepared))
        }
        Err(e) => Err(match clap_error(e) {
            // clap names the option without its value: whether it had one is in the words.
            UsageError::Unknown { msg, .. } => {
                let name = msg.strip_prefix("unknown option ").and_then(|m| m.split(':').next()).unwrap_or_default();
                let valued = prepared.args.iter().any(|a| a.strip_prefix(name).is_some_and(|v| v.starts_with('=')));
                UsageError::Unknown { msg, valued }
            }
            other => other,
        }),
    }
}

/// clap's error as one sentence: the option, what is wrong, where help is.
pub fn clap_error(e: clap::Error) -> UsageError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    // "--chunk-size <BYTES>" -> "--chunk-size"
    let option = |s: String| s.split([' ', '=']).next().unwrap_or_default().to_string();
    let msg = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => return UsageError::Help(e.render().to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            format!("give a command: {}", super::command_names().join(", "))
        }
        ErrorKind::UnknownArgument => {
            let arg = ctx(ContextKind::InvalidArg);
            let name = arg.split('=').next().unwrap_or_default();
            if arg.starts_with("--") {
                let msg = format!("unknown option {name}: innohot does not implement it (see innohot COMMAND --help)");
                return UsageError::Unknown { msg, valued: arg.contains('=') };
            } else {
                format!("unexpected argument '{arg}' (see innohot --help)")
            }
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let arg = option(ctx(ContextKind::InvalidArg));
            let value = ctx(ContextKind::InvalidValue);
            let source = std::error::Error::source(&e);
            let is_number = source.is_some_and(|s| s.downcast_ref::<std::num::ParseIntError>().is_some());
            match source {
                _ if value.is_empty() => format!("{arg} needs a value"),
                Some(s) if !is_number => format!("{arg} {s}, not '{value}'"),
                _ => format!("{arg} needs a number, not '{value}'"),
            }
        }
        ErrorKind::InvalidSubcommand => {
            format!(
                "unknown command '{}' (commands: {}; see innohot --help)",
                ctx(ContextKind::InvalidSubcommand),
                super::command_names().join(", ")
            )
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = ctx(ContextKind::InvalidArg);
            format!("{missing} is missing: give it (the command cannot run without it)")
        }
        ErrorKind::NoEquals => format!("{} needs =VALUE", option(ctx(ContextKind::InvalidArg))),
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.strip_prefix("error: ").unwrap_or(first).to_string()
        }
    };
    UsageError::Bad(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::getopt_code;

    use crate::commands::common::strings as v;

    #[test]
    fn xtrabackup_spelling_becomes_a_command() {
        let p =
            prepare(&v(&["--defaults-file=/f", "--backup", "--target_dir=/b", "--loose-bogus=1", "--loose-user=u"]))
                .unwrap();
        assert_eq!(p.args, v(&["backup", "--defaults-file=/f", "--target-dir=/b", "--user=u"]));
        assert_eq!(p.loose_ignored, v(&["bogus"]));
        let (cli, _) = parse(&v(&["--prepare", "--target-dir=/b", "--use-memory=1G"])).unwrap();
        assert!(matches!(cli.command, Command::Prepare(ref p) if p.target_dir == std::path::Path::new("/b")));
        let (cli, _) = parse(&v(&["--copy-back", "--target-dir=/b", "--datadir=/d"])).unwrap();
        assert!(matches!(cli.command, Command::CopyBack(_)));
        assert!(prepare(&v(&["--backup", "--prepare"])).unwrap_err().message().contains("give one of"));
    }

    #[test]
    fn one_list_of_commands() {
        let names = crate::args::command_names();
        for name in ["backup", "prepare", "copy-back", "move-back", "verify", "extract", "mysql57-log-group", "sim"] {
            assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        }
        assert!(!crate::args::is_command("help") && !crate::args::is_command("frob"));
        assert!(XTRABACKUP_MODES.iter().all(|m| crate::args::is_command(m)));
        let bad = |a: &[&str]| parse(&v(a)).unwrap_err().message().to_string();
        assert!(bad(&[]).ends_with("mysql57-log-group, demo, sim"), "{}", bad(&[]));
        assert!(bad(&["frob"]).contains("extract, mysql57-log-group"), "{}", bad(&["frob"]));
    }

    #[test]
    fn the_password_never_reaches_clap_or_an_error() {
        let p = prepare(&v(&["backup", "--password=s3cret", "--user=u"])).unwrap();
        assert_eq!(p.password.as_deref(), Some("s3cret"));
        assert!(!p.args.iter().any(|a| a.contains("s3cret")));
        for wrong in [&["backup", "-p", "s3cret"][..], &["backup", "-p", "s3cret", "--user=u"]] {
            let e = parse(&v(wrong)).unwrap_err();
            assert!(!e.message().contains("s3cret"), "{e:?}");
            assert!(e.message().contains("INNOHOT_PASSWORD"), "{e:?}");
        }
    }

    #[test]
    fn short_user_and_password_as_the_clients_take_them() {
        for line in [&["--backup", "-ubackup", "-ps3cret"][..], &["backup", "-u", "backup", "-ps3cret"]] {
            let p = prepare(&v(line)).unwrap();
            assert_eq!(p.password.as_deref(), Some("s3cret"), "{line:?}");
            assert_eq!(p.args, v(&["backup", "--user=backup"]), "{line:?}");
        }
        assert!(prepare(&v(&["backup", "-u"])).unwrap_err().message().contains("-u needs a user name"));
    }

    #[test]
    fn mariabackup_words_before_clap() {
        assert!(matches!(parse(&v(&["-?"])), Err(UsageError::Help(h)) if h.contains("backup")));
        let p = prepare(&v(&["--backup", "--target-dir=/b", "--mysqld-args", "--unknown-option", "--port=1"])).unwrap();
        assert_eq!(p.args, v(&["backup", "--target-dir=/b"]));
        assert_eq!(p.server_args, v(&["--unknown-option", "--port=1"]));
        let e = prepare(&v(&["--decompress", "--target-dir=/b"])).unwrap_err();
        assert!(matches!(&e, UsageError::Bad(m) if m.contains("does not decompress")), "{e:?}");
        let p = prepare(&v(&["--innobackupex", "--apply-log", "--innodb-force-recovery=2", "/b"])).unwrap();
        assert!(p.innobackupex);
        assert_eq!(p.args, v(&["prepare", "--innodb-force-recovery=2", "--target-dir=/b"]));
        assert_eq!(long_name("--loose_no_lock=1").as_deref(), Some("no-lock"));
        assert!(takes_separate_value("backup", "user") && !takes_separate_value("backup", "history"));
        assert!(!takes_separate_value("backup", "no-lock"));
    }

    #[test]
    fn password_as_a_separate_word_as_mariabackup_reads_it() {
        let p = prepare(&v(&["backup", "--user", "backup", "--password", "xyz", "--slave-info"])).unwrap();
        assert_eq!(p.password.as_deref(), Some("xyz"));
        assert_eq!(p.args, v(&["backup", "--user", "backup", "--slave-info"]));
        assert!(!p.ask_password);
    }

    #[test]
    fn a_bare_password_option_asks() {
        for bare in ["--password", "-p", "--loose_password"] {
            let p = prepare(&v(&["backup", bare, "--user=u"])).unwrap();
            assert!(p.ask_password && p.password.is_none(), "{bare}");
            assert_eq!(p.args, v(&["backup", "--user=u"]));
        }
    }

    #[test]
    fn usage_errors_are_one_sentence_and_help_is_help() {
        let bad = |a: &[&str]| match parse(&v(a)) {
            Err(UsageError::Bad(m)) | Err(UsageError::Unknown { msg: m, .. }) => m,
            other => panic!("{other:?}"),
        };
        assert!(bad(&["backup", "--bogus=1"]).starts_with("unknown option --bogus"));
        assert!(matches!(parse(&v(&["--backup", "--bogus=1"])), Err(UsageError::Unknown { valued: true, .. })));
        assert!(matches!(parse(&v(&["--backup", "--bogus"])), Err(UsageError::Unknown { valued: false, .. })));
        assert_eq!((getopt_code(true), getopt_code(false)), (7, 2));
        assert_eq!(bad(&["backup", "--port=x"]), "--port needs a number, not 'x'");
        assert!(bad(&["frob"]).contains("unknown command"));
        assert!(bad(&[]).starts_with("give a command"));
        assert_eq!(bad(&["sim", "--seeds=5..2"]), "--seeds needs A..B with A < B, not '5..2'");
        assert!(matches!(parse(&v(&["backup", "--help"])), Err(UsageError::Help(h)) if h.contains("--target-dir")));
        assert!(matches!(parse(&v(&["--help"])), Err(UsageError::Help(h)) if h.contains("backup")));
    }
}
