//! Copy lanes over one shared queue of tablespaces and ranges. The
//! orchestrator steps one lane itself; production runs the others on threads
//! and the simulator from its seeded scheduler, all through `CopyPool::step`,
//! so the interleavings the simulator explores are the ones threads can make.

use super::paced::PaceState;
use super::{CopySettings, CopyStep, FileCopier, Tablespace, TablespaceKind};
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::format::page::PageLayout;
use crate::io::{Clock, FileId, SourceFs, TargetDir};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Work for a lane.
pub enum CopyTask {
    /// A tablespace not opened yet; `order` is its place in the scan.
    Whole { order: usize, ts: Tablespace },
    /// A range of a tablespace another lane opened and split.
    Range { order: usize, copier: Box<FileCopier> },
}

/// A tablespace copied to its end and made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCopy {
    pub order: usize,
    pub tablespace: Tablespace,
    /// From page 0 (None while the server has not written it, or for a file
    /// whose space id is 0 and is not the system tablespace).
    pub space_id: Option<u32>,
    pub file_id: Option<FileId>,
    /// Bytes of the tablespace copied (or, incremental, scanned).
    pub bytes: u64,
    /// An incremental copy's pages scanned and taken.
    pub delta: Option<super::delta::DeltaCount>,
    /// What the copy is made of (its files, to rename or remove it).
    pub form: super::delta::CopyForm,
}

/// What a lane's step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneStep {
    /// Opened a file or copied a chunk: step again.
    Worked,
    /// Nothing to do before this clock time (a torn page settling, the throttle).
    WaitUntil(Duration),
    /// The queue is empty and this lane holds nothing.
    Idle,
}

/// One copier's place in the pool: the file or range it is copying.
pub struct CopyLane {
    role: Role,
    current: Option<(usize, FileCopier)>,
}

impl CopyLane {
    /// Lane `n` (1 is the orchestrator's), named `dataNN` in events.
    pub fn new(n: u32) -> Self {
        CopyLane { role: Role::DataCopier(n), current: None }
    }
}

struct Queue {
    tasks: VecDeque<CopyTask>,
    /// Lanes holding a copier.
    busy: usize,
    next_order: usize,
    phase: Phase,
}

/// The shared queue, the finished copies and the first failure.
pub struct CopyPool {
    queue: Mutex<Queue>,
    finished: Mutex<Vec<FinishedCopy>>,
    error: Mutex<Option<BackupError>>,
    stop: AtomicBool,
    /// `--throttle`; applies while the queue's phase is the copy before the lock.
    pace: Option<Mutex<PaceState>>,
    paced_phase: AtomicBool,
    /// Bytes every lane has read from data files so far.
    bytes_copied: AtomicU64,
    fs: Arc<dyn SourceFs>,
    target: Arc<dyn TargetDir>,
    settings: CopySettings,
    new_file_layout: PageLayout,
    progress: Arc<dyn Progress>,
    clock: Arc<dyn Clock>,
}

/// What a pool needs to open and copy files.
pub struct PoolServices {
    pub fs: Arc<dyn SourceFs>,
    pub target: Arc<dyn TargetDir>,
    pub progress: Arc<dyn Progress>,
    pub clock: Arc<dyn Clock>,
    /// How the copy is paced (`PaceState::new` from the settings' pacing and the server's load probe).
    pub pace: Option<PaceState>,
}

impl CopyPool {
    pub fn new(settings: &CopySettings, new_file_layout: PageLayout, svc: PoolServices, phase: Phase) -> Self {
        CopyPool {
            queue: Mutex::new(Queue { tasks: VecDeque::new(), busy: 0, next_order: 0, phase }),
            finished: Mutex::new(Vec::new()),
            error: Mutex::new(None),
            stop: AtomicBool::new(false),
            pace: svc.pace.map(Mutex::new),
            paced_phase: AtomicBool::new(phase == Phase::DataCopy),
            bytes_copied: AtomicU64::new(0),
            fs: svc.fs,
            target: svc.target,
            settings: settings.clone(),
            new_file_layout,
            progress: svc.progress,
            clock: svc.clock,
        }
    }

