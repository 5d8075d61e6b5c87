//! `innohot prepare`, `copy-back`, `move-back`: xtrabackup-style lines on stderr,
//! `completed OK!` last on success, one sentence on failure, and with `--json`
//! a summary object on stdout either way (the backup command's style).

use crate::args::{CommonRestore, LogGroupCmd, PrepareCmd, RestoreCmd};
use crate::export::ExportError;
use innohot::io::local::RealLocalFs;
use innohot::io::Owner;
use innohot::restore::binlog_pos::BinlogPosError;
use innohot::restore::copyback::{self, Mode, Ownership, RestoreOptions};
use innohot::restore::{mysql57_group, prepare, RestoreError};
use innohot::timefmt::{iso, log_label};
use innohot::ErrorKind;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Why prepare, copy-back, move-back or mysql57-log-group failed, as it reaches
/// the report: the sentence, and the kind `--json` names.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CmdFailure {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    BinlogPos(#[from] BinlogPosError),
    #[error("{}", export_text(.0))]
    Export(#[from] ExportError),
    #[error("{}: writing it failed: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// A step whose checks still speak in words (the options, --export): their kind given here.
    #[error("{why}")]
    Refused { kind: ErrorKind, why: String },
}

impl CmdFailure {
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            CmdFailure::Restore(e) => e.kind(),
            CmdFailure::BinlogPos(BinlogPosError::Io { source, .. }) => ErrorKind::of_io(source),
            CmdFailure::BinlogPos(_) => ErrorKind::Corrupt,
            CmdFailure::Write { source, .. } => ErrorKind::of_io(source),
            CmdFailure::Refused { kind, .. } => *kind,
            CmdFailure::Export(e) => e.kind(),
        }
    }

    fn refused(kind: ErrorKind, why: impl Into<String>) -> CmdFailure {
        CmdFailure::Refused { kind, why: why.into() }
    }
}

/// An export failure's sentence: the option it is about first, unless it names one itself.
fn export_text(e: &ExportError) -> String {
    match e {
        ExportError::NoSuchServer(_) | ExportError::NoServerFound => e.to_string(),
        _ => format!("--export: {e}"),
    }
}

/// One restore command's run: its output on stderr and, with --json, stdout.
pub(crate) struct Run {
    command: &'static str,
    common: CommonRestore,
    target_dir: PathBuf,
    started: u64,
    pub(crate) started_at: Instant,
}

impl Run {
    fn new(command: &'static str, common: &CommonRestore, target_dir: &Path) -> Run {
        Run {
            command,
            common: common.clone(),
            target_dir: target_dir.to_path_buf(),
            started: crate::now_unix(),
            started_at: Instant::now(),
        }
    }

    pub(crate) fn say(&self, msg: &str) {
        if !self.common.quiet {
            eprintln!("{} {msg}", log_label(crate::now_unix()));
        }
    }

    fn base(&self, result: &str, code: u8) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("result".into(), json!(result));
        m.insert("command".into(), json!(self.command));
        m.insert("target_dir".into(), json!(self.target_dir.display().to_string()));
        m.insert("started_at".into(), json!(iso(self.started)));
        m.insert("ended_at".into(), json!(iso(crate::now_unix())));
        m.insert("duration_seconds".into(), json!(self.started_at.elapsed().as_secs_f64()));
        m.insert("exit_code".into(), json!(code));
        m
    }

    fn done(&self, result: &str, fields: Map<String, Value>) -> ExitCode {
        self.say("completed OK!");
        if self.common.json {
            let mut m = self.base(result, 0);
            m.insert("error".into(), Value::Null);
            m.insert("error_kind".into(), Value::Null);
            m.extend(fields);
            println!("{}", Value::Object(m));
        }
        ExitCode::SUCCESS
    }

    fn fail(&self, failure: &CmdFailure) -> ExitCode {
        eprintln!("{} innohot {}: {failure}", log_label(crate::now_unix()), self.command);
        if self.common.json {
            let mut m = self.base("failed", crate::FAILURE);
            m.insert("error".into(), json!(failure.to_string()));
            m.insert("error_kind".into(), json!(failure.kind().as_str()));
            println!("{}", Value::Object(m));
        }
        ExitCode::from(crate::FAILURE)
    }
}

