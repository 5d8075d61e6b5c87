//! Step 2 of an incremental prepare: which of BASE's tablespaces each of
//! INC's deltas belongs to, and writing its pages there.
//!
//! A delta's `.meta` names its space id; its file name is the table's name
//! when the incremental was taken. A table is matched by space id, then:
//! - BASE holds the id under the same name: the pages go there;
//! - BASE holds it under another name (renamed since): that file is moved
//!   to the new name first (through a temporary name, so swaps work);
//! - BASE does not hold it (created since): the file is created;
//! - a file of BASE under the name with another id (the table was rebuilt
//!   or recreated since: a new tablespace) is removed first.
//!
//! mariabackup's DDL markers in INC (a table dropped, renamed or created
//! during the incremental) are read, not applied: INC stays as it is.
//! Afterwards, BASE's tables that no delta and no `.new` reached are
//! removed: INC holds every table, so those were dropped since.

use super::IncrementalReport;
use crate::format::delta::{self, DeltaMeta, DELTA_SUFFIX, META_SUFFIX};
use crate::format::page::{self, PageLayout};
use crate::io::{EntryKind, LocalFs};
use crate::restore::{io_err, RestoreError, Result};
use crate::stream::markers::{DEL_SUFFIX, NEW_SUFFIX, REN_SUFFIX};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One delta of INC and where its pages go in BASE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlannedDelta {
    pub delta: PathBuf,
    pub meta: DeltaMeta,
    /// Relative to BASE: `ibdata1`, `undo001`, `db/t.ibd`.
    pub target: PathBuf,
}

/// What INC brings: its deltas, and whole copies of tables created during it.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub deltas: Vec<PlannedDelta>,
    /// (INC's `db/t.new`, `db/t.ibd` relative to BASE).
    pub whole: Vec<(PathBuf, PathBuf)>,
}

/// INC's files at its top and one level down, with its markers read.
pub(super) fn plan(fs: &dyn LocalFs, inc: &Path) -> Result<Plan> {
    let mut files = Vec::new();
    for e in fs.list(inc).map_err(io_err(inc, "listing"))? {
        match e.kind {
            EntryKind::File => files.push(e.name),
            EntryKind::Dir => {
                let dir = inc.join(&e.name);
                for f in fs.list(&dir).map_err(io_err(&dir, "listing"))? {
                    if f.kind == EntryKind::File {
                        files.push(format!("{}/{}", e.name, f.name));
                    }
                }
            }
            EntryKind::Other => {}
        }
    }
    let stems = |suffix: &str| -> BTreeSet<String> {
        files.iter().filter_map(|f| f.strip_suffix(suffix)).filter(|s| s.contains('/')).map(String::from).collect()
    };
    let (dropped, created) = (stems(DEL_SUFFIX), stems(NEW_SUFFIX));
    let mut renamed = BTreeMap::new();
    for space in stems(REN_SUFFIX) {
        let marker = inc.join(format!("{space}{REN_SUFFIX}"));
        let to = String::from_utf8_lossy(&fs.read_all(&marker).map_err(io_err(&marker, "reading"))?).into_owned();
        renamed.insert(space, to.trim_end().to_string());
    }
    let mut out = Plan::default();
    for file in files.iter().filter(|f| f.ends_with(DELTA_SUFFIX)) {
        let stem = &file[..file.len() - DELTA_SUFFIX.len()];
        // mariabackup before 10.11 wrote a table created during the backup as `db/t.new.delta`.
        let name = stem.strip_suffix(NEW_SUFFIX).map_or_else(|| stem.to_string(), |space| format!("{space}.ibd"));
        let space = name.strip_suffix(".ibd").filter(|s| s.contains('/'));
        if space.is_some_and(|s| dropped.contains(s)) {
            continue;
        }
        let target = match space {
            Some(s) => format!("{}.ibd", renamed.get(s).map_or(s, String::as_str)),
            None => name.clone(),
        };
        if target.strip_suffix(".ibd").is_some_and(|s| created.contains(s)) {
            continue;
        }
        let (delta, meta_path) = (inc.join(file), inc.join(format!("{stem}{META_SUFFIX}")));
        let text = fs.read_all(&meta_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RestoreError::BadMetadata {
                path: meta_path.clone(),
                detail: format!("is missing beside {}: the incremental backup is incomplete", delta.display()),
            },
            _ => RestoreError::Io { path: meta_path.clone(), op: "reading", source: e },
        })?;
        let meta = delta::parse_meta(&String::from_utf8_lossy(&text))
            .map_err(|e| RestoreError::BadMetadata { path: meta_path.clone(), detail: e.to_string() })?;
        out.deltas.push(PlannedDelta { delta, meta, target: PathBuf::from(target) });
    }
    for space in &created {
        out.whole.push((inc.join(format!("{space}{NEW_SUFFIX}")), PathBuf::from(format!("{space}.ibd"))));
    }
    Ok(out)
}

