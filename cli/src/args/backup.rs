//! `innohot backup`'s arguments as clap sees them, built from the one declaration of
//! each option in `options::table` (names, values, help), and read back as the options
//! given, for `options::resolve` to apply over the option files'.

use crate::options::table::{self, Kind, OptionSpec};
use clap::{Arg, ArgAction, ArgMatches};

const AFTER_HELP: &str = "\
Precedence: command line, then INNOHOT_PASSWORD (password only), then --defaults-extra-file,
then --defaults-file. Option files are read only when named. In an option file an option
innohot does not know is an error unless written loose-NAME (then ignored with a warning);
[mysqld] options other than socket and port are the server's and ignored.

Exit codes: 0 completed OK, 1 the backup failed or was interrupted (the target then holds
innohot_backup_failed naming why, and no xtrabackup_checkpoints; a refusal for the user's privileges
leaves it empty; a stream then ends without its manifest); bad input (options) exits 1 too.";

/// `innohot backup` (also `innohot --backup`). Options may also come from
/// option files: groups [client], [xtrabackup], [mariabackup], [innohot] (and
/// the same with --defaults-group-suffix), and socket/port from [mysqld].
#[derive(Debug, Default, Clone)]
pub struct BackupCmd {
    /// The options given, in the table's order (each option's values in the order given).
    pub given: Vec<Given>,
}

/// One value (or bare use) of an option on the command line.
#[derive(Debug, Clone)]
pub struct Given {
    pub spec: &'static OptionSpec,
    pub value: Option<String>,
}

impl BackupCmd {
    /// The last value given for the option `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.given.iter().rev().find(|g| g.spec.name == name).and_then(|g| g.value.as_deref())
    }
}

/// Clap's arguments for one option: a switch's off forms are an argument of their own.
fn args(spec: &'static OptionSpec) -> Vec<Arg> {
    match spec.kind {
        Kind::Switch(n) => {
            let off = Arg::new(n.skip).long(n.skip).alias(n.disable).action(ArgAction::SetTrue).hide(true);
            vec![arg(spec).alias(n.enable), off]
        }
        _ => vec![arg(spec)],
    }
}

fn arg(spec: &'static OptionSpec) -> Arg {
    let arg = Arg::new(spec.name).long(spec.name).help(spec.help).hide(spec.hidden).conflicts_with_all(spec.conflicts);
    let arg = arg.aliases(spec.aliases.iter().copied());
    match spec.kind {
        Kind::Flag | Kind::Switch(_) => arg.action(ArgAction::SetTrue),
        Kind::Value(name) => arg.action(ArgAction::Set).value_name(name),
        Kind::OptionalValue(name) => arg.action(ArgAction::Set).value_name(name).num_args(0..=1).require_equals(true),
        Kind::Many(name) => arg.action(ArgAction::Append).value_name(name),
    }
}

impl clap::Args for BackupCmd {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.args(table::all().flat_map(args)).after_help(AFTER_HELP)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for BackupCmd {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for spec in table::all() {
            if let Kind::Switch(n) = spec.kind {
                if m.get_flag(n.skip) {
                    given.push(Given { spec, value: Some("0".into()) });
                }
            }
            match spec.kind {
                Kind::Flag | Kind::Switch(_) if m.get_flag(spec.name) => given.push(Given { spec, value: None }),
                Kind::Flag => {}
                Kind::Switch(_) => {}
                Kind::OptionalValue(_) if m.contains_id(spec.name) => {
                    given.push(Given { spec, value: m.get_one::<String>(spec.name).cloned() })
                }
                _ => {
                    let values = m.get_many::<String>(spec.name).into_iter().flatten();
                    given.extend(values.map(|v| Given { spec, value: Some(v.clone()) }));
                }
            }
        }
        Ok(BackupCmd { given })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}
