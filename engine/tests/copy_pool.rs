//! Copy lanes over one queue: every file whole and byte-identical whatever
//! the lanes and ranges, finished in scan order, a file that grows while its
//! ranges are copied, a failure on one lane stopping them all, the throttle.
#![allow(clippy::disallowed_methods)] // tests read fixtures and results directly

use innohot::copy::delta::CopyForm;
use innohot::copy::{
    CopyLane, CopyPool, CopySettings, LaneStep, PaceState, Pacing, PoolServices, Tablespace, TablespaceKind,
};
use innohot::events::{EventKind, Phase, Recorder};
use innohot::format::page::PageLayout;
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::{Clock, ManualClock, ReadPolicy, TargetDir};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixtures() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql57/sakila");
    assert!(p.is_dir(), "MySQL 5.7 fixtures missing: looked in {}", p.display());
    p
}

fn tablespaces(dir: &Path) -> Vec<Tablespace> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ibd"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|source| Tablespace {
            target: PathBuf::from(source.file_name().unwrap()),
            source,
            kind: TablespaceKind::Table,
        })
        .collect()
}

struct Rig {
    pool: CopyPool,
    clock: Arc<ManualClock>,
    recorder: Arc<Recorder>,
    target: Arc<RealTargetDir>,
    _dir: tempfile::TempDir,
}

fn rig(parallel: usize, range_size: u64, throttle: Option<u64>) -> Rig {
    rig_with(CopySettings {
        parallel,
        range_size,
        pacing: throttle.map_or(Pacing::Unpaced, Pacing::Fixed),
        ..settings()
    })
}

fn settings() -> CopySettings {
    CopySettings {
        chunk_size: 3 * 16384,
        read_policy: ReadPolicy { direct: false, fadvise: false },
        ..CopySettings::default()
    }
}

fn rig_with(settings: CopySettings) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let target = Arc::new(RealTargetDir::create(&dir.path().join("b"), false).unwrap());
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let recorder = Arc::new(Recorder::default());
    let svc = PoolServices {
        fs: Arc::new(RealSourceFs),
        target: target.clone(),
        progress: recorder.clone(),
        clock: clock.clone(),
        pace: PaceState::new(settings.pacing, None),
    };
    let pool = CopyPool::new(&settings, PageLayout::legacy(16384), svc, Phase::DataCopy);
    Rig { pool, clock, recorder, target, _dir: dir }
}

/// Steps the lanes in turn (lane `order[i % len]`) until all are idle; the
/// steps each lane made.
fn run_lanes(pool: &CopyPool, lanes: usize, order: &[usize], clock: &ManualClock) -> Vec<u32> {
    let mut lanes: Vec<CopyLane> = (1..=lanes as u32).map(CopyLane::new).collect();
    run_these_lanes(pool, &mut lanes, order, clock)
}

fn run_these_lanes(pool: &CopyPool, lanes: &mut [CopyLane], order: &[usize], clock: &ManualClock) -> Vec<u32> {
    let mut idle = vec![false; lanes.len()];
    let mut steps = vec![0u32; lanes.len()];
    let mut i = 0;
    while !idle.iter().all(|&d| d) {
        let n = order[i % order.len()] % lanes.len();
        i += 1;
        if idle[n] {
            continue;
        }
        steps[n] += 1;
        match pool.worker_step(&mut lanes[n]) {
            LaneStep::Worked => {}
            LaneStep::WaitUntil(t) => clock.sleep(t.saturating_sub(clock.now())),
            LaneStep::Idle => idle[n] = true,
        }
        assert!(i < 1_000_000, "the lanes never finished");
    }
    steps
}