/// A value prepare or copy-back does not take (exit 1, as all bad input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BadValue {
    #[error("innodb_force_recovery needs 0 or 1, not '{0}'")]
    ForceRecovery(String),
    #[error(
        "--binlog-info=LOCKLESS needs a server feature MariaDB does not have (as mariabackup says): use \
         --binlog-info=ON"
    )]
    BinlogInfoLockless,
    #[error("--binlog-info needs ON, OFF or AUTO, not '{0}'")]
    BinlogInfo(String),
    #[error("--chown '{0}': not a user name")]
    ChownUserName(String),
    #[error("--chown: no user '{0}' on this system")]
    ChownNoUser(String),
    #[error("--chown '{0}': give UID:GID with a numeric user")]
    ChownNoGroup(String),
    #[error("--chown '{0}': not a group name")]
    ChownGroupName(String),
    #[error("--chown: no group '{0}' on this system")]
    ChownNoSuchGroup(String),
}

/// `innodb_force_recovery` for prepare: mariabackup takes at most 1 (SRV_FORCE_IGNORE_CORRUPT) and
/// lowers a larger number to it.
fn force_recovery_level(value: &str) -> Result<u64, BadValue> {
    let n: u64 = value.trim().parse().map_err(|_| BadValue::ForceRecovery(value.trim().to_string()))?;
    Ok(n.min(1))
}

/// What prepare says of `innodb_force_recovery`: mariabackup's line (scripts look for it), and what
/// the permission changes in innohot: nothing, a corrupt page still stops the prepare.
fn force_recovery_lines(level: u64) -> Vec<String> {
    if level == 0 {
        return Vec::new();
    }
    vec![
        format!("innodb_force_recovery = {level}"),
        "note: innohot's prepare does not skip corrupt pages: a page the redo cannot be applied to still fails \
         the prepare, naming the page (mariabackup --prepare --innodb-force-recovery=1 would skip it)"
            .to_string(),
    ]
}

/// `--binlog-info[=ON|OFF|AUTO]` (1 and 0 too) on prepare: whether to write xtrabackup_binlog_pos_innodb.
fn binlog_info_on(value: Option<&str>) -> Result<bool, BadValue> {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        None | Some("ON" | "1" | "AUTO" | "TRUE") => Ok(true),
        Some("OFF" | "0" | "FALSE") => Ok(false),
        Some("LOCKLESS") => Err(BadValue::BinlogInfoLockless),
        Some(other) => Err(BadValue::BinlogInfo(other.to_string())),
    }
}

/// `prepare --binlog-info`: the binlog position InnoDB recorded with its last commit, logged as
/// mariabackup logs it and written to xtrabackup_binlog_pos_innodb (`FILE<TAB>POSITION`).
fn binlog_pos_innodb(run: &Run, dir: &Path) -> Result<(), CmdFailure> {
    let Some(pos) = innohot::restore::binlog_pos::read(&RealLocalFs, dir)? else {
        run.say("note: --binlog-info: InnoDB recorded no binlog position (the server wrote no binary log)");
        return Ok(());
    };
    run.say(&format!("Last binlog file {}, position {}", pos.file, pos.position));
    let path = dir.join("xtrabackup_binlog_pos_innodb");
    let text = format!("{}\t{}\n", pos.file, pos.position);
    innohot::io::LocalFs::replace_durably(&RealLocalFs, &path, text.as_bytes())
        .map_err(|source| CmdFailure::Write { path, source })
}

