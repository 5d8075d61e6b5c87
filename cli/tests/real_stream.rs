//! `innohot backup --stream=xbstream` against a real MariaDB 10.11: a stream
//! taken under writes and DDL unpacks to the same files by `mbstream -x` and
//! `innohot extract`, with mariabackup's `.del/.ren/.new` markers for the DDL
//! that came after a table was sent; prepared by innohot or by mariabackup it
//! restores to the source's tables; so does a `--compress=zstd` stream,
//! decompressed by `innohot extract --decompress` or by `mbstream -x` and
//! `zstd -d`, into the same files. A stream cut short is refused by `innohot
//! extract`, naming what is missing; a reader that goes away fails the backup
//! and leaves the server unlocked.

use innohot::format::xbstream::{decode, Chunk};
use innohot::meta::CHECKPOINTS_FILE;
use innohot::stream::{MANIFEST, STREAM_HEAD};
use innohot_testbeds::roundtrip::{assert_same_checksums, binlog_info, prepare_copy_back_start, replay_binlog};
use innohot_testbeds::{
    binaries_or_skip, check_tables_extended, checksums_of, innohot, tree, Binaries, LocalServer, Run, ServerBuilder,
    Workload, WorkloadConfig,
};
use mysql::prelude::Queryable;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `innohot backup --stream=xbstream` of `src`, as root over its socket.
fn stream_backup(src: &LocalServer) -> Command {
    let mut cmd = innohot!().command();
    cmd.args(["backup", "--stream=xbstream", "--user=root"]).arg(format!("--socket={}", src.socket().display()));
    cmd
}

/// The stream backup of `src` (with the options `extra`) into the file `out`,
/// pausing `pause_ms` before its lock and running `meanwhile` during the
/// pause.
fn stream_backup_with_pause(
    src: &LocalServer,
    extra: &[&str],
    out: &Path,
    pause_ms: u64,
    meanwhile: impl FnOnce(),
) -> Run {
    let mut cmd = stream_backup(src);
    cmd.args(extra).arg(format!("--debug-pause-before-lock-ms={pause_ms}"));
    cmd.stdout(File::create(out).expect("create the stream file"));
    Run::pausing(&mut cmd, |_| meanwhile())
}

