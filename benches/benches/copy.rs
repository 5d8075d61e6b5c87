//! Data-file copy throughput: chunk size x cache policy, every sample from a
//! cold cache (the source is evicted before each copy), durable (the copier
//! fdatasyncs before it reports a file done). After each policy's runs, what
//! the copy left in the page cache is printed: that is the server's cache a
//! backup takes away.
//!
//! `cargo bench -p innohot-benches --bench copy` (INNOHOT_BENCH_MB sets the
//! file size, default 64 MiB).
#![allow(clippy::disallowed_methods)] // benches read and write real files directly

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use innohot::copy::{CopySettings, FileCopier, Tablespace, TablespaceKind};
use innohot::events::{Phase, Role, Silent};
use innohot::format::page::PageLayout;
use innohot::io::mem::copy_to_end;
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::{ManualClock, ReadPolicy};
use innohot_benches::{cached_bytes, evict, write_tablespace};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// (name, source read policy, target fadvise).
const POLICIES: [(&str, ReadPolicy, bool); 4] = [
    ("buffered", ReadPolicy { direct: false, fadvise: false }, false),
    ("buffered+fadvise", ReadPolicy { direct: false, fadvise: true }, true),
    ("odirect-source", ReadPolicy { direct: true, fadvise: false }, false),
    ("odirect-source+fadvise", ReadPolicy { direct: true, fadvise: true }, true),
];

const CHUNKS: [usize; 5] = [64 * KIB, MIB, 4 * MIB, 10 * MIB, 64 * MIB];

fn copy_once(source: &Path, dir: &Path, chunk: usize, policy: ReadPolicy, target_fadvise: bool) -> PathBuf {
    let target_root = tempfile::Builder::new().prefix("copy-").tempdir_in(dir).expect("target dir").keep();
    let target = RealTargetDir::create(&target_root.join("b"), target_fadvise).expect("target");
    let settings = CopySettings { chunk_size: chunk, read_policy: policy, ..CopySettings::default() };
    let ts = Tablespace { source: source.to_path_buf(), target: PathBuf::from("t.ibd"), kind: TablespaceKind::Table };
    let clock = Arc::new(ManualClock::starting_at(0));
    let copier = FileCopier::open(
        ts,
        &RealSourceFs,
        &target,
        &settings,
        PageLayout::legacy(16384),
        (Phase::DataCopy, Role::DataCopier(1)),
        Arc::new(Silent),
        clock.clone(),
    )
    .expect("open the copier");
    let (copied, retries) = copy_to_end(copier, &clock);
    copied.expect("a healthy tablespace copies");
    assert_eq!(retries, 0);
    target_root
}

fn bench_copy(c: &mut Criterion) {
    let mb: u32 = std::env::var("INNOHOT_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    // Beside the build, not /tmp: a tmpfs would measure memory copies, not a disk.
    let work = tempfile::Builder::new()
        .prefix("innohot-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("bench scratch directory");
    let source = work.path().join("source.ibd");
    write_tablespace(&source, mb * 64, 77).expect("source tablespace");
    let bytes = u64::from(mb) * MIB as u64;

    let mut group = c.benchmark_group("copy");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    // Ten cold copies a cell is what the matrix affords in a few minutes.
    group.warm_up_time(Duration::from_millis(200));
    group.measurement_time(Duration::from_secs(2));
    let mut footprint = Vec::new();
    for (name, policy, target_fadvise) in POLICIES {
        for chunk in CHUNKS {
            let id = BenchmarkId::new(name, format!("{}KiB", chunk / KIB));
            group.bench_with_input(id, &chunk, |b, &chunk| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        evict(&source).expect("evict the source");
                        let t = Instant::now();
                        let out = copy_once(&source, work.path(), chunk, policy, target_fadvise);
                        total += t.elapsed();
                        std::fs::remove_dir_all(out).expect("remove the copy");
                    }
                    total
                })
            });
        }
        // What one cold copy at the default chunk leaves cached.
        evict(&source).expect("evict");
        let out = copy_once(&source, work.path(), 10 * MIB, policy, target_fadvise);
        let cached = (cached_bytes(&source).unwrap_or(0), cached_bytes(&out.join("b/t.ibd")).unwrap_or(0));
        footprint.push((name, cached));
        std::fs::remove_dir_all(out).expect("remove the copy");
    }
    group.finish();
    eprintln!("\npage cache left behind by one cold copy of {mb} MiB (10 MiB chunks):");
    eprintln!("| policy | source cached | target cached |");
    eprintln!("|---|---:|---:|");
    for (name, (src, dst)) in footprint {
        eprintln!("| {name} | {:.1} MiB | {:.1} MiB |", src as f64 / MIB as f64, dst as f64 / MIB as f64);
    }
}

criterion_group!(benches, bench_copy);
criterion_main!(benches);
