//! MariaDB's side of the oracle: the backup's `ib_logfile0` is mariabackup's header
//! and the server's mtrs from the start checkpoint on, and the engine's MariaDB
//! prepare turns the copied pages into the server's pages at `last_lsn`.

use super::pages::{check_missing_spaces_were_dropped, page_layout, restored_page, CopiedPages};
use crate::server::SimServer;
use innohot::backup::Summary;
use innohot::format::mariadb;
use innohot::format::page;
use innohot::restore::prepare;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The backup's `ib_logfile0`: the header mariabackup writes for the start checkpoint,
/// then exactly the mtrs the server wrote from that checkpoint to `last_lsn`, each
/// termination byte set to 1 (the copy never wraps).
pub(super) fn check_mariadb_redo(
    srv: &SimServer,
    target: &Path,
    start_lsn: u64,
    last_lsn: u64,
    wrong: &mut Vec<String>,
) {
    let Ok(copy) = fs::read(target.join("ib_logfile0")) else {
        wrong.push("ib_logfile0 is missing".into());
        return;
    };
    let hdr_len = mariadb::START_OFFSET as usize;
    if copy.len() < hdr_len {
        wrong.push(format!("ib_logfile0 is only {} bytes", copy.len()));
        return;
    }
    let (header, cp) = match mariadb::parse_log_header(&copy[..hdr_len]) {
        Ok(h) => h,
        Err(e) => return wrong.push(format!("ib_logfile0 header: {e}")),
    };
    if !srv.truth.mariadb_checkpoints.contains(&cp) {
        wrong.push(format!("the copied header holds checkpoint {cp:?}, which the server never wrote"));
    }
    if start_lsn != cp.lsn || header.first_lsn != cp.lsn {
        wrong.push(format!(
            "start LSN {start_lsn} and the copy's first LSN {} are not the copied checkpoint's LSN {}",
            header.first_lsn, cp.lsn
        ));
    }
    let creator = mariadb::backup_creator(&srv.variables()["version"]);
    if copy[..hdr_len] != mariadb::backup_log_header(cp, &creator)[..] {
        wrong.push(format!("the ib_logfile0 header is not the one mariabackup writes for {cp:?} ({creator:?})"));
    }
    let Some(expected) = srv.truth.mariadb_log.as_copied(cp.lsn, last_lsn) else {
        return wrong.push(format!("LSN {}..{last_lsn} does not start and end at mtrs the server wrote", cp.lsn));
    };
    let got = &copy[hdr_len..];
    if got != &expected[..] {
        let at = got.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
        wrong.push(format!(
            "ib_logfile0 holds {} bytes of redo, {} expected for LSN {}..{last_lsn}; they differ from LSN {}",
            got.len(),
            expected.len(),
            cp.lsn,
            cp.lsn + at as u64
        ));
    }
}

/// MariaDB's oracle v2: apply the backup's `ib_logfile0` to the copied pages with
/// the engine's MariaDB prepare; every page that is not free must then equal the
/// server's page as of `last_lsn` (all but its checksum and LSN fields) and be
/// valid, and the file records must name the backup's tablespaces as it does.
pub(super) fn check_mariadb_restore(
    srv: &SimServer,
    target: &Path,
    s: &Summary,
    mut store: CopiedPages,
    wrong: &mut Vec<String>,
) {
    let log = fs::read(target.join("ib_logfile0")).unwrap_or_default();
    // As prepare does: files copied before an extension first get the size its redo gives.
    let parsed = match prepare::mariadb::parse_log(&log, s.last_lsn) {
        Ok(p) => p,
        Err(e) => return wrong.push(format!("prepare failed: {e}")),
    };
    store.extend_to(&parsed.report.sizes);
    let report = match prepare::mariadb::apply_parsed(&log, &parsed, &mut store) {
        Ok(r) => r,
        Err(e) => return wrong.push(format!("prepare failed: {e}")),
    };
    check_missing_spaces_were_dropped(srv, &report.spaces_not_in_backup, wrong);
    check_file_names(srv, &report.file_names, wrong);
    let freed = &srv.truth.freed_at_final_pass;
    if let Some(p) = report.pages_freed.iter().find(|p| !freed.contains(p)) {
        wrong.push(format!("prepare left page {p:?} freed, the server had it in use at LSN {}", s.last_lsn));
    }
    check_restored_pages(srv, &store, s.last_lsn, report.mtrs, wrong);
}

/// The name the redo leaves each tablespace with (None: deleted) must be the one
/// the backup holds it under.
fn check_file_names(srv: &SimServer, file_names: &BTreeMap<u32, Option<String>>, wrong: &mut Vec<String>) {
    for (id, name) in file_names {
        let held =
            srv.truth.spaces_at_final_pass.iter().find(|(i, _)| i == id).map(|(_, rel)| format!("./{}", rel.display()));
        // A DATA DIRECTORY table is named by its absolute path in redo and held
        // beside its `.isl` in the backup (mariabackup's layout): same table.
        let name = name.as_ref().map(|n| match n.strip_prefix(crate::mount::REMOTE_MOUNT) {
            Some(rest) => format!(".{rest}"),
            None => n.clone(),
        });
        match (name, held) {
            (Some(n), Some(h)) if *n != h => {
                wrong.push(format!("the redo names tablespace {id} {n:?} at the end, the backup holds it as {h:?}"))
            }
            (None, Some(h)) => wrong.push(format!("the redo deletes tablespace {id}, the backup holds it as {h:?}")),
            (Some(n), None) => wrong.push(format!("the redo leaves tablespace {id} as {n:?}, the backup lacks it")),
            _ => {}
        }
    }
}

/// After prepare, every page the server had in use at `last_lsn` is its page then
/// (all but the checksum and LSN fields), no newer, and valid; reports the first
/// page that is not.
pub(super) fn check_restored_pages(
    srv: &SimServer,
    store: &CopiedPages,
    last_lsn: u64,
    mtrs: u64,
    wrong: &mut Vec<String>,
) {
    let psize = srv.cfg.page_size;
    let freed = &srv.truth.freed_at_final_pass;
    let layout = page_layout(srv);
    // All but the checksum (or key version), the LSN, the flush LSN and the trailer.
    let compared = [4..16, 24..26, 34..psize - 8];
    for (space_id, truth_pages) in &srv.truth.pages_at_final_pass {
        let file = &store.spaces[space_id];
        for (no, truth) in truth_pages.iter().enumerate() {
            if page::is_doublewrite_page(*space_id, no as u32, layout) || freed.contains(&(*space_id, no as u32)) {
                continue;
            }
            let Some(got) = restored_page(file, no, psize) else {
                if truth.iter().any(|&b| b != 0) {
                    wrong.push(format!("restore: space {space_id} page {no} is missing after prepare"));
                    return;
                }
                continue;
            };
            let lsn = u64::from_be_bytes(got[16..24].try_into().expect("8 bytes"));
            let differs = compared.iter().any(|r| got[r.clone()] != truth[r.clone()]);
            if differs || lsn > last_lsn {
                wrong.push(format!(
                    "restore: space {space_id} page {no} after applying the redo (page LSN {lsn}) is not the server's page at LSN {last_lsn} ({mtrs} mtrs applied)"
                ));
                return;
            }
            if let Err(d) = page::validate_page(got, *space_id, no as u32, layout) {
                wrong.push(format!("restore: space {space_id} page {no} is invalid after prepare: {d}"));
                return;
            }
        }
    }
}