#[test]
fn every_file_is_copied_whole_on_any_number_of_lanes_and_ranges() {
    let files = tablespaces(&fixtures());
    let sizes: Vec<u64> = files.iter().map(|t| std::fs::metadata(&t.source).unwrap().len()).collect();
    let biggest = *sizes.iter().max().unwrap();
    for (parallel, range, order) in [
        (1, 256 << 20, vec![0]),
        (2, 64 << 10, vec![0, 1]),
        (3, 64 << 10, vec![2, 0, 0, 1, 2, 2]),
        (3, 128 << 10, vec![1, 1, 0, 2]),
    ] {
        let r = rig(parallel, range, None);
        r.pool.push(Phase::DataCopy, files.clone());
        let steps = run_lanes(&r.pool, parallel, &order, &r.clock);
        assert!(r.pool.is_drained());
        assert!(r.pool.take_error().is_none());
        if parallel > 1 {
            assert!(steps.iter().all(|&s| s > 1), "every lane worked: {steps:?}");
            assert!(biggest >= 2 * range, "the fixtures include a file that splits");
        }
        let done = r.pool.take_finished();
        let names: Vec<&Path> = done.iter().map(|d| d.tablespace.target.as_path()).collect();
        let expected: Vec<&Path> = files.iter().map(|t| t.target.as_path()).collect();
        assert_eq!(names, expected, "finished copies come back in scan order");
        for (d, size) in done.iter().zip(&sizes) {
            assert_eq!(d.bytes, *size, "{}", d.tablespace.target.display());
            assert!(d.space_id.is_some_and(|id| id > 0), "{d:?}");
            let copy = std::fs::read(r.target.root().join(&d.tablespace.target)).unwrap();
            assert!(copy == std::fs::read(&d.tablespace.source).unwrap(), "{} differs", d.tablespace.target.display());
        }
        let events = r.recorder.take();
        let count = |f: fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count();
        assert_eq!(count(|k| matches!(k, EventKind::CopyStarted { .. })), files.len());
        assert_eq!(count(|k| matches!(k, EventKind::CopyDone { .. })), files.len(), "one done per file, not per range");
        let ranges = count(|k| matches!(k, EventKind::Note(n) if n.contains(" from byte ")));
        assert_eq!(ranges > 0, parallel > 1, "each range taken by a lane is said: {ranges}");
    }
}

#[test]
fn the_last_range_reads_what_the_server_appended_during_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let big = tablespaces(&fixtures()).into_iter().max_by_key(|t| std::fs::metadata(&t.source).unwrap().len()).unwrap();
    let grown = dir.path().join("grown.ibd");
    std::fs::copy(&big.source, &grown).unwrap();
    let original = std::fs::read(&grown).unwrap();
    let r = rig(2, 64 << 10, None);
    r.pool.push(Phase::DataCopy, [Tablespace { source: grown.clone(), target: "grown.ibd".into(), kind: big.kind }]);
    let mut lanes = [CopyLane::new(1), CopyLane::new(2)];
    // Lane 1 opens and splits; lane 2 takes the next range.
    assert_eq!(r.pool.worker_step(&mut lanes[0]), LaneStep::Worked);
    assert_eq!(r.pool.worker_step(&mut lanes[1]), LaneStep::Worked);
    // The server extends the file by four zeroed pages (an extension not yet written).
    let mut f = std::fs::OpenOptions::new().append(true).open(&grown).unwrap();
    std::io::Write::write_all(&mut f, &vec![0u8; 4 * 16384]).unwrap();
    run_these_lanes(&r.pool, &mut lanes, &[0, 1], &r.clock);
    assert!(r.pool.take_error().is_none(), "{:?}", r.pool.take_error());
    let done = r.pool.take_finished();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].bytes, original.len() as u64 + 4 * 16384);
    assert_eq!(std::fs::read(r.target.root().join("grown.ibd")).unwrap(), std::fs::read(&grown).unwrap());
}

