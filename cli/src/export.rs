//! `prepare --export`: a `.cfg` file beside every table's `.ibd`, so that
//! `ALTER TABLE ... IMPORT TABLESPACE` checks the schema and takes the
//! tablespace with its secondary indexes.
//!
//! As mariabackup does, the server itself writes them: after innohot's own
//! prepare, the MariaDB server binary runs in bootstrap mode on the prepared
//! backup (which also rolls back the transactions that were open at the
//! backup's end, so the exported pages hold committed data only), runs
//! `FLUSH TABLES ... FOR EXPORT` for each table and shuts down slowly.
//!
//! That server must never touch the live server's files: every location
//! option an option file could point elsewhere is overridden on its command
//! line, and the backup's `.isl` link files (which name the live server's
//! DATA DIRECTORY files) are moved aside while it runs, so it opens the
//! backup's own copies.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Suffix of an `.isl` link file moved aside while the export server runs.
const HIDDEN_LINK: &str = ".innohot-export-hidden";

/// One table to export: its database directory and file-name stem (a
/// partitioned table once, with the `.ibd` of each partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTable {
    pub db: String,
    pub table: String,
    /// The `.ibd` files, relative to the backup directory.
    pub ibd: Vec<PathBuf>,
}

impl ExportTable {
    /// The table for messages: as SQL names it when its file name decodes
    /// (`@XXXX`), else as the file system does (`db/caf@0p`).
    pub fn name(&self) -> String {
        match (decode_file_name(&self.db), decode_file_name(&self.table)) {
            (Some(db), Some(t)) => format!("{}.{}", quote(&db), quote(&t)),
            _ => format!("{}/{}", self.db, self.table),
        }
    }

    /// The `.ibd` files that got no `.cfg` beside them.
    pub fn missing_cfg(&self, dir: &Path) -> Vec<PathBuf> {
        self.ibd.iter().filter(|p| !dir.join(p.with_extension("cfg")).exists()).cloned().collect()
    }
}

/// What the directory scan found.
#[derive(Debug, Default)]
pub struct Found {
    pub tables: Vec<ExportTable>,
    /// `.ibd` files without a `.frm`: no table the server can open.
    pub without_frm: Vec<PathBuf>,
}

/// The tables of a prepared backup: every `.ibd` in a database directory
/// whose table has a `.frm` (statement-private `#sql` files left out).
pub fn tables(dir: &Path) -> std::io::Result<Found> {
    let mut by_table: BTreeMap<(String, String), Vec<PathBuf>> = BTreeMap::new();
    let mut found = Found::default();
    for db in sorted_entries(dir)? {
        let db_path = dir.join(&db);
        if !db_path.is_dir() || db.starts_with('#') {
            continue;
        }
        for file in sorted_entries(&db_path)? {
            let Some(stem) = file.strip_suffix(".ibd") else { continue };
            if stem.starts_with("#sql") {
                continue;
            }
            let table = table_of(stem);
            let rel = PathBuf::from(&db).join(&file);
            if db_path.join(format!("{table}.frm")).exists() {
                by_table.entry((db.clone(), table.to_string())).or_default().push(rel);
            } else {
                found.without_frm.push(rel);
            }
        }
    }
    found.tables = by_table.into_iter().map(|((db, table), ibd)| ExportTable { db, table, ibd }).collect();
    Ok(found)
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
    names.sort();
    Ok(names)
}

/// A partition's file stem (`t#P#p0`, `t#P#p0#SP#s0`, lower case on some
/// systems) names its table's (`t`).
fn table_of(stem: &str) -> &str {
    match stem.find("#P#").or_else(|| stem.find("#p#")) {
        Some(i) => &stem[..i],
        None => stem,
    }
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A file-system name with its `@XXXX` (four hex digits) codes decoded; None
/// for one in the server's other encodings (`@` and two letters, for accented
/// letters), which only the server decodes.
fn decode_file_name(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let hex = rest.get(at + 1..at + 5)?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
        rest = &rest[at + 5..];
    }
    out.push_str(rest);
    Some(out)
}

