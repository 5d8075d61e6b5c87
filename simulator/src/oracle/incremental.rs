//! The incremental scenario's side of the oracle: an incremental backup's
//! deltas, read with a decoder of the oracle's own (docs/FORMATS.md §7b), must
//! hold exactly the pages the copy read with an LSN at or above `from_lsn`,
//! each a version the server had on disk; and a chain prepared by innohot
//! (the base prepared, then each incremental applied) must hold the server's
//! pages as of the last applied backup's `last_lsn`, judged as the prepared
//! pages of a full backup are ([`super::mariadb`], [`super::mysql57`]).

use super::pages::{self, page_layout};
use super::{list_tree, mariadb, mysql57};
use crate::config::Flavor;
use crate::server::SimServer;
use innohot::backup::Summary;
use innohot::format::page;
use innohot::format::Lsn;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A tablespace's files in an incremental backup: `NAME.delta` and `NAME.meta`.
pub(super) fn delta_files(rel: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut s = rel.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [with(".delta"), with(".meta")]
}

/// A `.delta` file's pages, (page number, bytes) in file order: blocks of a
/// header page ("xtra", or "XTRA" on the last) listing up to `page_size / 4 - 1`
/// page numbers (ended by 0xFFFFFFFF when fewer), each followed by its pages.
fn decode_delta(bytes: &[u8], psize: usize) -> Result<Vec<(u32, &[u8])>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let header = bytes.get(at..at + psize).ok_or(format!("no whole block header at byte {at}"))?;
        let last = match &header[..4] {
            b"XTRA" => true,
            b"xtra" => false,
            m => return Err(format!("block header at byte {at} starts {m:02x?}")),
        };
        let nos: Vec<u32> = header[4..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")))
            .take_while(|&n| n != u32::MAX)
            .collect();
        at += psize;
        for no in nos {
            let pg = bytes.get(at..at + psize).ok_or(format!("page {no} cut short at byte {at}"))?;
            out.push((no, pg));
            at += psize;
        }
        if last {
            return if at == bytes.len() { Ok(out) } else { Err(format!("bytes after the last block, from {at}")) };
        }
    }
}

/// What the deltas of an incremental backup showed besides what is wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaFacts {
    /// Delta pages whose LSN is exactly `from_lsn`.
    pub at_from_lsn: u64,
    /// Tables held whole as `db/t.new` (see [`is_whole_copy`]).
    pub whole_copies: u64,
}

/// Every tablespace at the final pass has its delta and meta; the meta names
/// its space id and page size; each delta page is valid, has an LSN at or
/// above `from_lsn` and is a version the server had on disk during the copy;
/// and each page the copy surely read (the file's pages when the copy began)
/// that the delta leaves out had, at some moment of the copy, an LSN below
/// `from_lsn` (a page of zeros has LSN 0).
pub(super) fn check_deltas(srv: &SimServer, target: &Path, from_lsn: Lsn, wrong: &mut Vec<String>) -> DeltaFacts {
    let psize = srv.cfg.page_size;
    let (from, to) = srv.truth.copy_window;
    let mut facts = DeltaFacts::default();
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        if is_whole_copy(srv, target, *id, rel) {
            facts.whole_copies += 1;
            check_whole_copy(srv, target, *id, rel, wrong);
            continue;
        }
        let [delta, meta] = delta_files(rel);
        let bytes = fs::read(target.join(&delta)).unwrap_or_default();
        let held = match decode_delta(&bytes, psize) {
            Ok(pages) => pages,
            Err(e) => {
                wrong.push(format!("{}: {e}", delta.display()));
                continue;
            }
        };
        let want = format!("page_size = {psize}\nzip_size = 0 \nspace_id = {id}\n");
        match fs::read_to_string(target.join(&meta)) {
            Ok(text) if text == want => {}
            Ok(text) => wrong.push(format!("{} is {text:?}, not {want:?}", meta.display())),
            Err(e) => wrong.push(format!("{}: {e}", meta.display())),
        }
        for &(no, pg) in &held {
            match check_delta_page(srv, *id, no, pg, from_lsn) {
                Ok(at_from) => facts.at_from_lsn += u64::from(at_from),
                Err(e) => {
                    wrong.push(format!("{} page {no}: {e}", delta.display()));
                    return facts;
                }
            }
        }
        let held: BTreeSet<u32> = held.iter().map(|p| p.0).collect();
        let last = srv.truth.pages_at_final_pass.iter().find(|(i, _)| i == id).map_or(0, |(_, p)| p.len());
        let read = *srv.truth.copied_size_range(*id, from, last as u32).start();
        if let Some(no) = (0..read).find(|no| !held.contains(no) && !had_lsn_below(srv, *id, *no, from_lsn, from, to)) {
            wrong.push(format!(
                "{}: page {no} is not in the delta, but every version of it on disk during the copy has an LSN at or \
                 above from_lsn {from_lsn} ({:?})",
                delta.display(),
                lsns_in_window(srv, *id, no, from, to)
            ));
        }
    }
    facts
}

