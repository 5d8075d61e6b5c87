//! Phases 11-15: find the tablespaces, copy them chunk by chunk while the log
//! follows, take the lock, settle DDL that ran meanwhile, prove nothing is
//! missing, copy the non-InnoDB files.

use super::precopy::OnceListed;
use super::reconcile;
use super::stage::{Connected, Copying};
use super::witness::{self, Held};
use super::{Backup, CopiedTable, Next};
use crate::copy::delta::CopyForm;
use crate::copy::{self, CopyPool, Durability, InnodbLayout, LaneStep, PoolServices, Tablespace, TablespaceKind};
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Role};
use crate::io::{FileId, SourceFs};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the orchestrator looks whether the other copy lanes are done.
const LANE_WAIT: Duration = Duration::from_millis(2);

impl Backup {
    /// Plans the data copy: the copy pool with every tablespace found, and
    /// where InnoDB keeps its files.
    pub(super) fn tablespace_scan(&mut self, conn: &Connected) -> Result<(Arc<CopyPool>, InnodbLayout)> {
        let phase = Phase::TablespaceScan;
        self.begin(phase);
        for &step in conn.flavor.before_copy() {
            self.lock_statement(phase, step)?;
        }
        let vars = &conn.vars;
        let layout = InnodbLayout {
            datadir: conn.datadir.clone(),
            data_home_dir: copy::server_dir(&conn.datadir, vars.get("innodb_data_home_dir")),
            data_files: copy::parse_data_file_path(vars.require("innodb_data_file_path")?)?,
            undo_dir: copy::server_dir(&conn.datadir, vars.get("innodb_undo_directory")),
            undo_tablespaces: vars.get("innodb_undo_tablespaces").and_then(|v| v.parse().ok()).unwrap_or(0),
        };
        if let Some(base) = self.opts.incremental_base_undo.filter(|&b| b != layout.undo_tablespaces) {
            return Err(BackupError::Config(format!(
                "--incremental backup is impossible if the server had been restarted with different \
                 innodb_undo_tablespaces: the base has {base} undo tablespaces, the server now {}; an incremental \
                 over it could not be prepared: take a full backup",
                layout.undo_tablespaces
            )));
        }
        let found = self.discover_tablespaces(&*self.svc.fs, &layout)?;
        self.note(phase, format!("{} InnoDB data files to copy", found.len()));
        self.svc.progress.copy_planned(&found.iter().map(|ts| ts.source.as_path()).collect::<Vec<_>>());
        let new_file_layout = conn.flavor.new_file_layout(&conn.vars)?;
        let svc = PoolServices {
            fs: self.svc.fs.clone(),
            target: self.svc.target.clone(),
            progress: self.svc.progress.clone(),
            clock: self.svc.clock.clone(),
            pace: self.pace.take(),
        };
        let pool = CopyPool::new(&self.opts.copy, new_file_layout, svc, Phase::DataCopy);
        pool.push(Phase::DataCopy, found);
        Ok((Arc::new(pool), layout))
    }

    /// The tablespaces on disk, less those a partial backup leaves out and the
    /// one a test asked to leave out.
    fn discover_tablespaces(&self, fs: &dyn SourceFs, layout: &InnodbLayout) -> Result<Vec<Tablespace>> {
        let mut found = copy::discover_tablespaces(fs, layout)?;
        found.retain(|ts| ts.kind != TablespaceKind::Table || self.opts.filter.holds_file(&ts.target));
        if let Some(skip) = &self.opts.test_hooks.skip_tablespace {
            found.retain(|ts| ts.kind != TablespaceKind::Table || ts.target.with_extension("") != Path::new(skip));
        }
        Ok(found)
    }

    pub(super) fn copy_data_step(&mut self, copying: &Copying) -> Result<Next> {
        if self.sub == 0 {
            self.begin(Phase::DataCopy);
            self.sub = 1;
        }
        match self.copy_tablespace_step(&copying.pool)? {
            Some(next) => Ok(next),
            None => {
                if let Some(summary) = copying.pool.pace_summary() {
                    self.note(Phase::DataCopy, summary);
                }
                self.advance(Phase::LogFollows)
            }
        }
    }