/// What the bootstrap server runs: every InnoDB table it knows (from the
/// backup's `.frm` files, so a partial backup's tables only), each flushed
/// for export and unlocked in a block that goes on past an error (a table
/// the server cannot open gets no `.cfg`, which the caller reports). The
/// server names the tables itself: a file name in its two-letter encoding
/// (accented letters) has no other decoder. One line: the bootstrap reader
/// ends a statement at a line ending with `;`.
pub const BOOTSTRAP_SQL: &str = "SET NAMES utf8mb4;\n\
BEGIN NOT ATOMIC DECLARE done INT DEFAULT 0; DECLARE s, t VARCHAR(192); \
DECLARE c CURSOR FOR SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
WHERE ENGINE = 'InnoDB' AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY 1, 2; \
DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; \
tables: LOOP FETCH c INTO s, t; IF done THEN LEAVE tables; END IF; \
BEGIN DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END; \
EXECUTE IMMEDIATE CONCAT('FLUSH TABLES `', REPLACE(s, '`', '``'), '`.`', REPLACE(t, '`', '``'), '` FOR EXPORT'); \
EXECUTE IMMEDIATE 'UNLOCK TABLES'; END; END LOOP; CLOSE c; END;\n";

/// Why `prepare --export` could not run the server on the backup, or the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("--mariadbd={}: no such file", .0.display())]
    NoSuchServer(PathBuf),
    #[error(
        "--export needs the MariaDB server binary (mariadbd), which writes the .cfg files, and none was found on \
         PATH or in /usr/sbin: install the server package of the backup's version or name it with --mariadbd=PATH"
    )]
    NoServerFound,
    #[error(
        "{} --version says {said:?} and the backup's xtrabackup_info says server_version = {backup_version:?}: \
         cannot tell that they are the same MariaDB series",
        server.display()
    )]
    UnknownSeries { server: PathBuf, said: String, backup_version: String },
    #[error(
        "{} is {theirs}, the backup is of MariaDB {backup_version}: --export starts the server on the backup \
         and needs the same series ({want}); name one with --mariadbd=PATH",
        server.display()
    )]
    OtherSeries { server: PathBuf, theirs: String, backup_version: String, want: String },
    #[error("listing {}: {source}", path.display())]
    List { path: PathBuf, source: std::io::Error },
    #[error("{} and {} both exist: remove the stale one", from.display(), to.display())]
    BothExist { from: PathBuf, to: PathBuf },
    #[error("moving {} to {}: {source}", from.display(), to.display())]
    Move { from: PathBuf, to: PathBuf, source: std::io::Error },
    /// Starting, feeding or waiting for the server failed (`what` says which).
    #[error("{what} {}: {source}", server.display())]
    Run { what: &'static str, server: PathBuf, source: std::io::Error },
    #[error("the thread feeding the server panicked")]
    FeederPanicked,
    #[error(
        "the export server ({}) failed ({status}); its output:\n{output}\nthe backup is prepared (copy-back works) \
         but not exported",
        server.display()
    )]
    ServerFailed { server: PathBuf, status: std::process::ExitStatus, output: String },
}

impl ExportError {
    pub fn kind(&self) -> innohot::ErrorKind {
        use innohot::ErrorKind as K;
        match self {
            ExportError::NoSuchServer(_) | ExportError::NoServerFound => K::Usage,
            ExportError::UnknownSeries { .. } | ExportError::OtherSeries { .. } => K::Unsupported,
            ExportError::List { source, .. } | ExportError::Move { source, .. } | ExportError::Run { source, .. } => {
                K::of_io(source)
            }
            ExportError::BothExist { .. } => K::Busy,
            ExportError::FeederPanicked => K::Internal,
            ExportError::ServerFailed { .. } => K::ServerRefused,
        }
    }
}

/// The MariaDB server binary to export with: `--mariadbd`, else the first
/// `mariadbd` (then `mysqld`) on PATH or in the usual sbin directories.
pub fn find_server(explicit: Option<&Path>) -> Result<PathBuf, ExportError> {
    if let Some(p) = explicit {
        return if p.is_file() { Ok(p.to_path_buf()) } else { Err(ExportError::NoSuchServer(p.to_path_buf())) };
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    for d in ["/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/mysql/bin"] {
        dirs.push(PathBuf::from(d));
    }
    for name in ["mariadbd", "mysqld"] {
        if let Some(p) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
            return Ok(p);
        }
    }
    Err(ExportError::NoServerFound)
}

/// The `major.minor` of a version string (`10.11.19-MariaDB-0+deb12u1` → `10.11`).
fn major_minor(version: &str) -> Option<&str> {
    let mut dots = version.match_indices('.').map(|(i, _)| i);
    let second = dots.nth(1).unwrap_or(version.len());
    let mm = &version[..second];
    (mm.contains('.') && mm.chars().all(|c| c.is_ascii_digit() || c == '.')).then_some(mm)
}

