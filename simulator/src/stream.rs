//! The stream scenario: the backup goes to an xbstream file under the run's
//! root (the engine's `StreamTarget`, as `backup --stream=xbstream` sends it
//! to stdout). After the run a completed backup's stream is ended (markers,
//! manifest), extracted into the run's usual backup directory, checked
//! against its manifest, and its DDL markers are applied as prepare applies
//! them first: the oracle then judges the directory exactly as a directory
//! backup. A failed backup's stream is extracted as far as it goes; the
//! oracle checks that it holds no manifest (a stream's only sign of success).

use crate::config::SimConfig;
use crate::oracle::Verdict;
use crate::outcome::{Outcome, RunStats};
use innohot::backup::Summary;
use innohot::format::xbstream;
use innohot::io::local::RealLocalFs;
use innohot::io::real::RealTargetDir;
use innohot::io::{TargetDir, TargetFile};
use innohot::restore::ddl_markers;
use innohot::stream::compress::Compression;
use innohot::stream::markers::{DEL_SUFFIX, NEW_SUFFIX, REN_SUFFIX};
use innohot::stream::{parse_manifest, ExtractReport, Extractor, StreamOptions, StreamTarget, MANIFEST, STREAM_HEAD};
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The stream, in the run's root.
pub const STREAM_FILE: &str = "stream.xb";
/// Where the stream's own files (its head and manifest) go once checked: out
/// of the backup directory, whose every file the oracle accounts for.
pub const STREAM_FILES_DIR: &str = "stream-files";

/// The backup's target: a directory, or the stream scenario's xbstream.
pub enum SimTarget {
    Dir(RealTargetDir),
    Stream(Arc<StreamTarget>),
}

impl SimTarget {
    fn inner(&self) -> &dyn TargetDir {
        match self {
            SimTarget::Dir(d) => d,
            SimTarget::Stream(s) => &**s,
        }
    }
}

impl TargetDir for SimTarget {
    fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.inner().create_dir_all(rel)
    }
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        self.inner().create_file(rel)
    }
    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.inner().remove_file(rel)
    }
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner().publish(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner().sync_dir(rel)
    }
    fn sync_file(&self, rel: &Path) -> io::Result<()> {
        self.inner().sync_file(rel)
    }
    fn root(&self) -> &Path {
        self.inner().root()
    }
    fn streams(&self) -> bool {
        self.inner().streams()
    }
    fn compresses(&self) -> bool {
        self.inner().compresses()
    }
}

/// The run's stream: a file in `root` behind a buffered writer, in chunks of
/// at most the seed's `stream_chunk` bytes. Named by its path in messages.
pub fn open(root: &Path, cfg: &SimConfig) -> Arc<StreamTarget> {
    let path = root.join(STREAM_FILE);
    let file = fs::File::create(&path).expect("the simulated stream file");
    let head = format!("innohot simulated backup stream, seed {}\n", cfg.seed);
    let out = Box::new(io::BufWriter::new(file));
    let compress = cfg.stream_zstd.then_some(Compression { level: 1, threads: 2 });
    let options = StreamOptions { chunk_limit: cfg.stream_chunk, compress };
    let target = StreamTarget::with_options(out, &path, &head, options).expect("the stream's head");
    Arc::new(target)
}

