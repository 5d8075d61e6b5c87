//! Option files as the MariaDB and MySQL clients read them: `[group]` headers,
//! `name=value` or bare `name` lines (`-` and `_` alike, `loose-` prefix, quotes
//! around values), `#`/`;` comments, `!include FILE` and `!includedir DIR` (every
//! `*.cnf` in it, in name order), and `--defaults-group-suffix` (a group named
//! with the suffix is read after the plain one, so it wins).
//!
//! Each group innohot reads belongs to one of three kinds. A group of another
//! program (`[mysqldump]`, `[mysqltest]`, ...) is skipped whole, as every client
//! skips groups that are not its own.

use std::path::{Path, PathBuf};

/// Who a group speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKind {
    /// The server's own settings: where it listens and keeps its files.
    Server,
    /// Every client program's: how to connect.
    Client,
    /// The backup tool's (innohot reads xtrabackup's and mariabackup's too).
    Tool,
}

/// Groups innohot reads, lowest precedence first within a file: a later kind wins.
const GROUPS: [(&str, GroupKind); 13] = [
    ("mysqld", GroupKind::Server),
    ("server", GroupKind::Server),
    ("mariadb", GroupKind::Server),
    ("mariadbd", GroupKind::Server),
    ("mysqld-10.11", GroupKind::Server),
    ("mariadb-10.11", GroupKind::Server),
    ("client", GroupKind::Client),
    ("client-server", GroupKind::Client),
    ("client-mariadb", GroupKind::Client),
    ("xtrabackup", GroupKind::Tool),
    ("mariabackup", GroupKind::Tool),
    ("mariadb-backup", GroupKind::Tool),
    ("innohot", GroupKind::Tool),
];

/// How deep `!include` may nest (the clients stop at 10 as well).
const MAX_INCLUDE_DEPTH: usize = 10;

/// One setting of a group innohot reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOption {
    pub file: PathBuf,
    pub line: usize,
    pub group: String,
    pub kind: GroupKind,
    /// With `-` between words, lower case, without `loose-`.
    pub name: String,
    pub value: Option<String>,
    pub loose: bool,
}

impl FileOption {
    /// Where it was written, for messages: `FILE, line N ([group])`.
    pub fn at(&self) -> String {
        format!("{}, line {} ([{}])", self.file.display(), self.line, self.group)
    }
}

/// Reads a file's text (injected so that tests need no files).
pub type ReadFile<'a> = &'a dyn Fn(&PathBuf) -> Result<String, OptionFileError>;

/// Why an option file (--defaults-file and the like) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OptionFileError {
    #[error("no such file")]
    NotFound,
    #[error("permission denied (run as a user that can read it)")]
    PermissionDenied,
    #[error("it is a directory, not a file")]
    IsADirectory,
    #[error(transparent)]
    Other(std::io::Error),
}

/// An option file's text, from the real file system.
pub fn read_option_file(p: &PathBuf) -> Result<String, OptionFileError> {
    std::fs::read_to_string(p).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OptionFileError::NotFound,
        std::io::ErrorKind::PermissionDenied => OptionFileError::PermissionDenied,
        std::io::ErrorKind::IsADirectory => OptionFileError::IsADirectory,
        _ => OptionFileError::Other(e),
    })
}

/// What is wrong with an option file or the files it includes; `at` names the
/// file and line.
#[derive(Debug, thiserror::Error)]
pub enum BadOptionFile {
    #[error("cannot read the option file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: OptionFileError },
    #[error("{at}: !{word} nests deeper than {MAX_INCLUDE_DEPTH} files")]
    TooDeep { at: String, word: String },
    #[error("{at}: !includedir {}: {source}", dir.display())]
    IncludeDir { at: String, dir: PathBuf, source: std::io::Error },
    #[error("{at}: '!{word}' is not !include or !includedir")]
    UnknownDirective { at: String, word: String },
    #[error("{at}: an option with no name")]
    NoName { at: String },
}