/// `innohot prepare --target-dir DIR`.
pub fn prepare_cmd(cmd: &PrepareCmd) -> ExitCode {
    let run = Run::new("prepare", &cmd.common, &cmd.target_dir);
    if cmd.rollback_xa {
        return crate::usage_error(
            "prepare",
            "--rollback-xa: innohot's prepare rolls back nothing and leaves XA PREPARED transactions to the \
             server, which keeps them prepared when it starts on the restored backup: list them there with XA \
             RECOVER and end each with XA ROLLBACK 'xid' (or XA COMMIT)",
        );
    }
    let export_server = match cmd.export.then(|| export_server(cmd)).transpose() {
        Ok(s) => s,
        Err(ExportRefused::Usage(msg)) => return crate::usage_error("prepare", &msg),
        Err(ExportRefused::Failed(failure)) => return run.fail(&failure),
    };
    let mut force_recovery = None;
    if let Some(f) = &cmd.defaults_file {
        match crate::optfile::read_options(f, cmd.defaults_group_suffix.as_deref(), &|p: &PathBuf| {
            crate::optfile::read_option_file(p)
        }) {
            Ok(options) => {
                let last = options.into_iter().rfind(|o| o.name == "innodb-force-recovery");
                force_recovery = last.map(|o| (o.at(), o.value.unwrap_or_default()));
            }
            Err(e) => return crate::usage_error("prepare", &e.to_string()),
        }
    }
    if let Some(v) = &cmd.innodb_force_recovery {
        force_recovery = Some(("--innodb-force-recovery".into(), v.clone()));
    }
    let mut force_level = 0;
    if let Some((at, value)) = force_recovery {
        match force_recovery_level(&value) {
            Ok(level) => {
                force_level = level;
                for line in force_recovery_lines(level) {
                    run.say(&line);
                }
            }
            Err(e) => return crate::usage_error("prepare", &format!("{at}: {e}")),
        }
    }
    let binlog_info = match cmd.binlog_info.as_ref().map(|v| binlog_info_on(v.as_deref())).transpose() {
        Ok(v) => v.unwrap_or(false),
        Err(e) => return crate::usage_error("prepare", &e.to_string()),
    };
    let prepared = match &cmd.incremental_dir {
        Some(inc) => crate::incremental::prepare(&run, &cmd.target_dir, inc),
        None => prepare_full(&run, cmd),
    };
    let (outcome, mut m) = match prepared {
        Ok(done) => done,
        Err(e) => return run.fail(&e.into()),
    };
    if binlog_info {
        if let Err(e) = binlog_pos_innodb(&run, &cmd.target_dir) {
            return run.fail(&e);
        }
    }
    if let Some(server) = &export_server {
        match export(&run, cmd, server, force_level) {
            Ok(fields) => m.extend(fields),
            Err(e) => return run.fail(&e),
        }
    }
    run.done(outcome, m)
}

/// The prepare of a backup on its own: its redo applied to its pages.
fn prepare_full(run: &Run, cmd: &PrepareCmd) -> Result<(&'static str, Map<String, Value>), RestoreError> {
    run.say(&format!("innohot prepare: applying the copied redo in {}", cmd.target_dir.display()));
    let r = prepare::prepare(&RealLocalFs, &cmd.target_dir)?;
    if r.already_prepared {
        run.say(&format!(
            "{} is already prepared (xtrabackup_checkpoints says so): the redo is applied",
            cmd.target_dir.display()
        ));
        return Ok(("already-prepared", Map::new()));
    }
    for s in &r.skipped {
        run.say(&format!("note: {} has no page 0 yet (created during the backup): left as it is", s.display()));
    }
    for line in &r.ddl_applied {
        run.say(&format!("note: {line}"));
    }
    for frm in &r.frm_unknown_to_innodb {
        run.say(&format!(
            "note: {} names an InnoDB table that has no .ibd and that InnoDB's dictionary does not list (an orphan \
             .frm, as on the server): left as it is",
            frm.display()
        ));
    }
    if !r.spaces_not_in_backup.is_empty() {
        let ids: Vec<String> = r.spaces_not_in_backup.iter().map(u32::to_string).collect();
        run.say(&format!(
            "note: redo skipped for {} tablespaces the redo deletes (ids {}): each the old file of a table dropped, \
             truncated or rebuilt (ALTER TABLE, OPTIMIZE TABLE) during the backup",
            ids.len(),
            ids.join(", ")
        ));
    }
    run.say(&format!(
        "applied redo {}..{} ({} bytes, {} mini-transactions, {} records; {} already in their pages) to {} \
         tablespaces: {} pages read, {} written; ib_logfile0 now starts at its checkpoint {}, \
         backup_type = log-applied; took {:.2} s",
        r.start_lsn,
        r.end_lsn,
        r.redo_bytes,
        r.mtrs,
        r.records_applied,
        r.records_already_in_page,
        r.tablespaces,
        r.pages_read,
        r.pages_written,
        r.end_lsn - 16,
        run.started_at.elapsed().as_secs_f64()
    ));
    let mut m = Map::new();
    for (k, v) in [
        ("start_lsn", r.start_lsn),
        ("end_lsn", r.end_lsn),
        ("redo_bytes", r.redo_bytes),
        ("mtrs", r.mtrs),
        ("records_applied", r.records_applied),
        ("tablespaces", r.tablespaces as u64),
        ("pages_read", r.pages_read),
        ("pages_written", r.pages_written),
        ("pages_compressed", r.pages_compressed),
    ] {
        m.insert(k.into(), json!(v));
    }
    Ok(("prepared", m))
}