/// `db/t.new` for `db/t.ibd`: the whole-file form of a table in an incremental.
pub(super) fn whole_copy_name(rel: &Path) -> PathBuf {
    rel.with_extension("new")
}

/// Whether the incremental holds the tablespace whole, as `db/t.new`, and
/// may: a MariaDB table whose page 0 was zeros at some moment of the copy (a
/// table so new that the server had not flushed it yet: its space id is in
/// no file, so no meta could name it; mariabackup copies such a table whole,
/// and so does innohot).
pub(super) fn is_whole_copy(srv: &SimServer, target: &Path, id: u32, rel: &Path) -> bool {
    if srv.cfg.flavor != Flavor::MariaDb || !target.join(whole_copy_name(rel)).exists() {
        return false;
    }
    let (from, to) = srv.truth.copy_window;
    let zeros = crate::truth::fingerprint(&vec![0u8; srv.cfg.page_size]);
    srv.truth.pages.get(&(id, 0)).is_none_or(|v| {
        v.iter().enumerate().any(|(i, p)| {
            let alive = p.written_at <= to && v.get(i + 1).map_or(u64::MAX, |n| n.written_at) >= from;
            alive && p.fingerprint == zeros
        })
    })
}

/// A table held whole: every page zeros or a valid version the server had on
/// disk during the copy.
fn check_whole_copy(srv: &SimServer, target: &Path, id: u32, rel: &Path, wrong: &mut Vec<String>) {
    let name = whole_copy_name(rel);
    let (from, to) = srv.truth.copy_window;
    let bytes = fs::read(target.join(&name)).unwrap_or_default();
    for (no, pg) in bytes.chunks(srv.cfg.page_size).enumerate() {
        let on_disk = srv.truth.page_was_on_disk(id, no as u32, pg, from, to);
        let valid = page::validate_page(pg, id, no as u32, page_layout(srv)).is_ok();
        if pg.iter().any(|&b| b != 0) && !(valid && on_disk) {
            wrong.push(format!(
                "{} page {no}: valid {valid}, a version on disk during the copy {on_disk}",
                name.display()
            ));
            return;
        }
    }
}

/// One delta page: valid, not zeros, LSN at or above `from_lsn`, on disk
/// during the copy; whether its LSN is `from_lsn`.
fn check_delta_page(srv: &SimServer, id: u32, no: u32, pg: &[u8], from_lsn: Lsn) -> Result<bool, String> {
    let (from, to) = srv.truth.copy_window;
    page::validate_page(pg, id, no, page_layout(srv)).map_err(|d| format!("the copied page is invalid: {d}"))?;
    let lsn = u64::from_be_bytes(pg[16..24].try_into().expect("8 bytes"));
    if pg.iter().all(|&b| b == 0) || lsn < from_lsn {
        return Err(format!("a page of LSN {lsn} (zeros: {}), below from_lsn {from_lsn}", lsn == 0));
    }
    if !srv.truth.page_was_on_disk(id, no, pg, from, to) {
        return Err("the copy is no version the server had on disk during the copy".into());
    }
    Ok(lsn == from_lsn)
}