/// The tables the DDL during the backup works on, in database `ddl` (and `other`).
fn create_ddl_tables(src: &LocalServer) {
    let mut c = src.conn().unwrap();
    for sql in [
        "CREATE DATABASE ddl",
        "CREATE DATABASE other",
        "CREATE TABLE other.keep (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB",
        "INSERT INTO other.keep SELECT seq, 'kept' FROM ddl.seq_1_to_100",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    for (t, rows) in [("dropme", 3000), ("moveme", 4000), ("swap_a", 1000), ("swap_b", 2000), ("rebuilt", 5000)] {
        c.query_drop(format!("CREATE TABLE ddl.{t} (id INT PRIMARY KEY, k INT, v VARCHAR(200), KEY(k)) ENGINE=InnoDB"))
            .unwrap();
        c.query_drop(format!("INSERT INTO ddl.{t} SELECT seq, seq % 31, REPEAT('{t}', 20) FROM ddl.seq_1_to_{rows}"))
            .unwrap();
    }
}

/// Every kind of DDL a stream cannot take back, on tables already sent, then
/// writes to the tables as they now stand; how long it took.
fn ddl_after_the_copy(src: &LocalServer) -> Duration {
    let t0 = Instant::now();
    let mut c = src.conn().unwrap();
    for sql in [
        "DROP TABLE ddl.dropme",
        "RENAME TABLE ddl.moveme TO other.moved",
        "RENAME TABLE ddl.swap_a TO ddl.swap_tmp, ddl.swap_b TO ddl.swap_a, ddl.swap_tmp TO ddl.swap_b",
        "ALTER TABLE ddl.rebuilt FORCE",
        "CREATE TABLE ddl.created (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB",
        "INSERT INTO ddl.created SELECT seq, REPEAT('n', seq % 90) FROM ddl.seq_1_to_3000",
        "INSERT INTO other.moved VALUES (100000, 1, 'after the rename')",
        "UPDATE ddl.swap_a SET v = 'after the swap' WHERE id % 3 = 0",
        "DELETE FROM ddl.rebuilt WHERE id % 4 = 0",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    t0.elapsed()
}

/// `mbstream -x` and `innohot extract` of the stream file `stream` into
/// `DIR/mbstream` and `DIR/innohot`. With `decompress` (a `--compress=zstd`
/// stream), `zstd -d --rm` of every `.zst` after `mbstream -x`, and `innohot
/// extract --decompress`.
fn extract_both(b: &Binaries, stream: &Path, dir: &Path, decompress: bool) -> (PathBuf, PathBuf) {
    let (theirs, ours) = (dir.join("mbstream"), dir.join("innohot"));
    mbstream_x(b, stream, &theirs);
    if decompress {
        zstd_d_rm(&theirs);
    }
    let mut args = vec!["extract".to_string()];
    if decompress {
        args.push("--decompress".into());
    }
    args.extend(["-C".into(), path_arg(&ours), path_arg(stream)]);
    innohot!().run(&args).assert_completed(&format!("innohot {}", args.join(" ")));
    (theirs, ours)
}

/// The files of a `--compress=zstd` stream that are sent as they are.
const SENT_PLAIN: [&str; 3] = [STREAM_HEAD, MANIFEST, CHECKPOINTS_FILE];

/// `zstd -d --rm` of every `.zst` below `dir`, as `mbstream -x` left them:
/// every file is one but [`SENT_PLAIN`].
fn zstd_d_rm(dir: &Path) {
    let files = tree::regular_files(dir);
    let (zst, plain): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.iter().partition(|p| p.extension().is_some_and(|e| e == "zst"));
    let plain: BTreeSet<String> =
        plain.iter().map(|p| p.strip_prefix(dir).expect("below dir").display().to_string()).collect();
    assert_eq!(plain, SENT_PLAIN.iter().map(|s| s.to_string()).collect(), "the files sent uncompressed");
    let out =
        Command::new("zstd").args(["-d", "--rm", "-q", "--"]).args(&zst).output().expect("run zstd (package zstd)");
    assert!(out.status.success(), "zstd -d --rm: {}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<PathBuf> =
        tree::regular_files(dir).into_iter().filter(|p| p.extension() == Some("zst".as_ref())).collect();
    assert!(left.is_empty(), "zstd -d --rm left {left:?}");
}

/// `mbstream -x -C DIR` (DIR created first, as mbstream needs) of the stream file `stream`.
fn mbstream_x(b: &Binaries, stream: &Path, dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    let mbstream = b.mariabackup.with_file_name("mbstream");
    assert!(mbstream.exists(), "{} is missing: it comes with mariadb-backup", mbstream.display());
    let out = Command::new(&mbstream)
        .args(["-x", "-C"])
        .arg(dir)
        .stdin(File::open(stream).unwrap())
        .output()
        .expect("run mbstream");
    assert!(out.status.success(), "mbstream -x: {}", String::from_utf8_lossy(&out.stderr));
}

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// The two directories hold the same files with the same bytes (the names that differ, if not).
fn assert_same_files(a: &Path, b: &Path) {
    let (x, y) = (tree::file_contents(a), tree::file_contents(b));
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&x), names(&y), "{} and {} hold other files", a.display(), b.display());
    let differ: Vec<&PathBuf> = x.iter().filter(|(p, bytes)| y[*p] != **bytes).map(|(p, _)| p).collect();
    assert!(differ.is_empty(), "{} and {}: other bytes in {differ:?}", a.display(), b.display());
}

/// Every `.del`, `.ren` and `.new` below `dir`, as `db/name.ext`.
fn markers_in(dir: &Path) -> BTreeSet<String> {
    tree::regular_files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "del" || e == "ren" || e == "new"))
        .map(|p| p.strip_prefix(dir).expect("below dir").display().to_string())
        .collect()
}