enum ExportRefused {
    Usage(String),
    Failed(CmdFailure),
}

/// The server binary `--export` runs, and whether the backup is partial
/// (xtrabackup_info, read once).
struct ExportServer {
    binary: PathBuf,
    partial: bool,
}

/// Before anything is applied: the backup is MariaDB's and a server binary
/// of its series is there (a refusal then leaves the backup as it was).
fn export_server(cmd: &PrepareCmd) -> Result<ExportServer, ExportRefused> {
    if let Some(m) = &cmd.common.use_memory {
        let digits = m.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || m.len() - digits.len() > 1 {
            return Err(ExportRefused::Usage(format!("--use-memory={m}: a size is a number with K, M or G")));
        }
    }
    let info_path = cmd.target_dir.join("xtrabackup_info");
    let info = std::fs::read_to_string(&info_path).map_err(|e| {
        let why = format!("--export: reading {}: {e}", info_path.display());
        ExportRefused::Failed(CmdFailure::refused(ErrorKind::of_io(&e), why))
    })?;
    let version = info
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "server_version")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if !version.contains("MariaDB") {
        let why = format!(
            "--export: the backup is of server {version:?} (xtrabackup_info), and innohot exports MariaDB backups \
             only; for MySQL 5.7 prepare without --export and use xtrabackup 2.4 --prepare --export on a copy"
        );
        return Err(ExportRefused::Failed(CmdFailure::refused(ErrorKind::Unsupported, why)));
    }
    let failed = |e: ExportError| ExportRefused::Failed(e.into());
    let server = crate::export::find_server(cmd.mariadbd.as_deref()).map_err(failed)?;
    let out = std::process::Command::new(&server)
        .arg("--version")
        .output()
        .map_err(|source| failed(ExportError::Run { what: "running --version of", server: server.clone(), source }))?;
    crate::export::check_server_version(&server, &String::from_utf8_lossy(&out.stdout), &version).map_err(failed)?;
    Ok(ExportServer { binary: server, partial: info.contains("\npartial = Y") })
}

