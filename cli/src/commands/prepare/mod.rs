//! `innohot prepare`: a backup's copied redo applied to its pages (or an incremental backup to its
//! base), with `--export`, `--innodb-force-recovery` and `--binlog-info`.

mod export;
pub(crate) mod incremental;

use crate::args::PrepareCmd;
use crate::commands::common::usage_error;
use crate::commands::run::{BadValue, CmdFailure, Run};
use export::{export, export_server, ExportRefused};
use innohot::io::local::RealLocalFs;
use innohot::restore::{prepare, RestoreError};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
pub fn run(cmd: &PrepareCmd) -> ExitCode {
    let run = Run::new("prepare", &cmd.common, &cmd.target_dir);
    if cmd.rollback_xa {
        return usage_error(
            "prepare",
            "--rollback-xa: innohot's prepare rolls back nothing and leaves XA PREPARED transactions to the \
             server, which keeps them prepared when it starts on the restored backup: list them there with XA \
             RECOVER and end each with XA ROLLBACK 'xid' (or XA COMMIT)",
        );
    }
    let export_server = match cmd.export.then(|| export_server(cmd)).transpose() {
        Ok(s) => s,
        Err(ExportRefused::Usage(msg)) => return usage_error("prepare", &msg),
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
            Err(e) => return usage_error("prepare", &e.to_string()),
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
            Err(e) => return usage_error("prepare", &format!("{at}: {e}")),
        }
    }
    let binlog_info = match cmd.binlog_info.as_ref().map(|v| binlog_info_on(v.as_deref())).transpose() {
        Ok(v) => v.unwrap_or(false),
        Err(e) => return usage_error("prepare", &e.to_string()),
    };
    let prepared = match &cmd.incremental_dir {
        Some(inc) => incremental::prepare(&run, &cmd.target_dir, inc),
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
         backup_type = {}; took {:.2} s",
        r.start_lsn,
        r.end_lsn,
        r.redo_bytes,
        r.mtrs,
        r.records_applied,
        r.records_already_in_page,
        r.tablespaces,
        r.pages_read,
        r.pages_written,
        r.checkpoint_lsn,
        r.backup_type,
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