/// The markers `ddl_after_the_copy` leaves in the stream, and the files around them.
fn assert_ddl_markers(dir: &Path) {
    let want: BTreeSet<String> =
        ["ddl/dropme.del", "ddl/moveme.ren", "ddl/swap_a.ren", "ddl/swap_b.ren", "ddl/rebuilt.new"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(markers_in(dir), want, "the markers in {}", dir.display());
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(read("ddl/dropme.del"), "");
    assert_eq!(read("ddl/moveme.ren"), "other/moved");
    assert_eq!(read("ddl/swap_a.ren"), "ddl/swap_b");
    assert_eq!(read("ddl/swap_b.ren"), "ddl/swap_a");
    for sent in ["ddl/dropme.ibd", "ddl/moveme.ibd", "ddl/rebuilt.ibd", "ddl/created.ibd", "other/moved.frm"] {
        assert!(dir.join(sent).is_file(), "{sent} is not in the stream");
    }
    // A table's bytes are sent once: under the name it had when they were.
    for never in ["other/moved.ibd", "ddl/dropme.frm", "ddl/moveme.frm", "ddl/swap_tmp.ibd"] {
        assert!(!dir.join(never).exists(), "{never} is in the stream");
    }
}

/// A restored datadir holds the tables as the DDL left them: every marker
/// applied and gone, no copy left under an old name.
fn assert_ddl_applied(who: &str, datadir: &Path) {
    assert!(markers_in(datadir).is_empty(), "{who}: markers left in the datadir: {:?}", markers_in(datadir));
    for gone in ["ddl/dropme.ibd", "ddl/moveme.ibd", "ddl/swap_tmp.ibd", "ddl/rebuilt.new"] {
        assert!(!datadir.join(gone).exists(), "{who}: {gone} is in the restored datadir");
    }
    for there in ["other/moved.ibd", "ddl/swap_a.ibd", "ddl/swap_b.ibd", "ddl/rebuilt.ibd", "ddl/created.ibd"] {
        assert!(datadir.join(there).is_file(), "{who}: {there} is not in the restored datadir");
    }
}

/// `innohot prepare` and `innohot copy-back` of `backup` into `datadir`, and a server on it.
fn restore_by_innohot(b: &Binaries, backup: &Path, datadir: &Path) -> LocalServer {
    let t0 = Instant::now();
    innohot!().prepare(backup, &[]).assert_completed("innohot prepare");
    eprintln!("innohot prepare: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(markers_in(backup).is_empty(), "innohot prepare left markers: {:?}", markers_in(backup));
    innohot!().copy_back(backup, datadir).assert_ok("innohot copy-back");
    ServerBuilder::new(b.clone()).start_on(datadir).expect("start a server on innohot's restore")
}

/// `mariabackup --prepare` and `--copy-back` of `backup` into `datadir`, and a server on it.
fn restore_by_mariabackup(b: &Binaries, backup: &Path, datadir: &Path) -> LocalServer {
    let restored = prepare_copy_back_start(ServerBuilder::new(b.clone()), backup, datadir)
        .unwrap_or_else(|e| panic!("mariabackup --prepare, --copy-back and a server on it: {e}"));
    let log = std::fs::read_to_string(backup.with_extension("prepare.log")).unwrap_or_default();
    let said: Vec<&str> = log.lines().filter(|l| [".ren", ".del", ".new"].iter().any(|m| l.contains(m))).collect();
    eprintln!("mariabackup --prepare on the markers:\n{}", said.join("\n"));
    restored
}

/// `restored` checks clean, and after the source's binlog is replayed from
/// `from` holds the tables `want`.
fn assert_restores(who: &str, src: &LocalServer, from: &(String, u64), restored: &LocalServer, want: &Sums) {
    let bad = check_tables_extended(&mut restored.conn().unwrap()).unwrap();
    assert!(bad.is_empty(), "{who}: CHECK TABLE ... EXTENDED on the restored server:\n{bad}");
    if let Err(e) = replay_binlog(src, from, restored) {
        panic!("{who}: the binlog replay failed: {e}\nthe restored server's log:\n{}", restored.error_log_tail(40));
    }
    assert_same_checksums(want, &checksums_of(restored), who);
}

type Sums = BTreeMap<String, u64>;

/// The workload on `src` (schema `load`), stopped once the backup is done.
fn start_load(src: &LocalServer) -> Workload {
    let cfg = WorkloadConfig {
        schema: "load".into(),
        initial_rows: 1000,
        duration: Duration::from_secs(300), // an upper bound
        ..WorkloadConfig::default()
    };
    Workload::start(src.opts(), cfg).unwrap()
}

#[test]
fn a_stream_under_write_load_and_ddl_restores_equal_by_both_extractors_and_both_prepares() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b.clone()).start().expect("start the source");
    create_ddl_tables(&src);
    let load = start_load(&src);
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("backup.xbstream");
    let pause = Duration::from_secs(10);
    let mut ddl_took = Duration::MAX;
    let run = stream_backup_with_pause(&src, &[], &stream, pause.as_millis() as u64, || {
        ddl_took = ddl_after_the_copy(&src);
    });
    let stats = load.stop().unwrap();
    eprintln!("workload during the backup: {stats:?}");
    let log = &run.assert_completed("innohot backup --stream").stderr;
    let said: Vec<&str> = log.lines().filter(|l| l.contains("pausing") || l.contains("during the backup")).collect();
    eprintln!("the backup says:\n{}", said.join("\n"));
    assert!(ddl_took < pause, "the DDL took {ddl_took:?}, longer than the pause: it may have come after the lock");
    assert!(stats.commits > 100, "the workload barely ran: {stats:?}");
    let want = checksums_of(&src);
    for t in ["ddl.created", "ddl.swap_a", "ddl.rebuilt", "other.moved", "load.innodb_0", "load.myisam_0"] {
        assert!(want.contains_key(t), "{t} not among the source's tables: {:?}", want.keys());
    }

    let (theirs, ours) = extract_both(&b, &stream, dir.path(), false);
    assert_same_files(&theirs, &ours);
    assert_ddl_markers(&ours);
    let from = binlog_info(&ours).unwrap();

    let restored = restore_by_innohot(&b, &ours, &dir.path().join("restored-innohot"));
    assert_ddl_applied("innohot prepare", &dir.path().join("restored-innohot"));
    assert_restores("innohot prepare", &src, &from, &restored, &want);
    drop(restored);
    let restored = restore_by_mariabackup(&b, &theirs, &dir.path().join("restored-mariabackup"));
    assert_ddl_applied("mariabackup --prepare", &dir.path().join("restored-mariabackup"));
    assert_restores("mariabackup --prepare", &src, &from, &restored, &want);
}