/// Runs the export server on the prepared backup; the JSON fields of what it did.
fn export(
    run: &Run,
    cmd: &PrepareCmd,
    server: &ExportServer,
    force_recovery: u64,
) -> Result<Map<String, Value>, CmdFailure> {
    let io = |what: String| move |e: std::io::Error| CmdFailure::refused(ErrorKind::of_io(&e), format!("{what}: {e}"));
    let dir = std::path::absolute(&cmd.target_dir).map_err(io(cmd.target_dir.display().to_string()))?;
    let found = crate::export::tables(&dir).map_err(io(format!("--export: listing {}", dir.display())))?;
    let r = crate::export::ServerRun {
        server: &server.binary,
        dir: &dir,
        defaults_file: cmd.defaults_file.as_deref(),
        group_suffix: cmd.defaults_group_suffix.as_deref(),
        memory: cmd.common.use_memory.as_deref().unwrap_or("100M"),
        force_recovery,
        // SAFETY: geteuid has no preconditions and cannot fail.
        as_root: unsafe { libc::geteuid() } == 0,
    };
    run.say(&format!(
        "innohot prepare: --export: starting {} on the backup for {} tables (FLUSH TABLES ... FOR EXPORT)",
        server.binary.display(),
        found.tables.len()
    ));
    let done = crate::export::run(&r, &found)?;
    let (output, left_out) = if server.partial && !cmd.common.verbose {
        crate::export::without_left_out_tables(&done.server_output, &dir)
    } else {
        (done.server_output.clone(), Vec::new())
    };
    if !cmd.common.quiet {
        eprint!("{output}");
    }
    if !left_out.is_empty() {
        run.say(&format!(
            "note: the server could not open the files of {} tables this partial backup left out, as expected \
             (--verbose shows its messages): {}",
            left_out.len(),
            left_out.join(", ")
        ));
    }
    for (table, files) in &done.failed {
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        run.say(&format!(
            "warning: the server wrote no .cfg for {table} ({}): see its output above; IMPORT TABLESPACE \
             without it checks no schema",
            files.join(", ")
        ));
    }
    for f in &found.without_frm {
        run.say(&format!("note: {} has no .frm: no table the server can open, not exported", f.display()));
    }
    run.say(&format!("exported {} tables: a .cfg beside each .ibd", done.tables.len()));
    let mut m = Map::new();
    m.insert("exported".into(), json!(done.tables));
    m.insert("not_exported".into(), json!(done.failed.iter().map(|(t, _)| t).collect::<Vec<_>>()));
    Ok(m)
}

/// `innohot copy-back` / `move-back`.
pub fn restore_cmd(cmd: &RestoreCmd, mode: Mode) -> ExitCode {
    let name = if mode == Mode::Copy { "copy-back" } else { "move-back" };
    let run = Run::new(name, &cmd.common, &cmd.target_dir);
    let opts = match options(cmd, mode) {
        Ok(o) => o,
        Err(OptionsError::Usage(msg)) => return crate::usage_error(name, &msg),
        Err(OptionsError::Failed(msg)) => return run.fail(&CmdFailure::refused(ErrorKind::Usage, msg)),
    };
    if let Some(aside) = crate::export::links_left_aside(&cmd.target_dir).first() {
        let why = format!(
            "{} is a DATA DIRECTORY link an interrupted prepare --export moved aside: run innohot prepare --export \
             again (it puts the links back first), or rename it to its name without the suffix",
            aside.display()
        );
        return run.fail(&CmdFailure::refused(ErrorKind::IncompleteBackup, why));
    }
    run.say(&format!("innohot {name}: {} to {}", cmd.target_dir.display(), opts.datadir.display()));
    if cmd.throttle.is_some() {
        run.say(&format!("innohot {name}: note: --throttle is not applied: {name} reads at full speed"));
    }
    let r = match copyback::restore(&RealLocalFs, &cmd.target_dir, &opts) {
        Ok(r) => r,
        Err(e) => return run.fail(&e.into()),
    };
    if let Some(note) = &r.resumed {
        run.say(note);
    }
    for p in &r.remote {
        run.say(&format!("DATA DIRECTORY table restored to {}", p.display()));
    }
    run.say(&format!(
        "{} files ({} bytes copied, {} renamed) in {}; took {:.2} s; start the server on it",
        r.files,
        r.bytes,
        r.renamed,
        opts.datadir.display(),
        run.started_at.elapsed().as_secs_f64()
    ));
    let mut m = Map::new();
    m.insert("datadir".into(), json!(opts.datadir.display().to_string()));
    m.insert("files".into(), json!(r.files));
    m.insert("bytes_copied".into(), json!(r.bytes));
    m.insert("files_renamed".into(), json!(r.renamed));
    m.insert("remote_files".into(), json!(r.remote.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()));
    m.insert("resumed".into(), json!(r.resumed));
    run.done(if mode == Mode::Copy { "copied" } else { "moved" }, m)
}

/// Why the destination cannot be worked out: the command line or the system (exit 1 either way).
enum OptionsError {
    Usage(String),
    Failed(String),
}

impl From<String> for OptionsError {
    fn from(msg: String) -> Self {
        OptionsError::Failed(msg)
    }
}