/// The settings of the groups innohot reads in `path` and the files it
/// includes, lowest precedence first: by group (plain before suffixed, server
/// before client before tool), then in reading order.
pub fn read_options(path: &Path, suffix: Option<&str>, read: ReadFile) -> Result<Vec<FileOption>, BadOptionFile> {
    let mut ranked = Vec::new();
    read_into(path, suffix, read, 0, &mut ranked)?;
    ranked.sort_by_key(|(rank, _)| *rank);
    Ok(ranked.into_iter().map(|(_, o)| o).collect())
}

fn read_into(
    path: &Path,
    suffix: Option<&str>,
    read: ReadFile,
    depth: usize,
    out: &mut Vec<(usize, FileOption)>,
) -> Result<(), BadOptionFile> {
    let text =
        read(&path.to_path_buf()).map_err(|source| BadOptionFile::Unreadable { path: path.to_path_buf(), source })?;
    let mut current: Option<(usize, String, GroupKind)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let here = || format!("{}, line {}", path.display(), n + 1);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            let (word, arg) = directive.split_once(char::is_whitespace).unwrap_or((directive, ""));
            let arg = Path::new(arg.trim());
            if depth + 1 > MAX_INCLUDE_DEPTH {
                return Err(BadOptionFile::TooDeep { at: here(), word: word.to_string() });
            }
            match word {
                "include" => read_into(arg, suffix, read, depth + 1, out)?,
                "includedir" => {
                    let files = cnf_files(arg).map_err(|source| BadOptionFile::IncludeDir {
                        at: here(),
                        dir: arg.to_path_buf(),
                        source,
                    })?;
                    for file in files {
                        read_into(&file, suffix, read, depth + 1, out)?;
                    }
                }
                _ => return Err(BadOptionFile::UnknownDirective { at: here(), word: word.to_string() }),
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = group_rank(&name.trim().to_ascii_lowercase(), suffix);
            continue;
        }
        let Some((rank, group, kind)) = &current else { continue };
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (line, None),
        };
        if k.is_empty() {
            return Err(BadOptionFile::NoName { at: here() });
        }
        let name = k.replace('_', "-").to_ascii_lowercase();
        let (name, loose) = match name.strip_prefix("loose-") {
            Some(rest) => (rest.to_string(), true),
            None => (name, false),
        };
        let value = v.map(unquote);
        let o =
            FileOption { file: path.to_path_buf(), line: n + 1, group: group.clone(), kind: *kind, name, value, loose };
        out.push((*rank, o));
    }
    Ok(())
}

/// The rank of a group innohot reads (None for another program's group).
fn group_rank(name: &str, suffix: Option<&str>) -> Option<(usize, String, GroupKind)> {
    GROUPS.iter().enumerate().find_map(|(i, (g, kind))| {
        if name == *g {
            return Some((2 * i, name.to_string(), *kind));
        }
        let s = suffix.filter(|s| !s.is_empty())?;
        (name == format!("{g}{}", s.to_ascii_lowercase())).then(|| (2 * i + 1, name.to_string(), *kind))
    })
}

fn unquote(v: &str) -> String {
    let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
    v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(v).to_string()
}

/// The `*.cnf` files of an `!includedir`, in name order.
fn cnf_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cnf") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// A switch's value that is none of the booleans the clients take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a boolean (1/0, ON/OFF, TRUE/FALSE)")]
pub struct NotABoolean(String);