/// After the run (the backup gone): ends a completed backup's stream and
/// extracts the stream into `target`; for a completed backup, checks it
/// against its manifest and applies its DDL markers. Returns the broken
/// expectations (the oracle's own come on top).
pub fn settle(
    stream: Arc<StreamTarget>,
    root: &Path,
    target: &Path,
    outcome: &Outcome,
    stats: &mut RunStats,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let summary = match outcome {
        Outcome::Completed(s) => Some(s),
        _ => None,
    };
    match summary {
        Some(s) => {
            let facts =
                [("from_lsn", "0".to_string()), ("to_lsn", s.to_lsn.to_string()), ("last_lsn", s.last_lsn.to_string())];
            if let Err(e) = stream.finish(&facts) {
                wrong.push(format!("the backup completed, but ending its stream failed: {e}"));
            }
        }
        // As the process's exit does: what the writer holds goes out (a broken writer stays broken).
        None => {
            let _ = stream.sync_dir(Path::new(""));
        }
    }
    drop(stream);
    let bytes = fs::read(root.join(STREAM_FILE)).expect("the simulated stream file");
    // As sent (`.zst` files compressed), for the manifest; then as prepare takes it.
    let raw = root.join("stream-raw");
    let extracted = extract(&bytes, &raw, false);
    let Some(summary) = summary else {
        // A failed backup's stream may be cut anywhere: the oracle checks what it holds.
        let _ = extract(&bytes, target, true);
        return wrong;
    };
    let report = match extracted.and_then(|r| extract(&bytes, target, true).map(|_| r)) {
        Ok(r) => r,
        Err(e) => {
            wrong.push(format!("the completed backup's stream does not extract: {e}"));
            return wrong;
        }
    };
    check_manifest(&raw, &report, summary, &mut wrong);
    stats.stream_markers = report.files.keys().filter(|n| is_marker(n)).count() as u64;
    if let Err(e) = ddl_markers::apply(&RealLocalFs, target) {
        wrong.push(format!("applying the stream's DDL markers failed: {e}"));
    }
    set_aside(root, target);
    wrong
}

/// The stream's files, written into a new directory `target`; what there is
/// of them when the stream is damaged or cut.
fn extract(bytes: &[u8], target: &Path, decompress: bool) -> Result<ExtractReport, String> {
    let dir = RealTargetDir::create(target, false).expect("the simulated backup directory");
    let mut e = Extractor::new(&dir);
    if decompress {
        e = e.decompressing();
    }
    e.feed(bytes).map_err(|e| e.to_string())?;
    e.finish().map_err(|e| e.to_string())
}

/// Every file the manifest names is in the stream with its size and CRC-32,
/// the stream holds no other, and the manifest's LSNs are the backup's.
fn check_manifest(target: &Path, report: &ExtractReport, s: &Summary, wrong: &mut Vec<String>) {
    let text = fs::read_to_string(target.join(MANIFEST)).unwrap_or_default();
    let Some(m) = parse_manifest(&text) else {
        wrong.push(format!("the completed backup's stream ends without a readable {MANIFEST}"));
        return;
    };
    for (key, lsn) in [("to_lsn", s.to_lsn), ("last_lsn", s.last_lsn)] {
        if !m.facts.contains(&(key.to_string(), lsn.to_string())) {
            wrong.push(format!("{MANIFEST} does not say {key} = {lsn}"));
        }
    }
    for (name, &(size, crc)) in &m.files {
        match fs::read(target.join(name)) {
            Ok(b) if b.len() as u64 == size && xbstream::crc32(&b) == crc => {}
            Ok(b) => wrong.push(format!(
                "{name}: {} bytes with CRC-32 {:08x} in the stream, {size} bytes with {crc:08x} in {MANIFEST}",
                b.len(),
                xbstream::crc32(&b)
            )),
            Err(e) => wrong.push(format!("{name} is in {MANIFEST} but not in the stream: {e}")),
        }
    }
    for name in report.files.keys().filter(|n| *n != MANIFEST && !m.files.contains_key(*n)) {
        wrong.push(format!("{name} is in the stream but not in {MANIFEST}"));
    }
}

fn is_marker(name: &str) -> bool {
    let name = name.strip_suffix(innohot::stream::compress::ZST_SUFFIX).unwrap_or(name);
    [DEL_SUFFIX, REN_SUFFIX, NEW_SUFFIX].iter().any(|s| name.ends_with(s))
}

/// Moves the stream's head and manifest out of the backup directory (a
/// directory backup has neither), into `root`'s [`STREAM_FILES_DIR`].
fn set_aside(root: &Path, target: &Path) {
    let aside = root.join(STREAM_FILES_DIR);
    fs::create_dir_all(&aside).expect("a directory for the stream's own files");
    for name in [STREAM_HEAD, MANIFEST] {
        if target.join(name).exists() {
            fs::rename(target.join(name), aside.join(name)).expect("moving the stream's own files aside");
        }
    }
}

/// The oracle's verdict with the stream's broken expectations first.
pub fn with_stream_lines(verdict: Verdict, mut lines: Vec<String>) -> Verdict {
    if lines.is_empty() {
        return verdict;
    }
    if let Verdict::Wrong(more) = verdict {
        lines.extend(more);
    }
    Verdict::Wrong(lines)
}