/// The space id in a file's page 0; None when it is not written (all zeros) or too short.
fn space_id_of(fs: &dyn LocalFs, path: &Path) -> Result<Option<u32>> {
    let mut f = fs.open_read(path).map_err(io_err(path, "opening"))?;
    let mut head = vec![0u8; 4096];
    let got = f.read_at(&mut head, 0).map_err(io_err(path, "reading"))?;
    head.truncate(got);
    if head.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    Ok(page::fsp_header(&head).ok().map(|h| h.space_id))
}

/// The temporary name a table moved to another name goes through.
fn moving_name(target: &Path, space_id: u32) -> PathBuf {
    target.with_file_name(format!("#innohot-incremental-{space_id}.ibd"))
}

/// Writes every delta of `plan` into `base` and removes the tables INC does not hold.
pub(super) fn apply(fs: &dyn LocalFs, base: &Path, plan: &Plan) -> Result<IncrementalReport> {
    let mut report = IncrementalReport::default();
    let mut by_id = BTreeMap::new();
    let tables = crate::restore::prepare::tablespace_files(fs, base)?;
    for path in tables.iter().filter(|p| p.extension().is_some_and(|e| e == "ibd")) {
        if let Some(id) = space_id_of(fs, path)? {
            by_id.insert(id, path.strip_prefix(base).unwrap_or(path).to_path_buf());
        }
    }
    for d in &plan.deltas {
        let now = by_id.get(&d.meta.space_id).map_or_else(|| base.join(&d.target), |rel| base.join(rel));
        if d.target.components().count() != 2 && !fs.exists(&now) {
            return Err(RestoreError::Refused(format!(
                "{}: the target has no {}, which the incremental's {} changes: the incremental is not of this \
                 backup's server, or the server's system or undo tablespaces changed since the base (restarted \
                 with another innodb_undo_tablespaces): take a full backup; nothing was changed",
                base.display(),
                d.target.display(),
                d.delta.display()
            )));
        }
        check_delta(fs, &now, d)?;
    }
    // Tables that moved: to their temporary names first.
    let mut moving = Vec::new();
    for d in plan.deltas.iter().filter(|d| d.target.components().count() == 2) {
        match by_id.get(&d.meta.space_id) {
            Some(now) if *now != d.target => {
                let tmp = moving_name(&d.target, d.meta.space_id);
                if now != &tmp {
                    rename(fs, &base.join(now), &base.join(&tmp))?;
                    report.renamed.push((now.clone(), d.target.clone()));
                }
                moving.push((tmp, d));
            }
            _ => {}
        }
    }
    for d in &plan.deltas {
        let path = base.join(&d.target);
        let stale = fs.exists(&path) && space_id_of(fs, &path)?.is_some_and(|id| id != d.meta.space_id);
        if stale && d.target.components().count() == 2 {
            fs.remove_file(&path).map_err(io_err(&path, "removing a table recreated since the base"))?;
            report.removed.push(d.target.clone());
        }
    }
    for (tmp, d) in moving {
        rename(fs, &base.join(tmp), &base.join(&d.target))?;
    }
    for (from, to) in &plan.whole {
        let path = base.join(to);
        if fs.exists(&path) {
            fs.remove_file(&path).map_err(io_err(&path, "removing a table copied again by the incremental"))?;
        }
        create_parent(fs, &path)?;
        crate::restore::place::copy_whole(fs, from, &path, &mut Vec::new())?;
        report.replaced.push(to.clone());
    }
    for d in &plan.deltas {
        let path = base.join(&d.target);
        if !fs.exists(&path) {
            create_parent(fs, &path)?;
            fs.create_file(&path).map_err(io_err(&path, "creating"))?.sync().map_err(io_err(&path, "fdatasync"))?;
            report.created.push(d.target.clone());
        }
        report.delta_pages += write_pages(fs, &path, d)?;
        report.deltas += 1;
    }
    let kept: BTreeSet<&Path> =
        plan.deltas.iter().map(|d| d.target.as_path()).chain(plan.whole.iter().map(|w| w.1.as_path())).collect();
    for path in crate::restore::prepare::tablespace_files(fs, base)? {
        let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
        if rel.components().count() == 2 && !kept.contains(rel.as_path()) {
            fs.remove_file(&path).map_err(io_err(&path, "removing a table dropped since the base"))?;
            report.removed.push(rel);
        }
    }
    Ok(report)
}

