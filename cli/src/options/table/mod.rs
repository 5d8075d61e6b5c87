//! Every `innohot backup` option, declared once. The command line (`args::backup` builds
//! clap's arguments from this table), the option files (`[client]`, `[xtrabackup]`,
//! `[mariabackup]`, `[innohot]`, ...) and `--mysqld-args` all reach an option through its
//! entry here, so an option cannot work in one place and silently not in another.
//!
//! Option files are applied first, then the command line, each through the same setter:
//! the later setting wins. The command line's options are applied in this table's order
//! (not the order typed), so where two options set the same thing the later entry wins:
//! `--ssl-mode` over `--ssl`/`--skip-ssl`, `--direct`/`--no-direct` over
//! `--innodb-flush-method`, `--log-copy-interval` over `--log-poll-ms`.
//!
//! Adding an option is one entry in `connection.rs`, `copy.rs` or `run.rs` (plus the
//! setting it feeds); `--help`, option files, `loose-` and `_` spellings follow from it.

use super::{BackupArgs, BadOption};
use std::path::PathBuf;
use std::time::Duration;

/// How an option is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--name` alone on the command line, `name` in an option file (the setter decides
    /// whether a file's `name=VALUE` means anything).
    Flag,
    /// A boolean as my_getopt takes one: a `Flag` that is also off as `skip-name` or
    /// `disable-name` and on as `enable-name` (declare it with `switch!`). On the command
    /// line the on form wins when both are given, whatever their order.
    Switch(Negations),
    /// `--name=VALUE` or `--name VALUE`; once.
    Value(&'static str),
    /// `--name` or `--name=VALUE` (never a separate word).
    OptionalValue(&'static str),
    /// `--name=VALUE`, as often as wanted: each adds to the list.
    Many(&'static str),
}

/// A switch's other spellings, spelt out at compile time by `switch!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negations {
    pub skip: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
}

/// Where an option may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    /// Only on the command line: what names the option files, or what only a run asks for.
    CommandLine,
}

/// One option's value as given: its name as written (for messages) and the value, if any.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub name: &'a str,
    pub raw: Option<&'a str>,
}

impl<'a> Val<'a> {
    pub fn need(&self) -> Result<&'a str, BadOption> {
        self.raw.ok_or_else(|| format!("{} needs a value ({}=...)", self.name, self.name).into())
    }
    fn string(&self) -> Result<String, BadOption> {
        self.need().map(str::to_string)
    }
    fn path(&self) -> Result<PathBuf, BadOption> {
        self.need().map(PathBuf::from)
    }
    pub fn number<T: std::str::FromStr>(&self) -> Result<T, BadOption> {
        super::values::number(self.name, self.need()?)
    }
    fn millis(&self) -> Result<Duration, BadOption> {
        self.number().map(Duration::from_millis)
    }
    /// A switch's value: bare is on; 1/0, ON/OFF, TRUE/FALSE.
    fn on(&self) -> Result<bool, BadOption> {
        crate::optfile::is_on(self.raw).map_err(|e| e.to_string().into())
    }
}

/// Applies one given value of the option to the backup's settings.
pub type Setter = fn(&mut BackupArgs, Val) -> Result<(), BadOption>;

#[derive(Debug)]
pub struct OptionSpec {
    /// The long name, with dashes (`_` is taken for `-` everywhere).
    pub name: &'static str,
    /// Other names for it, in option files and on the command line (hidden in --help).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// The --help line.
    pub help: &'static str,
    pub scope: Scope,
    /// Left out of --help (test-only options).
    pub hidden: bool,
    /// Options it may not be given with on the command line.
    pub conflicts: &'static [&'static str],
    pub set: Setter,
}

impl OptionSpec {
    pub(super) const fn new(name: &'static str, kind: Kind, help: &'static str, set: Setter) -> Self {
        OptionSpec { name, aliases: &[], kind, help, scope: Scope::Everywhere, hidden: false, conflicts: &[], set }
    }
    const fn command_line_only(mut self) -> Self {
        self.scope = Scope::CommandLine;
        self
    }
    const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    const fn conflicts(mut self, with: &'static [&'static str]) -> Self {
        self.conflicts = with;
        self
    }
}

/// The option of that name or alias (with dashes), wherever it may be given.
pub fn lookup(name: &str) -> Option<&'static OptionSpec> {
    all().find(|o| o.name == name || o.aliases.contains(&name))
}

/// The option of that name an option file may set, and whether the name turns it off
/// (`skip-NAME`, `disable-NAME`); None: innohot does not know it there.
pub fn lookup_in_file(name: &str) -> Option<(&'static OptionSpec, bool)> {
    let found = lookup(name).map(|o| (o, false)).or_else(|| {
        all().find_map(|o| match o.kind {
            Kind::Switch(n) if name == n.skip || name == n.disable => Some((o, true)),
            Kind::Switch(n) if name == n.enable => Some((o, false)),
            _ => None,
        })
    });
    found.filter(|(o, _)| o.scope == Scope::Everywhere)
}

/// Options that only name where options come from; `options::resolve` reads them first.
const fn source(name: &'static str, kind: Kind, help: &'static str) -> OptionSpec {
    OptionSpec::new(name, kind, help, |_, _| Ok(())).command_line_only()
}

/// A boolean option (see `Kind::Switch`): `switch!("name", "help", setter)`.
macro_rules! switch {
    ($name:literal, $help:expr, $set:expr $(,)?) => {
        $crate::options::table::OptionSpec::new(
            $name,
            $crate::options::table::Kind::Switch($crate::options::table::Negations {
                skip: concat!("skip-", $name),
                disable: concat!("disable-", $name),
                enable: concat!("enable-", $name),
            }),
            $help,
            $set,
        )
    };
}

/// Switches mariabackup takes that change nothing in innohot (the help says why); a value
/// given in an option file must still be a boolean.
macro_rules! no_op {
    ($name:literal, $help:expr $(,)?) => {
        switch!($name, $help, |_, v| v.on().map(drop))
    };
}

mod connection;
mod copy;
mod run;

/// Every `innohot backup` option, in the order the command line applies them.
pub fn all() -> impl Iterator<Item = &'static OptionSpec> {
    [connection::CONNECTION, copy::COPY, run::RUN].into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conflicts_name_options() {
        let mut names: Vec<&str> =
            all().flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied())).collect();
        let declared = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), declared, "an option name is declared twice");
        for o in all() {
            assert!(!o.name.contains('_'), "{}: dashes, not underscores", o.name);
            if let Kind::Switch(n) = o.kind {
                assert_eq!([n.skip, n.disable, n.enable].map(|f| f.split_once('-').unwrap().1), [o.name; 3]);
                assert!(lookup(n.skip).is_none() && lookup(n.enable).is_none(), "{} is declared twice", n.skip);
            }
            for c in o.conflicts {
                assert!(lookup(c).is_some(), "{} conflicts with an unknown {c}", o.name);
            }
        }
    }
}