#[test]
fn a_failure_on_one_lane_stops_every_lane_and_reaches_the_orchestrator() {
    let mut files = tablespaces(&fixtures());
    // A "tablespace" that is not one: page 0 is garbage, never valid however often it is read.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ibd");
    std::fs::write(&bad, vec![0x5Au8; 4 * 16384]).unwrap();
    files.insert(1, Tablespace { source: bad, target: "bad.ibd".into(), kind: TablespaceKind::Table });
    let r = rig(2, 64 << 10, None);
    r.pool.push(Phase::DataCopy, files);
    run_lanes(&r.pool, 2, &[0, 1, 1], &r.clock);
    assert!(r.pool.is_stopped());
    assert!(r.pool.is_drained());
    let e = r.pool.take_error().expect("the failure is kept");
    assert!(e.to_string().contains("bad.ibd"), "{e}");
    assert!(r.pool.take_error().is_none(), "raised once");
}

#[test]
fn the_throttle_spreads_the_copy_over_time() {
    let files = tablespaces(&fixtures());
    let total: u64 = files.iter().map(|t| std::fs::metadata(&t.source).unwrap().len()).sum();
    // 1 MiB/s: the copy must take total/1 MiB seconds of (manual) clock time, to a chunk.
    let r = rig(2, 64 << 10, Some(1 << 20));
    r.pool.push(Phase::DataCopy, files);
    run_lanes(&r.pool, 2, &[0, 1], &r.clock);
    let took = r.clock.now().as_secs_f64();
    let expected = total as f64 / (1 << 20) as f64;
    let chunk = 3.0 * 16384.0 / (1 << 20) as f64;
    assert!(took >= expected - chunk && took <= expected + chunk, "{took} s for {total} bytes at 1 MiB/s");
}

/// An incremental backup leaves a table whose page 0 is not on disk yet (a
/// table created since the server's last checkpoint) for the lock-time copies,
/// saying so: copied before the lock as `db/t.new`, a rename or drop after
/// its copy could not be taken back in a stream (mariabackup's prepare moves
/// a `.new` into the base whatever the markers say). With DDL blocked it is
/// copied whole as `.new`; a table with its page 0 is a delta either way.
#[test]
fn an_incremental_leaves_a_table_without_page_0_for_the_lock() {
    let src = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("actor.ibd")).unwrap();
    std::fs::write(src.path().join("actor.ibd"), &bytes).unwrap();
    std::fs::write(src.path().join("fresh.ibd"), [vec![0u8; 16384], bytes[16384..].to_vec()].concat()).unwrap();
    let r = rig_with(CopySettings { incremental_from: Some(1), ..settings() });
    let files = tablespaces(src.path());
    r.pool.push(Phase::DataCopy, files.clone());
    run_lanes(&r.pool, 1, &[0], &r.clock);
    assert!(r.pool.take_error().is_none());
    let done = r.pool.take_finished();
    let names: Vec<(&Path, CopyForm)> = done.iter().map(|d| (d.tablespace.target.as_path(), d.form)).collect();
    assert_eq!(names, vec![(Path::new("actor.ibd"), CopyForm::Delta)], "before the lock");
    let notes: Vec<String> = r
        .recorder
        .take()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Note(n) => Some(n),
            _ => None,
        })
        .collect();
    assert!(notes.iter().any(|n| n.contains("fresh.ibd has no page 0 on disk yet")), "{notes:?}");
    for absent in ["fresh.new", "fresh.ibd.delta", "fresh.ibd.meta"] {
        assert!(!r.target.root().join(absent).exists(), "{absent} copied before the lock");
    }

    // The lock-time rescan finds it uncopied.
    r.pool.push(Phase::NonInnodbFiles, files.into_iter().filter(|t| t.target == Path::new("fresh.ibd")));
    run_lanes(&r.pool, 1, &[0], &r.clock);
    assert!(r.pool.take_error().is_none());
    let done = r.pool.take_finished();
    let names: Vec<(&Path, CopyForm)> = done.iter().map(|d| (d.tablespace.target.as_path(), d.form)).collect();
    assert_eq!(names, vec![(Path::new("fresh.ibd"), CopyForm::New)], "with DDL blocked");
    let copy = std::fs::read(r.target.root().join("fresh.new")).unwrap();
    assert!(copy == std::fs::read(src.path().join("fresh.ibd")).unwrap(), "fresh.new is not the whole file");
}