/// The COMMIT statements `src` has run (the workload ends each InnoDB transaction with one).
fn commits(src: &LocalServer) -> u64 {
    let row: Option<(String, u64)> = src.conn().unwrap().query_first("SHOW GLOBAL STATUS LIKE 'Com_commit'").unwrap();
    row.expect("Com_commit").1
}

/// Polls until `src` has committed `n` more transactions; how long it took.
fn wait_for_commits(src: &LocalServer, n: u64, limit: Duration) -> Duration {
    let (t0, start) = (Instant::now(), commits(src));
    while commits(src) < start + n {
        assert!(t0.elapsed() < limit, "fewer than {n} commits in {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

fn total_size(dir: &Path) -> u64 {
    tree::regular_files(dir).iter().map(|p| p.metadata().unwrap().len()).sum()
}

/// `--compress=zstd --parallel=2` under a write load (commits seen during the
/// pause before the lock, so the redo copy carries them): the stream is a
/// fraction of its files; `innohot extract --decompress` and `mbstream -x` +
/// `zstd -d --rm` give the same bytes; either tree, prepared by innohot or by
/// mariabackup and restored, checks clean and equals the source after the
/// binlog replay.
#[test]
fn a_compressed_stream_under_write_load_restores_equal() {
    let Some(b) = binaries_or_skip() else { return };
    let t0 = Instant::now();
    let src = ServerBuilder::new(b.clone()).start().expect("start the source");
    let mut c = src.conn().unwrap();
    for sql in [
        "CREATE DATABASE bulk",
        "CREATE TABLE bulk.t (id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60), KEY(k)) ENGINE=InnoDB",
        "INSERT INTO bulk.t SELECT seq, seq % 1000, REPEAT('c', 120), REPEAT('p', 60) FROM bulk.seq_1_to_100000",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let load = start_load(&src);
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("backup.xbstream");
    let pause = Duration::from_secs(3);
    let mut writes_took = Duration::MAX;
    let run =
        stream_backup_with_pause(&src, &["--compress=zstd", "--parallel=2"], &stream, pause.as_millis() as u64, || {
            writes_took = wait_for_commits(&src, 50, pause);
        });
    let stats = load.stop().unwrap();
    eprintln!("workload during the backup: {stats:?}");
    run.assert_completed("innohot backup --stream=xbstream --compress=zstd");
    eprintln!("50 commits in the first {writes_took:?} of the pause before the lock");
    assert!(stats.commits > 100, "the workload barely ran: {stats:?}");
    let want = checksums_of(&src);
    for t in ["bulk.t", "load.innodb_0", "load.myisam_0", "load.aria_0"] {
        assert!(want.contains_key(t), "{t} not among the source's tables: {:?}", want.keys());
    }
    eprintln!("source ready and backed up after {:.1} s", t0.elapsed().as_secs_f64());

    let (theirs, ours) = extract_both(&b, &stream, dir.path(), true);
    assert_same_files(&theirs, &ours);
    let (zst, raw) = (stream.metadata().unwrap().len(), total_size(&ours));
    eprintln!("stream {zst} bytes, extracted {raw} bytes: {:.1}x smaller", raw as f64 / zst as f64);
    assert!(raw > 30 << 20, "the backup holds {raw} bytes: bulk.t is missing");
    assert!(zst * 4 < raw, "the compressed stream ({zst} bytes) is not much smaller than its files ({raw} bytes)");
    let from = binlog_info(&ours).unwrap();

    let restored = restore_by_innohot(&b, &ours, &dir.path().join("restored-innohot"));
    assert_restores("innohot prepare", &src, &from, &restored, &want);
    drop(restored);
    let restored = restore_by_mariabackup(&b, &theirs, &dir.path().join("restored-mariabackup"));
    assert_restores("mariabackup --prepare", &src, &from, &restored, &want);
    eprintln!("the whole test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// Each place a stream can end: after each chunk, the files then open.
fn chunk_ends(stream: &[u8]) -> Vec<(usize, BTreeSet<String>)> {
    let (mut at, mut open, mut ends) = (0, BTreeSet::new(), Vec::new());
    while let Some((chunk, len)) = decode(&stream[at..]).expect("innohot's stream decodes") {
        match chunk {
            Chunk::Payload { path, .. } => open.insert(path.to_string()),
            Chunk::Eof { path } => open.remove(path),
            Chunk::Skipped { .. } => false,
        };
        at += len;
        ends.push((at, open.clone()));
    }
    assert_eq!(at, stream.len(), "the stream ends with a whole chunk");
    ends
}

/// `innohot extract -C DIR -` of `stream`: its exit status and stderr.
fn extract_stdin(dir: &Path, stream: &[u8]) -> (ExitStatus, String) {
    use std::io::Write;
    let mut child = innohot!()
        .command()
        .args(["extract", "-C"])
        .arg(dir)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run innohot extract");
    // It may stop reading at the first chunk it refuses: a broken pipe then.
    let _ = child.stdin.take().expect("stdin piped").write_all(stream);
    let out = child.wait_with_output().expect("wait for innohot extract");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_cut_stream_is_refused_by_innohot_extract_naming_what_is_missing() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b.clone()).start().expect("start the server");
    let mut c = src.conn().unwrap();
    for sql in [
        "CREATE DATABASE cut",
        "CREATE TABLE cut.t (id INT PRIMARY KEY, v VARCHAR(500)) ENGINE=InnoDB",
        "INSERT INTO cut.t SELECT seq, REPEAT('v', 500) FROM cut.seq_1_to_20000",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let out = stream_backup(&src).stderr(Stdio::piped()).output().expect("run innohot backup --stream");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && log.trim_end().ends_with("completed OK!"), "{log}");
    let stream = out.stdout;
    let first = decode(&stream).expect("innohot's stream decodes").map(|(c, _)| chunk_path(&c));
    assert_eq!(first.as_deref(), Some(STREAM_HEAD), "the stream's first file");
    let dir = tempfile::tempdir().unwrap();
    let (status, err) = extract_stdin(&dir.path().join("whole"), &stream);
    assert!(status.success() && err.trim_end().ends_with("completed OK!"), "the whole stream: {err}");

    let ends = chunk_ends(&stream);
    let (mid_file, open) =
        ends.iter().find(|(at, open)| *at > stream.len() / 2 && !open.is_empty()).expect("a file open mid-stream");
    let (status, err) = extract_stdin(&dir.path().join("cut-mid-file"), &stream[..*mid_file]);
    assert_eq!(status.code(), Some(1), "a stream cut at a chunk boundary inside {open:?}: {err}");
    assert!(err.contains("ends before the end of"), "{err}");
    for name in open {
        assert!(err.contains(name.as_str()), "the message does not name {name}, left open: {err}");
    }
    let (status, err) = extract_stdin(&dir.path().join("cut-mid-chunk"), &stream[..*mid_file + 7]);
    assert_eq!(status.code(), Some(1), "a stream cut 7 bytes into a chunk: {err}");
    assert!(err.contains("ends inside a chunk (7 bytes"), "{err}");

    // Cut between two files, right before the manifest: every file in it is whole.
    let (before_manifest, open) = &ends[ends.len() - 3];
    assert!(open.is_empty(), "files open before the manifest: {open:?}");
    let next = decode(&stream[*before_manifest..]).unwrap().map(|(c, _)| chunk_path(&c));
    assert_eq!(next.as_deref(), Some(MANIFEST), "the stream's last file");
    let cut = &stream[..*before_manifest];
    // Refused since `innohot extract` checks the manifest (7201fc1, written in parallel
    // with this test; before it, this stream was taken as whole): a stream without its
    // manifest is no complete backup, even when every file in it is whole.
    let (status, err) = extract_stdin(&dir.path().join("cut-before-manifest"), cut);
    assert_eq!(status.code(), Some(1), "a stream cut right before its {MANIFEST} was accepted: {err}");
    assert!(err.contains(&format!("ends without {MANIFEST}")), "the message does not say what is missing: {err}");
    // mbstream -x takes that stream silently; innohot prepare then refuses its files.
    let cut_file = dir.path().join("cut.xbstream");
    std::fs::write(&cut_file, cut).unwrap();
    mbstream_x(&b, &cut_file, &dir.path().join("cut-by-mbstream"));
    let run = innohot!().prepare(&dir.path().join("cut-by-mbstream"), &[]);
    let log = &run.stderr;
    assert!(
        !run.ok() && log.contains(&format!("ended without {MANIFEST}")),
        "innohot prepare of the cut stream:\n{log}"
    );
}

fn chunk_path(c: &Chunk<'_>) -> String {
    match c {
        Chunk::Payload { path, .. } | Chunk::Eof { path } | Chunk::Skipped { path } => path.to_string(),
    }
}

/// The BACKUP STAGE (and FLUSH TABLES WITH READ LOCK) locks held on the server.
fn backup_locks(src: &LocalServer) -> Vec<(u64, String)> {
    src.conn()
        .unwrap()
        .query(
            "SELECT THREAD_ID, LOCK_MODE FROM information_schema.METADATA_LOCK_INFO WHERE LOCK_MODE IN \
             ('MDL_BACKUP_START', 'MDL_BACKUP_FLUSH', 'MDL_BACKUP_WAIT_FLUSH', 'MDL_BACKUP_WAIT_DDL', \
             'MDL_BACKUP_WAIT_COMMIT', 'MDL_BACKUP_FTWRL1', 'MDL_BACKUP_FTWRL2')",
        )
        .expect("information_schema.METADATA_LOCK_INFO (plugin metadata_lock_info)")
}

/// No backup lock is held, and a write and a DDL on each engine go through
/// (or fail within `lock_wait_timeout` if the server were still locked).
fn assert_unlocked(src: &LocalServer, round: u32) {
    let held = backup_locks(src);
    assert!(held.is_empty(), "the server is still locked after the failed backup: {held:?}");
    let mut c = src.conn().unwrap();
    c.query_drop("SET SESSION lock_wait_timeout = 10, SESSION innodb_lock_wait_timeout = 10").unwrap();
    for sql in [
        format!("INSERT INTO gone.t (id, v) VALUES ({}, 'after')", 1_000_000 + round),
        format!("INSERT INTO gone.m (id, v) VALUES ({}, 'after')", 1_000_000 + round),
        format!("ALTER TABLE gone.t ADD COLUMN c{round} INT"),
        format!("ALTER TABLE gone.m ADD COLUMN c{round} INT"),
        format!("CREATE TABLE gone.new{round} (id INT PRIMARY KEY) ENGINE=InnoDB"),
    ] {
        let t0 = Instant::now();
        c.query_drop(&sql).unwrap_or_else(|e| panic!("{sql} after the failed backup: {e}"));
        assert!(t0.elapsed() < Duration::from_secs(5), "{sql} waited {:?}", t0.elapsed());
    }
}

/// A backup's stderr, read in a thread (so that it never blocks on a full pipe).
fn collect_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    })
}

/// Waits for `child` at most `limit`, polling; kills it and fails past that.
fn wait_at_most(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for innohot") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("innohot still runs {limit:?} after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// It failed (exit 1), saying its reader went away, and never said it completed.
fn assert_failed_for_the_reader(status: ExitStatus, log: &str) {
    assert_eq!(status.code(), Some(1), "innohot backup --stream with its reader gone: {status}\n{log}");
    assert!(log.contains("reader went away") && log.contains("broken pipe"), "{log}");
    assert!(!log.contains("completed OK!"), "{log}");
}

/// The stream of a backup of `src` into `head -c BYTES`, which exits after it.
fn stream_into_head(src: &LocalServer, bytes: u64) -> (ExitStatus, String) {
    let mut backup = stream_backup(src).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run innohot");
    let log = collect_stderr(&mut backup);
    let head = Command::new("head")
        .arg(format!("--bytes={bytes}"))
        .stdin(backup.stdout.take().expect("stdout piped"))
        .stdout(Stdio::null())
        .status()
        .expect("run head");
    assert!(head.success(), "head: {head}");
    let status = wait_at_most(&mut backup, Duration::from_secs(120));
    (status, log.join().expect("the stderr reader"))
}

/// The stream of a backup of `src`, read here up to the first chunk of a
/// MyISAM data file (sent under the server's lock), then closed: the backup
/// locks held at that moment, its exit status and its log.
fn stream_closed_under_the_lock(src: &LocalServer) -> (Vec<(u64, String)>, ExitStatus, String) {
    let mut backup = stream_backup(src).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run innohot");
    let log = collect_stderr(&mut backup);
    let mut out = backup.stdout.take().expect("stdout piped");
    let (mut buf, mut piece) = (Vec::new(), vec![0u8; 1 << 16]);
    let held = loop {
        let mut myd = false;
        while let Some((chunk, len)) = decode(&buf).expect("innohot's stream decodes") {
            myd = chunk_path(&chunk).ends_with(".MYD");
            if myd {
                break;
            }
            buf.drain(..len);
        }
        if myd {
            break backup_locks(src);
        }
        let n = out.read(&mut piece).expect("read the stream");
        assert!(n > 0, "the stream ended before any MyISAM data file: {}", log.join().unwrap());
        buf.extend_from_slice(&piece[..n]);
    };
    drop(out);
    let status = wait_at_most(&mut backup, Duration::from_secs(120));
    (held, status, log.join().expect("the stderr reader"))
}

#[test]
fn a_reader_gone_mid_backup_fails_the_backup_and_unlocks_the_server() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b).option("--plugin-load-add=metadata_lock_info").start().expect("start the server");
    let mut c = src.conn().unwrap();
    for sql in [
        "CREATE DATABASE gone",
        "CREATE TABLE gone.t (id INT PRIMARY KEY, v VARCHAR(1000)) ENGINE=InnoDB",
        "INSERT INTO gone.t SELECT seq, REPEAT('i', 1000) FROM gone.seq_1_to_30000",
        // 40 MB sent under the lock: the stream is still running when its reader goes.
        "CREATE TABLE gone.m (id INT PRIMARY KEY, v VARCHAR(1000)) ENGINE=MyISAM",
        "INSERT INTO gone.m SELECT seq, REPEAT('m', 1000) FROM gone.seq_1_to_40000",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert!(backup_locks(&src).is_empty(), "locked before any backup");

    // A reader that exits after 100 kB, long before the backup ends (in its first redo copy).
    let (status, log) = stream_into_head(&src, 100_000);
    eprintln!("reader gone during the copy:\n{log}");
    assert_failed_for_the_reader(status, &log);
    assert_unlocked(&src, 1);

    // A reader gone while the server is locked for the non-InnoDB files.
    let (held, status, log) = stream_closed_under_the_lock(&src);
    eprintln!("reader gone under the lock (locks then: {held:?}):\n{log}");
    assert!(!held.is_empty(), "no backup lock held while the MyISAM files were sent");
    assert_failed_for_the_reader(status, &log);
    assert_unlocked(&src, 2);
}