/// Checks that `--version` output (`mariadbd  Ver 10.11.19-MariaDB-... for ...`)
/// is a MariaDB server of the backup's `server_version` series: another
/// series would upgrade the backup's files on start.
pub fn check_server_version(server: &Path, version_output: &str, backup_version: &str) -> Result<(), ExportError> {
    let theirs = version_output.split_whitespace().skip_while(|w| *w != "Ver").nth(1).unwrap_or_default();
    let (Some(have), Some(want)) = (major_minor(theirs), major_minor(backup_version)) else {
        return Err(ExportError::UnknownSeries {
            server: server.to_path_buf(),
            said: version_output.trim().to_string(),
            backup_version: backup_version.to_string(),
        });
    };
    if !theirs.contains("MariaDB") || have != want {
        return Err(ExportError::OtherSeries {
            server: server.to_path_buf(),
            theirs: theirs.to_string(),
            backup_version: backup_version.to_string(),
            want: want.to_string(),
        });
    }
    Ok(())
}

/// How the export server is started.
pub struct ServerRun<'a> {
    pub server: &'a Path,
    /// The backup directory, absolute.
    pub dir: &'a Path,
    pub defaults_file: Option<&'a Path>,
    pub group_suffix: Option<&'a str>,
    /// `--use-memory` (the buffer pool), as the server reads sizes.
    pub memory: &'a str,
    /// `--innodb-force-recovery` of the prepare (0 or 1), passed on as mariabackup does.
    pub force_recovery: u64,
    pub as_root: bool,
}

/// The server's command line: the option files first (the user's, then the
/// backup's backup-my.cnf, as mariabackup reads them), then every location
/// pinned inside the backup so no option file can send a write elsewhere.
pub fn server_args(r: &ServerRun) -> Vec<OsString> {
    let dir = r.dir.display();
    let cnf = r.dir.join("backup-my.cnf");
    let mut a: Vec<String> = match r.defaults_file {
        Some(f) => vec![format!("--defaults-file={}", f.display()), format!("--defaults-extra-file={}", cnf.display())],
        None => vec![format!("--defaults-file={}", cnf.display())],
    };
    if let Some(s) = r.group_suffix {
        a.push(format!("--defaults-group-suffix={s}"));
    }
    a.extend([
        format!("--datadir={dir}"),
        format!("--innodb-data-home-dir={dir}"),
        format!("--innodb-log-group-home-dir={dir}"),
        format!("--innodb-undo-directory={dir}"),
        format!("--loose-aria-log-dir-path={dir}"),
        format!("--loose-log-ddl-recovery={dir}/ddl_recovery.log"),
        format!("--pid-file={dir}/innohot-export.pid"),
        format!("--innodb-buffer-pool-size={}", r.memory),
    ]);
    for fixed in [
        "--bootstrap",
        "--skip-networking",
        "--skip-log-bin",
        "--console",
        "--skip-log-error",
        "--innodb",
        "--loose-partition",
        "--innodb-fast-shutdown=0",
        "--loose-innodb-purge-rseg-truncate-frequency=1",
        "--loose-innodb-buffer-pool-load-at-startup=0",
        "--loose-innodb-buffer-pool-dump-at-shutdown=0",
        "--loose-general-log=0",
        "--loose-slow-query-log=0",
    ] {
        a.push(fixed.to_string());
    }
    if r.force_recovery > 0 {
        a.push(format!("--innodb-force-recovery={}", r.force_recovery));
    }
    if r.as_root {
        a.push("--user=root".into());
    }
    a.into_iter().map(OsString::from).collect()
}

/// `.isl` files an interrupted export left aside (the server's run was
/// killed with innohot): a restore must not go on without them, or the
/// DATA DIRECTORY tables would land in the datadir.
pub fn links_left_aside(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for db in sorted_entries(dir).unwrap_or_default() {
        for f in sorted_entries(&dir.join(&db)).unwrap_or_default() {
            if f.ends_with(&format!(".isl{HIDDEN_LINK}")) {
                out.push(dir.join(&db).join(f));
            }
        }
    }
    out
}

/// `.isl` files moved aside for the server's run, put back on drop.
pub struct HiddenLinks {
    moved: Vec<(PathBuf, PathBuf)>,
}