    /// Queues tablespaces (in this order) for the phase's events.
    pub fn push(&self, phase: Phase, tablespaces: impl IntoIterator<Item = Tablespace>) {
        let mut q = self.lock_queue();
        q.phase = phase;
        self.paced_phase.store(phase == Phase::DataCopy, Ordering::SeqCst);
        for ts in tablespaces {
            let order = q.next_order;
            q.next_order += 1;
            q.tasks.push_back(CopyTask::Whole { order, ts });
        }
    }

    /// Lanes this pool is meant to run on (`--parallel`).
    pub fn lanes(&self) -> usize {
        self.settings.parallel.max(1)
    }

    /// Whether every queued file is copied (or failed, or the pool stopped).
    pub fn is_drained(&self) -> bool {
        let q = self.lock_queue();
        q.busy == 0 && (q.tasks.is_empty() || self.is_stopped())
    }

    /// The copies finished since the last call, in scan order.
    pub fn take_finished(&self) -> Vec<FinishedCopy> {
        let mut done = std::mem::take(&mut *self.finished.lock().expect("finished copies"));
        done.sort_by_key(|f| f.order);
        done
    }

    /// A failure on another lane, for the orchestrator to raise.
    pub fn take_error(&self) -> Option<BackupError> {
        self.error.lock().expect("copy error").take()
    }

    /// Every lane stops at its next step (the backup failed or was interrupted).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// A step of a lane run outside the orchestrator: a failure is kept for
    /// the orchestrator, and every lane stops.
    pub fn worker_step(&self, lane: &mut CopyLane) -> LaneStep {
        match self.step(lane) {
            Ok(step) => step,
            Err(e) => {
                self.error.lock().expect("copy error").get_or_insert(e);
                self.stop();
                self.release(lane);
                LaneStep::Idle
            }
        }
    }

    /// Opens the next queued file, or copies a chunk of the lane's.
    pub fn step(&self, lane: &mut CopyLane) -> Result<LaneStep> {
        if self.is_stopped() {
            self.release(lane);
            return Ok(LaneStep::Idle);
        }
        let Some((order, copier)) = lane.current.as_mut() else {
            return self.take_task(lane);
        };
        if let Some(t) = self.pace_gate(lane.role) {
            return Ok(LaneStep::WaitUntil(t));
        }
        match copier.step()? {
            CopyStep::Copied { bytes } => Ok(self.after_chunk(bytes)),
            CopyStep::RetryAt(t) => Ok(LaneStep::WaitUntil(t)),
            CopyStep::Done { file_bytes, .. } => {
                if let Some(bytes) = file_bytes {
                    let ts = copier.tablespace().clone();
                    let space_id = copier.space_id();
                    let (file_id, delta) = (copier.file_id(), copier.delta_count());
                    let form = copier.form();
                    let done = FinishedCopy { order: *order, tablespace: ts, space_id, file_id, bytes, delta, form };
                    self.finished.lock().expect("finished copies").push(done);
                }
                self.release(lane);
                Ok(LaneStep::Worked)
            }
        }
    }

    /// Before a chunk: when the pace holds it back, until when.
    fn pace_gate(&self, role: Role) -> Option<Duration> {
        let pace = self.pace.as_ref().filter(|_| self.paced_phase.load(Ordering::SeqCst))?;
        let now = self.clock.now();
        let gate = pace.lock().expect("pace").gate(now);
        if let Some(text) = gate.note {
            emit(&*self.progress, &*self.clock, Phase::DataCopy, role, EventKind::Note(text));
        }
        (gate.start_at > now).then_some(gate.start_at)
    }

    /// The copy's pacing in one line, once it is over (None: unpaced or a fixed rate).
    pub fn pace_summary(&self) -> Option<String> {
        self.pace.as_ref()?.lock().expect("pace").summary()
    }

    /// Bytes every lane has read from data files so far (a simulated disk charges for them).
    pub fn bytes_copied(&self) -> u64 {
        self.bytes_copied.load(Ordering::SeqCst)
    }