/// The destination directories from the flags and the server's option file.
fn options(cmd: &RestoreCmd, mode: Mode) -> Result<RestoreOptions, OptionsError> {
    let settings = match &cmd.defaults_file {
        Some(f) => server_settings(f, cmd.defaults_group_suffix.as_deref(), &|p: &PathBuf| {
            crate::optfile::read_option_file(p)
        })?,
        None => Default::default(),
    };
    let datadir = cmd.datadir.clone().or_else(|| settings.get("datadir").map(PathBuf::from)).ok_or_else(|| {
        OptionsError::Usage(match &cmd.defaults_file {
            None => "--datadir is missing: give --datadir=DIR, the server's datadir (missing or empty), or a \
                     --defaults-file whose [mysqld] group names datadir"
                .to_string(),
            Some(f) => format!(
                "--datadir is missing and {} names no datadir in [mysqld], [server], [mariadb] or [mariadbd]: give \
                 --datadir=DIR",
                f.display()
            ),
        })
    })?;
    let datadir = absolute(&datadir)?;
    let shown = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    // An empty --innodb-data-home-dir= (mariabackup's tests give one) is the datadir, over the file's.
    let given = [
        ("innodb_data_home_dir", cmd.innodb_data_home_dir.clone()),
        ("innodb_undo_directory", shown(&cmd.innodb_undo_directory)),
        ("innodb_log_group_home_dir", shown(&cmd.innodb_log_group_home_dir)),
        ("aria_log_dir_path", shown(&cmd.aria_log_dir_path)),
    ];
    let dir = |key: &str| {
        let flag = given.iter().find(|(k, _)| *k == key).and_then(|(_, v)| v.clone());
        let v = flag.or_else(|| settings.get(key).cloned())?;
        (!v.is_empty()).then(|| datadir.join(v.trim_start_matches("./")))
    };
    let ownership = match &cmd.chown {
        Some(spec) => Ownership::Set(owner(spec).map_err(|e| OptionsError::Usage(e.to_string()))?),
        None => Ownership::Keep,
    };
    let data_files = match cmd.innodb_data_file_path.as_ref().or(settings.get("innodb_data_file_path")) {
        None => Vec::new(),
        Some(spec) => innohot::copy::parse_data_file_path(spec)
            .map_err(|e| OptionsError::Usage(format!("--innodb-data-file-path: {e}")))?
            .into_iter()
            .map(|f| PathBuf::from(f.name))
            .collect(),
    };
    Ok(RestoreOptions {
        data_files,
        data_home_dir: dir("innodb_data_home_dir"),
        undo_dir: dir("innodb_undo_directory"),
        log_dir: dir("innodb_log_group_home_dir"),
        aria_log_dir: dir("aria_log_dir_path"),
        datadir,
        remote_inside_datadir: cmd.remote_tablespaces_inside_datadir,
        ownership,
        mode,
    })
}

fn absolute(p: &Path) -> Result<PathBuf, OptionsError> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir().map(|d| d.join(p)).map_err(|e| OptionsError::Failed(format!("the current directory: {e}")))
}

/// The server's directory settings from its groups ([mysqld], [server],
/// [mariadb], [mariadbd], ...) and the backup tool's ([xtrabackup],
/// [mariabackup], [innohot]), later ones winning, in `path` and what it includes.
/// An option file that cannot be read or parsed is bad input (optfile words it).
fn server_settings(
    path: &Path,
    suffix: Option<&str>,
    read: crate::optfile::ReadFile,
) -> Result<std::collections::BTreeMap<String, String>, OptionsError> {
    let mut out = std::collections::BTreeMap::new();
    for o in crate::optfile::read_options(path, suffix, read).map_err(|e| OptionsError::Usage(e.to_string()))? {
        if o.kind == crate::optfile::GroupKind::Client {
            continue;
        }
        let key = o.name.replace('-', "_");
        if [
            "datadir",
            "innodb_data_home_dir",
            "innodb_data_file_path",
            "innodb_undo_directory",
            "innodb_log_group_home_dir",
            "aria_log_dir_path",
        ]
        .contains(&key.as_str())
        {
            if let Some(v) = o.value.filter(|v| !v.is_empty()) {
                out.insert(key, v);
            }
        }
    }
    Ok(out)
}