impl HiddenLinks {
    /// Puts back links an interrupted export left aside, then moves every
    /// `.isl` of the database directories aside.
    pub fn hide(dir: &Path) -> Result<HiddenLinks, ExportError> {
        let mut links = HiddenLinks { moved: Vec::new() };
        let list = |p: &Path| sorted_entries(p).map_err(|source| ExportError::List { path: p.into(), source });
        for db in list(dir)? {
            let db_path = dir.join(&db);
            if !db_path.is_dir() {
                continue;
            }
            for f in list(&db_path)?.iter().filter_map(|f| f.strip_suffix(HIDDEN_LINK)) {
                rename(&db_path.join(format!("{f}{HIDDEN_LINK}")), &db_path.join(f))?;
            }
            for f in list(&db_path)?.iter().filter(|f| f.ends_with(".isl")) {
                let (from, to) = (db_path.join(f), db_path.join(format!("{f}{HIDDEN_LINK}")));
                rename(&from, &to)?;
                links.moved.push((from, to));
            }
        }
        Ok(links)
    }
}

impl Drop for HiddenLinks {
    fn drop(&mut self) {
        for (link, aside) in &self.moved {
            if let Err(e) = rename(aside, link) {
                eprintln!("innohot prepare: {e}; put it back by hand before copy-back");
            }
        }
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), ExportError> {
    if to.exists() {
        return Err(ExportError::BothExist { from: from.into(), to: to.into() });
    }
    std::fs::rename(from, to).map_err(|source| ExportError::Move { from: from.into(), to: to.into(), source })
}

/// What the export did.
pub struct Exported {
    pub tables: Vec<String>,
    /// Tables the server wrote no `.cfg` for, with the files that lack one.
    pub failed: Vec<(String, Vec<PathBuf>)>,
    /// The server's own output (stdout and stderr).
    pub server_output: String,
}

/// Runs the export server on the prepared backup and checks what it wrote.
pub fn run(r: &ServerRun, found: &Found) -> Result<Exported, ExportError> {
    let failed = |what: &'static str| move |source| ExportError::Run { what, server: r.server.to_path_buf(), source };
    let links = HiddenLinks::hide(r.dir)?;
    let sql = BOOTSTRAP_SQL;
    let mut child = Command::new(r.server)
        .args(server_args(r))
        .current_dir(r.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(failed("starting"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, sql.as_bytes()));
    let out = child.wait_with_output().map_err(failed("waiting for"))?;
    let wrote = writer.join().map_err(|_| ExportError::FeederPanicked)?;
    drop(links);
    let server_output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        let output = server_output.trim_end().to_string();
        return Err(ExportError::ServerFailed { server: r.server.to_path_buf(), status: out.status, output });
    }
    wrote.map_err(failed("sending the export statements to"))?;
    let mut exported = Exported { tables: Vec::new(), failed: Vec::new(), server_output };
    for t in &found.tables {
        let missing = t.missing_cfg(r.dir);
        if missing.is_empty() {
            exported.tables.push(t.name());
        } else {
            exported.failed.push((t.name(), missing));
        }
    }
    Ok(exported)
}

/// The server's output without its complaints about the tablespaces a partial
/// backup left out on purpose (rolling back a transaction that changed them,
/// it cannot open their files), and the names of those tables: the caller
/// says so once. Each complaint is the operating system's error lines, then
/// `Cannot open datafile for read-only: './db/t.ibd'` and/or `Could not find a
/// valid tablespace file for db/t`; a table whose file the backup holds is
/// never hidden.
pub fn without_left_out_tables(output: &str, dir: &Path) -> (String, Vec<String>) {
    let (mut kept, mut pending, mut left_out) = (String::new(), String::new(), Vec::<String>::new());
    for line in output.lines() {
        // From the operating system's error line on, InnoDB's lines wait for
        // the one that names the file (however many the server prints between).
        let starts = line.contains("Operating system error number");
        let within = !pending.is_empty() && pending.lines().count() < OS_ERROR_BLOCK;
        if starts || (within && line.contains("InnoDB: ") && complaint_names(line).is_none()) {
            if starts || !within {
                kept.push_str(&pending);
                pending.clear();
            }
            pending.push_str(line);
            pending.push('\n');
            continue;
        }
        match complaint_names(line) {
            Some(t) if !t.is_empty() && !dir.join(format!("{t}.ibd")).exists() => {
                if !left_out.iter().any(|l| l == t) {
                    left_out.push(t.to_string());
                }
            }
            _ => {
                kept.push_str(&pending);
                kept.push_str(line);
                kept.push('\n');
            }
        }
        pending.clear();
    }
    kept.push_str(&pending);
    (kept, left_out)
}

/// At most this many lines between the operating system's error and the line
/// naming the file (the server prints 2 to 4): others are never hidden.
const OS_ERROR_BLOCK: usize = 6;

/// The table (`db/t`) a line of the server's names as a file it could not open.
fn complaint_names(line: &str) -> Option<&str> {
    if let Some((_, rest)) = line.split_once("Cannot open datafile for read-only: '") {
        return rest.split('\'').next().map(|p| p.trim_start_matches("./").trim_end_matches(".ibd"));
    }
    let (_, rest) = line.split_once("Could not find a valid tablespace file for ")?;
    Some(rest.split(". ").next().unwrap_or(rest).trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn tables_group_partitions_and_leave_out_temporary_and_frm_less_files() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "shop/orders.ibd",
            "shop/orders.frm",
            "shop/hist#P#p0.ibd",
            "shop/hist#P#p1#SP#s0.ibd",
            "shop/hist.frm",
            "shop/#sql-alter-1-2.ibd",
            "shop/junk.ibd",
            "shop/FTS_0000000000000010_CONFIG.ibd",
            "#innodb_redo/x.ibd",
            "ibdata1",
        ] {
            touch(&d.path().join(f));
        }
        let found = tables(d.path()).unwrap();
        let names: Vec<(String, usize)> = found.tables.iter().map(|t| (t.name(), t.ibd.len())).collect();
        assert_eq!(names, [("`shop`.`hist`".to_string(), 2), ("`shop`.`orders`".to_string(), 1)]);
        assert_eq!(
            found.without_frm,
            [PathBuf::from("shop/FTS_0000000000000010_CONFIG.ibd"), PathBuf::from("shop/junk.ibd")]
        );
        touch(&d.path().join("shop/hist#P#p0.cfg"));
        let hist = &found.tables[0];
        assert_eq!(hist.missing_cfg(d.path()), [PathBuf::from("shop/hist#P#p1#SP#s0.ibd")]);
    }