    /// `--throttle`: the copy's pace, with its first sample of the server's
    /// load taken now, so the copy rarely has to wait to see the server undisturbed.
    pub(super) fn start_pacing(&mut self, phase: Phase) {
        let probe = self.svc.load_probe.take();
        let Some(mut pace) = copy::PaceState::new(self.opts.copy.pacing, probe) else { return };
        if let Some(note) = pace.gate(self.svc.clock.now()).note {
            self.note(phase, note);
        }
        self.pace = Some(pace);
    }

    /// One step of the orchestrator's own copy lane; None once every queued
    /// tablespace is copied on every lane.
    pub(super) fn copy_tablespace_step(&mut self, pool: &CopyPool) -> Result<Option<Next>> {
        if let Some(e) = pool.take_error() {
            return Err(e);
        }
        let step = pool.step(&mut self.lane)?;
        self.collect_copies(pool);
        Ok(match step {
            LaneStep::Worked => Some(Next::Continue),
            LaneStep::WaitUntil(t) => Some(Next::WaitUntil(t)),
            LaneStep::Idle if pool.is_drained() => match pool.take_error() {
                Some(e) => return Err(e),
                None => None,
            },
            // The other lanes are finishing their files.
            LaneStep::Idle => Some(Next::WaitUntil(self.svc.clock.now() + LANE_WAIT)),
        })
    }

    /// Files every lane has finished, in scan order.
    fn collect_copies(&mut self, pool: &CopyPool) {
        for done in pool.take_finished() {
            match (done.tablespace.kind, done.space_id) {
                (TablespaceKind::Table, space_id) => self.copied_tables.push(CopiedTable {
                    space_id,
                    source: done.tablespace.source,
                    target: done.tablespace.target,
                    file_id: done.file_id,
                    bytes: done.bytes,
                    form: done.form,
                }),
                (_, Some(id)) => self.copied_system_spaces.push(id),
                (_, None) => {}
            }
            self.data_files += 1;
            self.data_bytes += done.bytes;
            if let Some(d) = done.delta {
                self.delta.pages_scanned += d.pages_scanned;
                self.delta.pages_written += d.pages_written;
            }
        }
    }

    /// Bytes read from data files so far, on every lane (a simulated disk charges for them).
    pub fn data_bytes_read(&self) -> u64 {
        self.stage.pool().map_or(0, |p| p.bytes_copied())
    }

    /// The copy pool while its other lanes have work: drivers run
    /// `CopyPool::worker_step` on `lanes() - 1` more lanes until they are idle.
    pub fn copy_pool(&self) -> Option<Arc<CopyPool>> {
        self.stage.pool().filter(|p| self.phase == Phase::DataCopy && p.lanes() > 1).cloned()
    }

    pub(super) fn lock_step(&mut self, copying: &Copying) -> Result<Next> {
        if self.sub == 0 {
            self.begin(Phase::Lock);
            if self.opts.no_lock {
                self.note(Phase::Lock, "--no-lock: no lock statement; DDL and non-InnoDB writes must not happen now");
            }
            self.wait_for_long_queries()?;
        }
        let steps = copying.conn().flavor.lock_steps();
        self.lock_statement(Phase::Lock, steps[self.sub])?;
        self.sub += 1;
        if self.sub == steps.len() {
            return self.advance(Phase::NonInnodbFiles);
        }
        Ok(Next::Continue)
    }

