//! How a backup shows its progress: XtraBackup-style timestamped lines
//! (`LogLines`, for logs and pipes), indicatif bars on a terminal (`Bars`),
//! or nothing (`--quiet`). Every display also keeps a `Tally` for the
//! summary of a run that failed halfway.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use innohot::events::{Event, EventKind, Phase, Progress, Role};
use innohot::timefmt::log_label;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a run has done so far, whichever display shows it.
#[derive(Debug, Default)]
pub struct Tally {
    pub files_done: AtomicU64,
    pub bytes_copied: AtomicU64,
    pub redo_bytes: AtomicU64,
}

impl Tally {
    fn event(&self, e: &Event) {
        match &e.kind {
            EventKind::CopyDone { .. } => {
                self.files_done.fetch_add(1, Ordering::Relaxed);
            }
            EventKind::LogScanned { bytes, .. } => {
                self.redo_bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The xtrabackup-style text of an event, or None for events that make no line.
pub fn line_text(e: &Event, hide_root: Option<&Path>) -> Option<String> {
    let path = |p: &str| match hide_root {
        Some(r) => p.replace(&format!("{}/", r.display()), ""),
        None => p.to_string(),
    };
    let tag = match e.role {
        Role::DataCopier(n) => format!("[{n:02}]"),
        _ => "[00]".to_string(),
    };
    Some(match &e.kind {
        EventKind::LogScanned { lsn, .. } => format!(">> log scanned up to ({lsn})"),
        EventKind::CopyStarted { source, target } => format!("{tag} Copying {} to {}", path(source), path(target)),
        EventKind::CopyDone { .. } => format!("{tag}        ...done"),
        EventKind::PageRetry { file, page, attempt, defect } => {
            format!("{tag} re-reading {} page {page} (attempt {attempt}): {defect}", path(file))
        }
        EventKind::Written { file, .. } => format!("[00] Writing {file}"),
        EventKind::Statement(s) => format!("Executing {s}..."),
        EventKind::ToolLine(t) => t.clone(),
        EventKind::Note(n) if matches!(e.role, Role::DataCopier(_)) => format!("{tag} {}", path(n)),
        EventKind::Note(n) => path(n),
        EventKind::PhaseStarted if e.phase == Phase::Lock => "Acquiring the backup locks".to_string(),
        EventKind::PhaseStarted | EventKind::Completed => return None,
    })
}

/// What starts a log line: xtrabackup's "261125 01:15:47", or mariabackup's
/// "[00] 2026-11-25 01:15:47" for the lines scripts look for in its words.
fn line_label(e: &Event) -> String {
    match e.kind {
        EventKind::ToolLine(_) => format!("[00] {}", innohot::timefmt::iso(e.unix)),
        _ => log_label(e.unix),
    }
}

/// xtrabackup-style log lines on stderr: "261125 01:15:47 [01] Copying ...".
pub struct LogLines {
    pub hide_root: Option<PathBuf>,
    pub tally: Arc<Tally>,
}

impl Progress for LogLines {
    fn event(&self, e: &Event) {
        self.tally.event(e);
        if let Some(line) = line_text(e, self.hide_root.as_deref()) {
            eprintln!("{} {line}", line_label(e));
        }
    }
    fn chunk_copied(&self, _: Role, bytes: u64) {
        self.tally.bytes_copied.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// `--quiet`: counts, prints nothing.
pub struct Quiet {
    pub tally: Arc<Tally>,
}

impl Progress for Quiet {
    fn event(&self, e: &Event) {
        self.tally.event(e);
    }
    fn chunk_copied(&self, _: Role, bytes: u64) {
        self.tally.bytes_copied.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Bars on a terminal: data bytes of the planned total (rate, ETA, files), and
/// the redo copied so far; phase notes and statements scroll above them.
pub struct Bars {
    multi: MultiProgress,
    data: ProgressBar,
    redo: ProgressBar,
    files_planned: AtomicU64,
    tally: Arc<Tally>,
}

impl Bars {
    pub fn new(tally: Arc<Tally>) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let data = multi.add(ProgressBar::new(0));
        data.set_style(
            ProgressStyle::with_template(
                "data [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        let redo = multi.add(ProgressBar::new_spinner());
        redo.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        redo.set_message("redo: not started");
        redo.enable_steady_tick(Duration::from_millis(200));
        Bars { multi, data, redo, files_planned: AtomicU64::new(0), tally }
    }

    fn files_message(&self) -> String {
        format!(
            "files {}/{}",
            self.tally.files_done.load(Ordering::Relaxed),
            self.files_planned.load(Ordering::Relaxed)
        )
    }

    /// Removes the bars (before the final lines are printed).
    pub fn clear(&self) {
        self.data.finish_and_clear();
        self.redo.finish_and_clear();
    }
}

impl Progress for Bars {
    fn event(&self, e: &Event) {
        self.tally.event(e);
        match &e.kind {
            EventKind::CopyStarted { .. } | EventKind::PageRetry { .. } => {}
            EventKind::CopyDone { .. } => self.data.set_message(self.files_message()),
            EventKind::LogScanned { lsn, .. } => self.redo.set_message(format!(
                "redo copied: {} (up to LSN {lsn})",
                HumanBytes(self.tally.redo_bytes.load(Ordering::Relaxed))
            )),
            _ => {
                if let Some(line) = line_text(e, None) {
                    let _ = self.multi.println(format!("{} {line}", line_label(e)));
                }
            }
        }
        if e.kind == EventKind::Completed {
            self.clear();
        }
    }
    fn copy_planned(&self, sources: &[&Path]) {
        let total: u64 = sources.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
        self.files_planned.store(sources.len() as u64, Ordering::Relaxed);
        self.data.set_length(total);
        self.data.set_message(self.files_message());
    }
    fn chunk_copied(&self, _: Role, bytes: u64) {
        self.tally.bytes_copied.fetch_add(bytes, Ordering::Relaxed);
        self.data.inc(bytes);
    }
}

/// Test only: with `INNOHOT_DEBUG_TRACE_FILE=PATH`, every event of the
/// backup is also kept and written to PATH at the end as the phase trace the
/// simulator's snapshots hold (`innohot_simulator::trace::render`, numbers
/// in notes hidden), so a test can hold a real server's backup against the
/// reference run's phases. Without the variable it only forwards.
pub struct TraceFile {
    inner: Arc<dyn Progress>,
    path: Option<std::path::PathBuf>,
    events: innohot::events::Recorder,
}

impl TraceFile {
    pub fn from_env(inner: Arc<dyn Progress>) -> Arc<TraceFile> {
        let path = std::env::var_os("INNOHOT_DEBUG_TRACE_FILE").filter(|p| !p.is_empty()).map(Into::into);
        Arc::new(TraceFile { inner, path, events: innohot::events::Recorder::default() })
    }

    /// Writes the trace (when asked for); a failure to write it is reported, not fatal.
    pub fn write(&self) {
        let Some(path) = &self.path else { return };
        let text = innohot_simulator::trace::render(&self.events.take(), std::path::Path::new("/nonexistent"), true);
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("innohot: writing the trace to {}: {e}", path.display());
        }
    }
}

impl Progress for TraceFile {
    fn event(&self, e: &Event) {
        if self.path.is_some() {
            self.events.event(e);
        }
        self.inner.event(e);
    }
    fn copy_planned(&self, sources: &[&std::path::Path]) {
        self.inner.copy_planned(sources);
    }
    fn chunk_copied(&self, role: Role, bytes: u64) {
        self.inner.chunk_copied(role, bytes);
    }
}