    #[test]
    fn file_names_decode_for_messages() {
        let name = |db: &str, t: &str| ExportTable { db: db.into(), table: t.into(), ibd: vec![] }.name();
        assert_eq!(name("shop", "order@002dlines"), "`shop`.`order-lines`");
        assert_eq!(name("d", "a@0060b"), "`d`.`a``b`", "a backquote is doubled");
        assert_eq!(name("shop", "caf@0p"), "shop/caf@0p", "a two-letter code stays the file's name");
        assert_eq!(name("x@00", "t"), "x@00/t", "a cut-off code too");
        assert_eq!(table_of("t#p#p1"), "t");
    }

    #[test]
    fn the_script_is_one_statement_a_line_and_unlocks_after_each_flush() {
        let lines: Vec<&str> = BOOTSTRAP_SQL.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.ends_with(';')));
        let flush = lines[1].find("FOR EXPORT").unwrap();
        assert!(lines[1][flush..].contains("UNLOCK TABLES"));
        assert!(lines[1].contains("CONTINUE HANDLER FOR SQLEXCEPTION"));
    }

    #[test]
    fn the_server_must_be_mariadb_of_the_backups_series() {
        let p = Path::new("/usr/sbin/mariadbd");
        let ver = "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)\n";
        assert!(check_server_version(p, ver, "10.11.19-MariaDB-0+deb12u1").is_ok());
        assert!(check_server_version(p, ver, "10.11.6-MariaDB").is_ok(), "a minor release apart is the same series");
        let e = check_server_version(p, ver, "11.4.2-MariaDB").unwrap_err();
        assert_eq!(e.kind(), innohot::ErrorKind::Unsupported);
        let e = e.to_string();
        assert!(e.contains("needs the same series (11.4)") && e.contains("--mariadbd"), "{e}");
        let mysql = "/usr/sbin/mysqld  Ver 10.11.4 for Linux on x86_64 (MySQL Community Server (GPL))";
        assert!(check_server_version(p, mysql, "10.11.19-MariaDB").is_err(), "not a MariaDB server");
        assert!(check_server_version(p, "garbage", "10.11.19-MariaDB").is_err());
        assert_eq!(major_minor("10.11"), Some("10.11"));
        assert_eq!(major_minor("10"), None);
    }

    #[test]
    fn every_location_is_pinned_inside_the_backup() {
        let r = ServerRun {
            server: Path::new("/usr/sbin/mariadbd"),
            dir: Path::new("/b"),
            defaults_file: Some(Path::new("/etc/my.cnf")),
            group_suffix: Some(".1"),
            memory: "100M",
            force_recovery: 1,
            as_root: true,
        };
        let a: Vec<String> = server_args(&r).into_iter().map(|s| s.into_string().unwrap()).collect();
        assert_eq!(
            &a[..3],
            ["--defaults-file=/etc/my.cnf", "--defaults-extra-file=/b/backup-my.cnf", "--defaults-group-suffix=.1"]
        );
        for want in [
            "--datadir=/b",
            "--innodb-data-home-dir=/b",
            "--innodb-log-group-home-dir=/b",
            "--innodb-undo-directory=/b",
            "--loose-aria-log-dir-path=/b",
            "--loose-log-ddl-recovery=/b/ddl_recovery.log",
            "--skip-log-bin",
            "--bootstrap",
            "--innodb-fast-shutdown=0",
            "--innodb-buffer-pool-size=100M",
            "--innodb-force-recovery=1",
            "--user=root",
        ] {
            assert!(a.iter().any(|x| x == want), "{want} missing from {a:?}");
        }
        let none = ServerRun { defaults_file: None, group_suffix: None, force_recovery: 0, as_root: false, ..r };
        let a: Vec<String> = server_args(&none).into_iter().map(|s| s.into_string().unwrap()).collect();
        assert_eq!(a[0], "--defaults-file=/b/backup-my.cnf");
        assert!(!a.iter().any(|x| x.starts_with("--user") || x.starts_with("--innodb-force")));
    }

    #[test]
    fn complaints_about_tables_left_out_are_dropped_and_named_once() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("shop/orders.ibd"));
        let os = "[ERROR] InnoDB: Operating system error number 2 in a file operation.\n\
                  [ERROR] InnoDB: The error means the system cannot find the path specified.\n\
                  [ERROR] InnoDB: Error number 2 means 'No such file or directory'\n\
                  [Note] InnoDB: Some operating system error numbers are described at https://x\n";
        let out = format!(
            "[Note] start\n{os}[ERROR] InnoDB: Cannot open datafile for read-only: './mysql/innodb_table_stats.ibd' OS \
             error: 71\n[ERROR] InnoDB: Could not find a valid tablespace file for mysql/innodb_table_stats. Please \
             refer to https://y\n{os}[ERROR] InnoDB: Cannot open datafile for read-only: './shop/orders.ibd' OS error: \
             71\n[ERROR] InnoDB: Could not find a valid tablespace file for db2/t1. Please refer\n[Note] end\n"
        );
        let (kept, left_out) = without_left_out_tables(&out, d.path());
        assert_eq!(left_out, ["mysql/innodb_table_stats", "db2/t1"]);
        assert_eq!(
            kept,
            format!("[Note] start\n{os}[ERROR] InnoDB: Cannot open datafile for read-only: './shop/orders.ibd' OS error: 71\n[Note] end\n"),
            "a file the backup holds is never hidden, with its OS error lines"
        );
        let notes: String = (0..7).map(|i| format!("[Note] InnoDB: unrelated {i}\n")).collect();
        let far = format!("{os}{notes}[ERROR] InnoDB: Could not find a valid tablespace file for db2/t1. Please\n");
        let (kept, left_out) = without_left_out_tables(&far, d.path());
        assert_eq!(left_out, ["db2/t1"]);
        assert!(kept.contains("unrelated 0") && kept.contains("unrelated 6"), "too far apart to be one block:\n{kept}");
    }

    #[test]
    fn links_are_moved_aside_and_back_and_a_stale_one_is_recovered() {
        let d = tempfile::tempdir().unwrap();
        touch(&d.path().join("db/t.isl"));
        touch(&d.path().join(format!("db/u.isl{HIDDEN_LINK}")));
        {
            let _h = HiddenLinks::hide(d.path()).unwrap();
            assert!(!d.path().join("db/t.isl").exists() && !d.path().join("db/u.isl").exists());
            let aside = sorted_entries(&d.path().join("db")).unwrap();
            assert_eq!(aside, [format!("t.isl{HIDDEN_LINK}"), format!("u.isl{HIDDEN_LINK}")], "the stale one too");
        }
        assert!(d.path().join("db/t.isl").exists() && d.path().join("db/u.isl").exists());
        assert_eq!(sorted_entries(&d.path().join("db")).unwrap(), ["t.isl", "u.isl"]);
        assert!(links_left_aside(d.path()).is_empty());
        touch(&d.path().join(format!("db/v.isl{HIDDEN_LINK}")));
        assert_eq!(links_left_aside(d.path()), [d.path().join(format!("db/v.isl{HIDDEN_LINK}"))]);
    }
}