    /// Phase 15, one step at a time: with DDL blocked, the tablespace reconcile
    /// and its copies, the dictionary check and every non-InnoDB file the
    /// server no longer writes (after a copy before the lock: those that
    /// changed since); then (MariaDB) the commit lock, and the files written
    /// until it. Each directory is listed once.
    pub(super) fn non_innodb_step(&mut self, copying: &Copying) -> Result<Next> {
        let phase = Phase::NonInnodbFiles;
        let conn = copying.conn();
        if self.sub == 0 {
            self.begin(phase);
            let fs = self.svc.fs.clone();
            let listed = OnceListed::new(&*fs);
            self.reconcile_tablespaces(phase, copying, &listed)?;
            let found = self.non_innodb_files(conn, &listed)?;
            self.hold_empty_schemas(phase, &found.empty_schemas)?;
            let files = found.files;
            let files = self.changed_since_precopy(phase, files)?;
            let flavor = &conn.flavor;
            let (late, now): (Vec<_>, Vec<_>) =
                files.into_iter().partition(|(_, rel)| flavor.written_until_commit_lock(rel));
            self.other_files = now.into();
            self.commit_files = late.into();
            self.sub = 1;
        }
        if let Some(next) = self.copy_tablespace_step(&copying.pool)? {
            return Ok(next);
        }
        if self.sub == 1 {
            self.check_against_dictionary(conn)?;
            self.sub = 2;
        }
        if let Some((source, rel)) = self.other_files.pop_front() {
            return self.copy_other_file(phase, source, rel);
        }
        let commit_steps = conn.flavor.commit_lock_steps();
        if let Some(&step) = commit_steps.get(self.sub - 2) {
            if self.sub == 2 {
                // While commits still run: BLOCK_COMMIT fdatasyncs the binlog, and on a
                // virtual disk that flush waited for these copies' written-back pages
                // (13.6 ms of an 18 ms BLOCK_COMMIT with 2,000 tables, server strace).
                let synced = self.sync_unsynced()?;
                self.note(phase, format!("{synced} files copied with DDL blocked are durable before commits wait"));
            }
            self.lock_statement(phase, step)?;
            self.sub += 1;
            return Ok(Next::Continue);
        }
        if let Some((source, rel)) = self.commit_files.pop_front() {
            return self.copy_other_file(phase, source, rel);
        }
        self.note(phase, "Finished backing up non-InnoDB tables and files");
        self.advance(Phase::BinlogPosition)
    }

    /// An empty `db.opt` for each database directory with nothing in it, so
    /// that the restored server has the database too.
    fn hold_empty_schemas(&mut self, phase: Phase, schemas: &[String]) -> Result<()> {
        let target = self.svc.target.clone();
        for db in schemas {
            let rel = Path::new(db).join("db.opt");
            target.create_dir_all(Path::new(db)).map_err(|e| BackupError::io(target.root().join(db), "creating", e))?;
            crate::io::write_durable(&*target, &rel, b"")
                .map_err(|e| BackupError::io(target.root().join(&rel), "writing", e))?;
            self.note(phase, format!("Writing {}", rel.display()));
        }
        Ok(())
    }

    /// One non-InnoDB file, whole; made durable before BLOCK_COMMIT (MariaDB) or after the lock.
    pub(super) fn copy_other_file(&mut self, phase: Phase, source: PathBuf, rel: PathBuf) -> Result<Next> {
        let target = self.svc.target.root().join(&rel);
        let (progress, clock) = (&*self.svc.progress, &*self.svc.clock);
        let started =
            EventKind::CopyStarted { source: source.display().to_string(), target: target.display().to_string() };
        emit(progress, clock, phase, Role::Main, started);
        let bytes = copy::copy_plain_file(
            &*self.svc.fs,
            &*self.svc.target,
            &source,
            &rel,
            self.opts.copy.chunk_size,
            &mut self.plain_buf,
            Durability::Deferred,
        )?;
        self.unsynced.push(rel);
        emit(progress, clock, phase, Role::Main, EventKind::CopyDone { target: target.display().to_string(), bytes });
        self.other_count += 1;
        Ok(Next::Continue)
    }

