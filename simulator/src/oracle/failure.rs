//! Whether a failed backup failed for the right reason: its error must be of the
//! kind of what happened (a lap, an index build without redo, the planned fault
//! that fired) and say so in words a user can act on.

use crate::config::SimConfig;
use crate::faults::{EIO, ENOSPC};
use crate::outcome::RunStats;
use crate::server::SimServer;
use innohot::BackupError;

/// Why this failure was the right answer, or None if nothing called for it. The
/// error's kind must match what happened (a lap, the fault that fired); its
/// message must then say so, which is checked separately.
pub(super) fn failure_reason(
    err: &BackupError,
    srv: &SimServer,
    stats: &RunStats,
    cfg: &SimConfig,
    wrong: &mut Vec<String>,
) -> Option<String> {
    let msg = err.to_string();
    if err.is_lap() {
        let Some((at, ahead)) = stats.lapped else {
            wrong.push(format!("reported a lap that did not happen: {msg}"));
            return Some(String::new());
        };
        if !msg.contains("the redo log wrapped before it was copied") || !msg.contains("innodb_log_file_size") {
            wrong.push(format!("a lap failed the backup without saying what to do: {msg}"));
        }
        let found = stats.lap_detected_at.unwrap_or(at);
        if stats.polls_after_lap > 1 {
            wrong.push(format!("the lap was found only {} log copier passes after it happened", stats.polls_after_lap));
        }
        return Some(format!(
            "lapped: the server overwrote uncopied redo ({ahead} bytes ahead) at {:.3} ms, found {:.3} ms later",
            at as f64 / 1e6,
            found.saturating_sub(at) as f64 / 1e6
        ));
    }
    if let BackupError::IndexBuiltWithoutRedo { lsn, .. } = err {
        if !srv.truth.index_loads.iter().any(|l| l == lsn && srv.truth.index_load_unflushed_at_copy(*l)) {
            wrong.push(format!("reported an index build the copied redo does not hold: {msg}"));
        }
        if !msg.contains("MLOG_INDEX_LOAD") {
            wrong.push(format!("an index build without redo failed the backup without naming it: {msg}"));
        }
        return Some(format!("an index was built without redo during the copy: {msg}"));
    }
    let Some(fired) = stats.faults_fired.first() else {
        if stats.lapped.is_some() {
            wrong.push(format!("the server lapped the copier, but the backup failed with another error: {msg}"));
        }
        return None;
    };
    let f = &cfg.faults;
    if f.server_call.is_some() && fired.starts_with("lost connection") {
        if !err.is_connection_lost() {
            wrong.push(format!("a lost connection failed the backup with another kind of error: {err:?}"));
        } else if !msg.contains("connection") {
            wrong.push(format!("a lost connection failed the backup without saying so: {msg}"));
        }
        return Some(format!("{fired}: {msg}"));
    }
    let (file, errno) = match (&f.target_create_enospc, &f.target_write_eio, &f.target_sync_eio, &f.source_read_eio) {
        (Some(n), ..) => (n.clone(), ENOSPC),
        (_, Some((n, _)), ..) | (_, _, _, Some((n, _))) => (n.clone(), EIO),
        (_, _, Some(n), _) => (n.clone(), EIO),
        _ => return None,
    };
    match err.io_failure() {
        Some((path, e)) if path.ends_with(&file) && e.raw_os_error() == Some(errno) => {
            let os_named =
                msg.contains("os error") || msg.contains("No space left") || msg.contains("Input/output error");
            if !(msg.contains(file.as_str()) && os_named) {
                wrong.push(format!("the error does not name the file and the OS error of {fired:?}: {msg}"));
            }
        }
        _ => wrong.push(format!("{fired:?} fired, but the backup failed with {err:?}")),
    }
    Some(format!("{fired}: {msg}"))
}