/// USER, USER:GROUP or UID:GID.
fn owner(spec: &str) -> Result<Owner, BadValue> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, user_gid) = match user.parse::<u32>() {
        Ok(uid) => (uid, None),
        Err(_) => {
            let c = std::ffi::CString::new(user).map_err(|_| BadValue::ChownUserName(spec.into()))?;
            // SAFETY: getpwnam returns a pointer into static storage or NULL; read at once.
            let pw = unsafe { libc::getpwnam(c.as_ptr()) };
            if pw.is_null() {
                return Err(BadValue::ChownNoUser(user.into()));
            }
            unsafe { ((*pw).pw_uid, Some((*pw).pw_gid)) }
        }
    };
    let gid = match group {
        None => user_gid.ok_or_else(|| BadValue::ChownNoGroup(spec.into()))?,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let c = std::ffi::CString::new(g).map_err(|_| BadValue::ChownGroupName(spec.into()))?;
                // SAFETY: as getpwnam above.
                let gr = unsafe { libc::getgrnam(c.as_ptr()) };
                if gr.is_null() {
                    return Err(BadValue::ChownNoSuchGroup(g.into()));
                }
                unsafe { (*gr).gr_gid }
            }
        },
    };
    Ok(Owner { uid, gid })
}

/// `innohot mysql57-log-group --target-dir DIR`.
pub fn log_group_cmd(cmd: &LogGroupCmd) -> ExitCode {
    let run = Run::new("mysql57-log-group", &cmd.common, &cmd.target_dir);
    let files = cmd.innodb_log_files_in_group;
    let r = match mysql57_group::write_log_group(&RealLocalFs, &cmd.target_dir, files, cmd.innodb_log_file_size) {
        Ok(r) => r,
        Err(e) => return run.fail(&e.into()),
    };
    let mib = r.file_size >> 20;
    run.say(&format!(
        "wrote {} log files of {mib} MiB in {}: redo {}..{} ({} bytes) from the start checkpoint {}. Now start a \
         MySQL 5.7 server with --datadir={} --innodb-log-files-in-group={files} --innodb-log-file-size={mib}M, \
         let its crash recovery finish, and shut it down with innodb_fast_shutdown=0",
        r.files.len(),
        cmd.target_dir.display(),
        r.checkpoint_lsn,
        r.last_lsn,
        r.copied_bytes,
        r.checkpoint_lsn,
        cmd.target_dir.display(),
    ));
    let mut m = Map::new();
    m.insert("files".into(), json!(r.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()));
    m.insert("innodb_log_files_in_group".into(), json!(files));
    m.insert("innodb_log_file_size".into(), json!(r.file_size));
    m.insert("checkpoint_lsn".into(), json!(r.checkpoint_lsn));
    m.insert("last_lsn".into(), json!(r.last_lsn));
    run.done("log-group-written", m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innodb_force_recovery_is_at_most_one_and_logged_as_mariabackup_logs_it() {
        assert_eq!(force_recovery_level("2"), Ok(1));
        assert_eq!(force_recovery_level(" 0 "), Ok(0));
        assert!(force_recovery_level("x").unwrap_err().to_string().contains("needs 0 or 1, not 'x'"));
        assert!(force_recovery_lines(0).is_empty());
        let lines = force_recovery_lines(1);
        assert_eq!(lines[0], "innodb_force_recovery = 1");
        assert!(lines[1].contains("does not skip corrupt pages"), "{lines:?}");
    }

    #[test]
    fn binlog_info_values_as_mariabackup_takes_them() {
        assert_eq!(binlog_info_on(None), Ok(true));
        assert_eq!(binlog_info_on(Some("1")), Ok(true));
        assert_eq!(binlog_info_on(Some("auto")), Ok(true));
        assert_eq!(binlog_info_on(Some("OFF")), Ok(false));
        assert!(binlog_info_on(Some("lockless")).unwrap_err().to_string().contains("LOCKLESS"));
        assert!(binlog_info_on(Some("x")).unwrap_err().to_string().contains("not 'X'"));
    }
}