/// Whether some version of the page on disk during the server actions
/// `from..=to` had an LSN below `lsn`.
fn had_lsn_below(srv: &SimServer, space: u32, no: u32, lsn: Lsn, from: u64, to: u64) -> bool {
    lsns_in_window(srv, space, no, from, to).iter().any(|&l| l < lsn)
}

/// The LSNs of the page's versions on disk during the server actions `from..=to`.
fn lsns_in_window(srv: &SimServer, space: u32, no: u32, from: u64, to: u64) -> Vec<Lsn> {
    let Some(versions) = srv.truth.pages.get(&(space, no)) else { return Vec::new() };
    versions
        .iter()
        .enumerate()
        .filter(|(i, v)| v.written_at <= to && versions.get(i + 1).map_or(u64::MAX, |n| n.written_at) >= from)
        .map(|(_, v)| v.lsn)
        .collect()
}

/// A chain prepared up to the backup `s` (the base prepared, then each
/// incremental up to `s` applied): every tablespace the server had at `s`'s
/// final pass holds the server's pages as of `s.last_lsn` (what the oracle
/// asks of a prepared full backup); the database directories hold exactly the
/// server's tablespaces and non-InnoDB files, the latter as they were under
/// `s`'s lock; `xtrabackup_checkpoints` ends at `s`'s LSNs. `mtrs`: how many
/// the last prepare applied, for the messages.
pub fn check_chain(srv: &SimServer, chain: &Path, s: &Summary, mtrs: u64) -> Vec<String> {
    let mut wrong = Vec::new();
    let store = pages::copied_pages(srv, chain);
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        if !store.spaces.contains_key(id) {
            wrong.push(format!("{} (space {id}) is missing from the prepared chain", rel.display()));
        }
    }
    if wrong.is_empty() {
        match srv.cfg.flavor {
            Flavor::Mysql57 => mysql57::check_restored_pages(srv, &store, s.last_lsn, mtrs, &mut wrong),
            Flavor::MariaDb => mariadb::check_restored_pages(srv, &store, s.last_lsn, mtrs, &mut wrong),
        }
    }
    check_chain_files(srv, chain, &mut wrong);
    let checkpoints = fs::read_to_string(chain.join(innohot::meta::CHECKPOINTS_FILE)).unwrap_or_default();
    let prepared = if srv.cfg.flavor == Flavor::MariaDb { "log-applied" } else { "full-prepared" };
    for line in [
        format!("backup_type = {prepared}"),
        "from_lsn = 0".into(),
        format!("to_lsn = {}", s.to_lsn),
        format!("last_lsn = {}", s.last_lsn),
    ] {
        if !checkpoints.lines().any(|l| l == line) {
            wrong.push(format!("the prepared chain's {} lacks {line:?}", innohot::meta::CHECKPOINTS_FILE));
        }
    }
    wrong
}

/// The chain's database directories hold the server's tablespaces and
/// non-InnoDB files and nothing else (no table dropped since lingers), and
/// each non-InnoDB file is as it was under the lock.
fn check_chain_files(srv: &SimServer, chain: &Path, wrong: &mut Vec<String>) {
    let in_dir = |p: &PathBuf| p.components().count() > 1;
    let mut expected: BTreeSet<PathBuf> = srv.truth.spaces_at_final_pass.iter().map(|(_, r)| r.clone()).collect();
    expected.extend(srv.truth.non_innodb_at_lock.keys().cloned());
    expected.retain(in_dir);
    let actual: BTreeSet<PathBuf> = list_tree(chain).into_iter().filter(in_dir).collect();
    for extra in actual.difference(&expected) {
        wrong.push(format!("the prepared chain holds {}, which the server does not have", extra.display()));
    }
    for missing in expected.difference(&actual) {
        wrong.push(format!("the prepared chain lacks {}", missing.display()));
    }
    for (rel, bytes) in &srv.truth.non_innodb_at_lock {
        if fs::read(chain.join(rel)).is_ok_and(|b| &b != bytes) {
            wrong.push(format!("the prepared chain's {} is not the server's under the lock", rel.display()));
        }
    }
}