/// Whether a boolean option's value turns it on (`name`, `name=1`, `=ON`, `=TRUE`).
pub fn is_on(value: Option<&str>) -> Result<bool, NotABoolean> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(true),
        Some(v) if ["1", "on", "true", "yes"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "off", "false", "no"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(NotABoolean(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(
        files: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&PathBuf) -> Result<String, OptionFileError> {
        move |p: &PathBuf| {
            files.iter().find(|(n, _)| Path::new(n) == p).map(|(_, t)| t.to_string()).ok_or(OptionFileError::NotFound)
        }
    }

    fn names(opts: &[FileOption]) -> Vec<String> {
        opts.iter().map(|o| format!("{}:{}={}", o.group, o.name, o.value.as_deref().unwrap_or("-"))).collect()
    }

    #[test]
    fn groups_rank_by_kind_then_suffix_and_other_programs_groups_are_skipped() {
        let read = read_from(&[(
            "/my.cnf",
            "[mariabackup]\nuser=mb\n[client]\nuser = c\nsocket='/s'\n[mysqldump]\nquick\n[mysqld.1]\nport=5\n\
             [mysqld]\ndatadir=\"/d\"\n[client.1]\nLoose_Port=7\n",
        )]);
        let got = read_options(Path::new("/my.cnf"), Some(".1"), &read).unwrap();
        assert_eq!(
            names(&got),
            [
                "mysqld:datadir=/d",
                "mysqld.1:port=5",
                "client:user=c",
                "client:socket=/s",
                "client.1:port=7",
                "mariabackup:user=mb"
            ]
        );
        assert!(got[4].loose && got[4].kind == GroupKind::Client);
        assert_eq!(got[0].at(), "/my.cnf, line 11 ([mysqld])");
        let plain = read_options(Path::new("/my.cnf"), None, &read).unwrap();
        assert_eq!(plain.len(), 4, "without the suffix its groups are another program's");
    }

    #[test]
    fn include_reads_the_file_in_place_and_its_errors_name_it() {
        let read = read_from(&[
            ("/a.cnf", "[client]\nuser=a\n!include /b.cnf\n[client]\nport=1\n"),
            ("/b.cnf", "user=ignored-outside-a-group\n[client]\nuser=b\n"),
            ("/loop.cnf", "!include /loop.cnf\n"),
            ("/bad.cnf", "!frobnicate x\n"),
        ]);
        let got = read_options(Path::new("/a.cnf"), None, &read).unwrap();
        assert_eq!(names(&got), ["client:user=a", "client:user=b", "client:port=1"]);
        let e = read_options(Path::new("/loop.cnf"), None, &read).unwrap_err();
        assert!(matches!(e, BadOptionFile::TooDeep { .. }) && e.to_string().contains("nests deeper than 10"), "{e}");
        let e = read_options(Path::new("/bad.cnf"), None, &read).unwrap_err();
        assert!(matches!(e, BadOptionFile::UnknownDirective { .. }) && e.to_string().contains("not !include"), "{e}");
        let e = read_options(Path::new("/x.cnf"), None, &read).unwrap_err();
        assert!(matches!(e, BadOptionFile::Unreadable { source: OptionFileError::NotFound, .. }), "{e}");
        assert_eq!(e.to_string(), "cannot read the option file /x.cnf: no such file");
    }

    #[test]
    fn includedir_reads_its_cnf_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.cnf"), "[client]\nuser=b\n").unwrap();
        std::fs::write(dir.path().join("a.cnf"), "[client]\nuser=a\n").unwrap();
        std::fs::write(dir.path().join("c.txt"), "[client]\nuser=c\n").unwrap();
        let main = format!("!includedir {}\n", dir.path().display());
        let read = move |p: &PathBuf| {
            if p == Path::new("/main.cnf") {
                Ok(main.clone())
            } else {
                read_option_file(p)
            }
        };
        let got = read_options(Path::new("/main.cnf"), None, &read).unwrap();
        assert_eq!(names(&got), ["client:user=a", "client:user=b"]);
        let missing = "!includedir /no/such/dir\n".to_string();
        let read = move |_: &PathBuf| Ok(missing.clone());
        let e = read_options(Path::new("/m.cnf"), None, &read).unwrap_err();
        assert!(
            matches!(e, BadOptionFile::IncludeDir { .. }) && e.to_string().contains("!includedir /no/such/dir"),
            "{e}"
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(is_on(None), Ok(true));
        assert_eq!(is_on(Some("ON")), Ok(true));
        assert_eq!(is_on(Some("0")), Ok(false));
        assert!(is_on(Some("maybe")).is_err());
    }
}