    fn after_chunk(&self, bytes: u64) -> LaneStep {
        self.bytes_copied.fetch_add(bytes, Ordering::SeqCst);
        let Some(pace) = self.pace.as_ref().filter(|_| self.paced_phase.load(Ordering::SeqCst)) else {
            return LaneStep::Worked;
        };
        let now = self.clock.now();
        let next = pace.lock().expect("pace").charge(now, bytes);
        if next > now {
            LaneStep::WaitUntil(next)
        } else {
            LaneStep::Worked
        }
    }

    /// The next task for an empty lane. Opening and splitting happen with the
    /// queue held, so a lane that finds it empty knows no range is coming.
    fn take_task(&self, lane: &mut CopyLane) -> Result<LaneStep> {
        let mut q = self.lock_queue();
        let (order, mut copier) = match q.tasks.pop_front() {
            None => return Ok(LaneStep::Idle),
            Some(CopyTask::Range { order, copier }) => {
                let (start, end) = copier.range();
                let end = end.map_or("its end".to_string(), |e| format!("byte {e}"));
                let text = format!("Copying {} from byte {start} to {end}", copier.tablespace().source.display());
                emit(&*self.progress, &*self.clock, q.phase, lane.role, EventKind::Note(text));
                (order, *copier)
            }
            Some(CopyTask::Whole { order, ts }) => {
                let Some(mut copier) = self.open(&ts, q.phase, lane.role)? else { return Ok(LaneStep::Worked) };
                // A stream takes each file front to back from one writer.
                if self.lanes() > 1 && !self.target.streams() {
                    let ranges = copier.split(self.settings.range_size)?;
                    for copier in ranges.into_iter().rev() {
                        q.tasks.push_front(CopyTask::Range { order, copier: Box::new(copier) });
                    }
                }
                (order, copier)
            }
        };
        copier.set_role(lane.role);
        lane.current = Some((order, copier));
        q.busy += 1;
        Ok(LaneStep::Worked)
    }

    /// None for a table dropped since the scan, and (an incremental backup,
    /// before the lock) for a table whose page 0 is not on disk yet: the
    /// lock-time rescan settles both.
    fn open(&self, ts: &Tablespace, phase: Phase, role: Role) -> Result<Option<FileCopier>> {
        let opened = self.defer_new_table(ts, phase).and_then(|defer| {
            if defer {
                let text = format!(
                    "{} has no page 0 on disk yet (created since the server's last checkpoint): copied whole as .new \
                     with DDL blocked, as mariabackup does",
                    ts.source.display()
                );
                emit(&*self.progress, &*self.clock, phase, Role::Main, EventKind::Note(text));
                return Ok(None);
            }
            let layout = self.new_file_layout;
            let (progress, clock) = (self.progress.clone(), self.clock.clone());
            FileCopier::open(
                ts.clone(),
                &*self.fs,
                &*self.target,
                &self.settings,
                layout,
                (phase, role),
                progress,
                clock,
            )
            .map(Some)
        });
        match opened {
            Ok(c) => Ok(c),
            Err(BackupError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && ts.kind == TablespaceKind::Table =>
            {
                let text = format!("{} vanished (dropped during the backup)", ts.source.display());
                emit(&*self.progress, &*self.clock, phase, Role::Main, EventKind::Note(text));
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// An incremental backup copies a table whose page 0 is not written yet
    /// whole, as `db/t.new` (see `delta`), which its prepare moves into the
    /// base without looking at the DDL markers: it must not be renamed or
    /// dropped after its copy, so it waits for the lock-time copies, with
    /// DDL blocked (as mariabackup copies its `.new` files).
    fn defer_new_table(&self, ts: &Tablespace, phase: Phase) -> Result<bool> {
        if self.settings.incremental_from.is_none() || ts.kind != TablespaceKind::Table || phase != Phase::DataCopy {
            return Ok(false);
        }
        let mut src = self
            .fs
            .open(&ts.source, self.settings.read_policy)
            .map_err(|e| BackupError::io(&ts.source, "opening a tablespace", e))?;
        Ok(super::file::page0(&mut *src, &ts.source)?.is_none())
    }

    fn release(&self, lane: &mut CopyLane) {
        if lane.current.take().is_some() {
            self.lock_queue().busy -= 1;
        }
    }

    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().expect("copy queue")
    }
}