fn create_parent(fs: &dyn LocalFs, path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => fs.create_dir_all(parent).map_err(io_err(parent, "creating")),
        None => Ok(()),
    }
}

fn rename(fs: &dyn LocalFs, from: &Path, to: &Path) -> Result<()> {
    create_parent(fs, to)?;
    fs.rename_no_replace(from, to).map_err(io_err(from, "renaming a table renamed since the base"))
}

/// The layout a delta's pages are checked with: from its own page 0, else
/// from page 0 of the file it goes into (`now`, where BASE holds it); None
/// when neither is written yet.
fn delta_layout(
    fs: &dyn LocalFs,
    now: &Path,
    d: &PlannedDelta,
    pages: &[delta::DeltaPage<'_>],
) -> Result<Option<PageLayout>> {
    let page0 = match pages.first().filter(|p| p.page_no == 0) {
        Some(p) => p.page.to_vec(),
        None if fs.exists(now) => {
            let mut f = fs.open_read(now).map_err(io_err(now, "opening"))?;
            let mut head = vec![0u8; d.meta.page_size];
            let got = f.read_at(&mut head, 0).map_err(io_err(now, "reading"))?;
            head.truncate(got);
            head
        }
        None => return Ok(None),
    };
    Ok(page::layout_from_page0(&page0).ok().filter(|l| l.physical_size == d.meta.page_size))
}

/// Decodes a delta and checks every page, before anything is written: a
/// delta page is the page as the incremental read and checked it, so one
/// that fails its checks now was damaged since, and must not reach BASE.
fn check_delta(fs: &dyn LocalFs, now: &Path, d: &PlannedDelta) -> Result<()> {
    let bytes = fs.read_mapped(&d.delta).map_err(io_err(&d.delta, "reading"))?;
    let refuse = |detail: String| {
        RestoreError::Refused(format!(
            "{}: {detail}; the incremental backup is damaged: nothing was changed, take a new incremental",
            d.delta.display()
        ))
    };
    let pages = delta::decode(d.meta.page_size, &bytes).map_err(|e| refuse(e.to_string()))?;
    let Some(layout) = delta_layout(fs, now, d, &pages)? else { return Ok(()) };
    for p in &pages {
        match page::validate_page(p.page, d.meta.space_id, p.page_no, layout) {
            Err(defect) if !defect.is_permanent() => {
                return Err(refuse(format!("page {} of space {} is damaged ({defect})", p.page_no, d.meta.space_id)))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes one delta's pages (checked by `check_delta`) into `path`; grows
/// the file to the size page 0 gives. Returns the pages written.
fn write_pages(fs: &dyn LocalFs, path: &Path, d: &PlannedDelta) -> Result<u64> {
    let bytes = fs.read_mapped(&d.delta).map_err(io_err(&d.delta, "reading"))?;
    let bad = |detail: String| RestoreError::BadMetadata { path: d.delta.clone(), detail };
    let pages = delta::decode(d.meta.page_size, &bytes).map_err(|e| bad(e.to_string()))?;
    let mut file = fs.open_edit(path).map_err(io_err(path, "opening"))?;
    for p in &pages {
        let at = u64::from(p.page_no) * d.meta.page_size as u64;
        file.write_at(p.page, at).map_err(io_err(path, "writing a page of the incremental into"))?;
    }
    if let Some(fsp) = pages.first().filter(|p| p.page_no == 0).and_then(|p| page::fsp_header(p.page).ok()) {
        let want = u64::from(fsp.size_pages) * d.meta.page_size as u64;
        if file.size().map_err(io_err(path, "sizing"))? < want {
            file.set_len(want).map_err(io_err(path, "extending"))?;
        }
    }
    file.sync().map_err(io_err(path, "fdatasync"))?;
    Ok(pages.len() as u64)
}
