//! `innohot prepare --export`: the checks before anything is applied, and the server run after.

use crate::args::PrepareCmd;
use crate::commands::run::{CmdFailure, Run};
use crate::export::ExportError;
use innohot::ErrorKind;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

pub(super) enum ExportRefused {
    Usage(String),
    Failed(CmdFailure),
}

/// The server binary `--export` runs, and whether the backup is partial
/// (xtrabackup_info, read once).
pub(super) struct ExportServer {
    binary: PathBuf,
    partial: bool,
}

/// Before anything is applied: the backup is MariaDB's and a server binary
/// of its series is there (a refusal then leaves the backup as it was).
pub(super) fn export_server(cmd: &PrepareCmd) -> Result<ExportServer, ExportRefused> {
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
pub(super) fn export(
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