    /// Applies the lock-time plan (see `reconcile`): removes copies of dropped
    /// tables, moves renamed ones through temporary names (so swaps and chains
    /// work), queues created ones.
    pub(super) fn reconcile_tablespaces(&mut self, phase: Phase, copying: &Copying, fs: &dyn SourceFs) -> Result<()> {
        let layout = &copying.innodb_layout;
        // The copies by file identity: a file still the one copied is that copy's table.
        let by_file: HashMap<FileId, Option<u32>> =
            self.copied_tables.iter().filter_map(|c| Some((c.file_id?, c.space_id))).collect();
        let mut live = Vec::new();
        for ts in self.discover_tablespaces(fs, layout)? {
            if ts.kind == TablespaceKind::Table {
                let file_id =
                    self.svc.fs.file_id(&ts.source).map_err(|e| BackupError::io(&ts.source, "checking", e))?;
                live.push(reconcile::Live { space_id: self.space_id_now(&ts.source, file_id, &by_file)?, file_id, ts });
            }
        }
        // What each copy is made of, by its path in the backup.
        let forms: HashMap<PathBuf, CopyForm> = self.copied_tables.iter().map(|c| (c.target.clone(), c.form)).collect();
        let plan = reconcile::plan(std::mem::take(&mut self.copied_tables), &live);
        let target = self.svc.target.clone();
        let io = |path: &Path, op: &'static str| {
            let full = target.root().join(path);
            move |e| BackupError::io(full, op, e)
        };
        // The old copy of a table rebuilt under its name (ALTER TABLE, OPTIMIZE TABLE,
        // TRUNCATE TABLE: a new tablespace) is not a dropped table.
        let rebuilt = |rel: &Path| plan.created.iter().any(|ts| ts.target == rel);
        let form = |rel: &Path| forms.get(rel).copied().unwrap_or(CopyForm::Whole);
        for rel in &plan.dropped {
            for file in copy::delta::copy_files(rel, form(rel)) {
                target.remove_file(&file).map_err(io(&file, "removing a dropped table's copy"))?;
            }
            let what = if rebuilt(rel) {
                "was rebuilt during the backup (ALTER, OPTIMIZE or TRUNCATE TABLE: a new tablespace under the same \
                 name): its old copy removed, the new file is copied now"
            } else {
                "was dropped during the backup: removed from it"
            };
            self.note(phase, format!("{} {what}", rel.display()));
        }
        let mut moves = Vec::new();
        for (from, to) in &plan.renamed {
            let tmp = PathBuf::from(format!("{}.innohot-rename", from.display()));
            let files = |rel: &Path| copy::delta::copy_files(rel, form(from));
            for (from, tmp) in files(from).iter().zip(files(&tmp)) {
                target.publish(from, &tmp).map_err(io(from, "renaming a renamed table's copy"))?;
            }
            moves.push((tmp, to, from));
        }
        for (tmp, to, from) in moves {
            if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
                target.create_dir_all(parent).map_err(io(parent, "creating a directory"))?;
            }
            let files = |rel: &Path| copy::delta::copy_files(rel, form(from));
            for (tmp, to) in files(&tmp).iter().zip(files(to)) {
                target.publish(tmp, &to).map_err(io(&to, "renaming a renamed table's copy"))?;
            }
            self.note(phase, format!("{} was renamed to {} during the backup", from.display(), to.display()));
        }
        for ts in plan.created.iter().filter(|ts| !plan.dropped.contains(&ts.target)) {
            self.note(phase, format!("{} was created during the backup: copying it now", ts.source.display()));
        }
        let mut again = plan.created;
        self.copied_tables = plan.kept;
        if !copying.conn().flavor.recovery_extends_files() {
            again.extend(self.take_grown_tables(phase, fs)?);
        }
        copying.pool.push(phase, again);
        Ok(())
    }

    /// Under the lock, for a server whose recovery does not extend files: the
    /// copied tables whose file is now longer than their copy. Their copies
    /// are removed and they are returned, to be copied again (every page read
    /// now is at least as new as the start checkpoint, which is all the redo
    /// needs; a tail-only copy would do with less reading).
    fn take_grown_tables(&mut self, phase: Phase, fs: &dyn SourceFs) -> Result<Vec<Tablespace>> {
        let (kept, grown) = reconcile::split_grown(std::mem::take(&mut self.copied_tables), |c| {
            fs.size(&c.source).map_err(|e| BackupError::io(&c.source, "reading the size of", e))
        })?;
        self.copied_tables = kept;
        let mut again = Vec::new();
        for (c, size) in grown {
            for file in copy::delta::copy_files(&c.target, c.form) {
                let full = self.svc.target.root().join(&file);
                self.svc
                    .target
                    .remove_file(&file)
                    .map_err(|e| BackupError::io(full, "removing a grown table's copy", e))?;
            }
            self.note(
                phase,
                format!(
                    "{} grew from {} to {size} bytes after its copy (the server's recovery does not extend files): \
                     copied again under the lock",
                    c.source.display(),
                    c.bytes
                ),
            );
            again.push(Tablespace { source: c.source, target: c.target, kind: TablespaceKind::Table });
        }
        Ok(again)
    }

    /// The space id of a file on disk under the lock: the copy's, when the file
    /// is still the one copied (same identity); else read from its page 0.
    fn space_id_now(
        &self,
        path: &Path,
        id: Option<FileId>,
        by_file: &HashMap<FileId, Option<u32>>,
    ) -> Result<Option<u32>> {
        match id.and_then(|id| by_file.get(&id)) {
            Some(&copied) => Ok(copied),
            None => copy::read_space_id(&*self.svc.fs, path),
        }
    }

    /// Under the lock, with every tablespace copied: each one the server's
    /// dictionary lists must be in the backup. A backup that would silently
    /// lack a table fails here, naming it.
    fn check_against_dictionary(&mut self, conn: &Connected) -> Result<()> {
        let phase = Phase::NonInnodbFiles;
        let dictionary = conn.flavor.tablespace_dictionary();
        self.statement(phase, dictionary.statement());
        let Some(listed) = self.svc.server.tablespaces(dictionary)? else {
            // mariabackup never asks; its completeness rests on the datadir scan and the
            // redo's file records, as this backup's does without the cross-check.
            self.note(
                phase,
                "the server does not offer its tablespace dictionary (its information_schema plugin is disabled, or \
                 the backup user lacks the PROCESS privilege): \
                 the copied tablespaces are not cross-checked against the server's list"
                    .to_string(),
            );
            return Ok(());
        };
        let listed: Vec<_> = listed.into_iter().filter(|ts| self.opts.filter.holds_tablespace(&ts.name)).collect();
        let checked = match witness::missing_from_dictionary(&listed, &self.held(&conn.datadir)) {
            Err(BackupError::TablespaceMissing { name, space_id, file }) => {
                // Not in the backup because not on disk: someone removed it, not the server.
                let path = Path::new(&file);
                let path = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    conn.datadir.join(path.strip_prefix("./").unwrap_or(path))
                };
                if !self.svc.fs.exists(&path) {
                    return Err(BackupError::TablespaceFileGone { name, space_id, path });
                }
                return Err(BackupError::TablespaceMissing { name, space_id, file });
            }
            other => other?,
        };
        self.note(phase, format!("all {checked} tablespaces the server lists are in the backup"));
        Ok(())
    }

    /// What the backup holds, for the witnesses: `datadir` is the server's.
    pub(super) fn held<'a>(&'a self, datadir: &'a Path) -> Held<'a> {
        Held { datadir, system_spaces: &self.copied_system_spaces, tables: &self.copied_tables }
    }
}

/// A stream carries MariaDB backups only: a MySQL 5.7 backup re-copies tables
/// that grew under the lock, which a stream says with marker files that no
/// 5.7 prepare (XtraBackup 2.4's) reads.
pub(super) fn check_streamable(flavor: &dyn crate::flavor::Flavor, target: &dyn crate::io::TargetDir) -> Result<()> {
    if target.streams() && !flavor.recovery_extends_files() {
        return Err(BackupError::Unsupported(format!(
            "--stream: innohot streams MariaDB backups only; this server is {}: take the backup into a directory \
             (--target-dir), or stream it with xtrabackup 2.4",
            flavor.name()
        )));
    }
    Ok(())
}
