//! The data-file copier on real MySQL 5.7 tablespaces: byte-identical copies,
//! a torn page re-read then refused by name, exclusive 0640 outputs.
#![allow(clippy::disallowed_methods)] // tests read fixtures and results directly

use innohot::copy::delta::{CopyForm, DeltaCount};
use innohot::copy::{CopySettings, CopyStep, FileCopier, Tablespace, TablespaceKind};
use innohot::events::{Phase, Recorder, Role};
use innohot::format::page::PageLayout;
use innohot::io::mem::copy_to_end;
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::{Clock, ManualClock, ReadPolicy, TargetDir};
use innohot::BackupError;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn fixtures() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql57");
    assert!(p.is_dir(), "MySQL 5.7 fixtures missing: looked in {}", p.display());
    p
}

fn settings(chunk: usize, retries: u32) -> CopySettings {
    settings_with(chunk, retries, false)
}

fn settings_with(chunk: usize, retries: u32, direct: bool) -> CopySettings {
    CopySettings {
        chunk_size: chunk,
        page_retries: retries,
        retry_delay: Duration::from_millis(100),
        read_policy: ReadPolicy { direct, fadvise: true },
        ..CopySettings::default()
    }
}

/// Steps a copier to the end; returns (result, retries seen).
fn copy(source: &Path, target: &RealTargetDir, rel: &str, s: &CopySettings) -> (Result<u64, BackupError>, u32) {
    let (c, clock) = open(source, target, rel, s);
    copy_to_end(c, &clock)
}

/// A copier of the table `source` into `rel` of `target`, and its clock.
fn open(source: &Path, target: &RealTargetDir, rel: &str, s: &CopySettings) -> (FileCopier, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let ts = Tablespace { source: source.to_path_buf(), target: PathBuf::from(rel), kind: TablespaceKind::Table };
    let c = FileCopier::open(
        ts,
        &RealSourceFs,
        target,
        s,
        PageLayout::legacy(16384),
        (Phase::DataCopy, Role::DataCopier(1)),
        Arc::new(Recorder::default()),
        clock.clone(),
    )
    .expect("open");
    (c, clock)
}

#[test]
fn real_tablespaces_copy_byte_for_byte_at_every_chunk_size() {
    let out = tempfile::tempdir().unwrap();
    let mut n = 0;
    // O_DIRECT on and off: the aligned read path and the buffered one give the same bytes.
    for (chunk, direct) in [(16384, false), (3 * 16384 + 100, true), (10 << 20, false), (10 << 20, true)] {
        let target = RealTargetDir::create(&out.path().join(format!("c{chunk}-{direct}")), false).unwrap();
        for dir in ["sakila"] {
            for e in std::fs::read_dir(fixtures().join(dir)).unwrap() {
                let src = e.unwrap().path();
                if src.extension().is_none_or(|x| x != "ibd") {
                    continue; // the LICENSE travels with the files
                }
                let rel = format!("{dir}-{}", src.file_name().unwrap().to_string_lossy());
                let (res, retries) = copy(&src, &target, &rel, &settings_with(chunk, 10, direct));
                assert_eq!(res.unwrap(), std::fs::metadata(&src).unwrap().len());
                assert_eq!(retries, 0);
                assert_eq!(std::fs::read(&src).unwrap(), std::fs::read(target.root().join(&rel)).unwrap());
                let mode = std::fs::metadata(target.root().join(&rel)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o640, "backup files are 0640");
                n += 1;
            }
        }
    }
    assert_eq!(n, 4 * 25);
}

#[test]
fn a_page_that_stays_torn_fails_naming_file_and_page_after_the_configured_rereads() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("actor.ibd");
    let mut bytes = std::fs::read(fixtures().join("sakila/actor.ibd")).unwrap();
    // Page 3: header LSN low word no longer matches the trailer: a torn write.
    bytes[3 * 16384 + 23] ^= 0x40;
    std::fs::write(&src, &bytes).unwrap();
    let target = RealTargetDir::create(&dir.path().join("backup"), false).unwrap();
    let (res, retries) = copy(&src, &target, "actor.ibd", &settings(65536, 4));
    let err = res.expect_err("a persistently torn page must fail the copy");
    assert_eq!(retries, 4, "exactly the configured number of re-reads");
    let msg = err.to_string();
    assert!(matches!(err, BackupError::CorruptPage { page: 3, attempts: 5, .. }), "{err:?}");
    assert!(msg.contains("actor.ibd") && msg.contains("page 3") && msg.contains("torn page"), "{msg}");
}

#[test]
fn the_target_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let target = RealTargetDir::create(&dir.path().join("b"), false).unwrap();
    target.create_file(Path::new("x")).unwrap();
    let again = target.create_file(Path::new("x")).err().expect("O_EXCL");
    assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("b/link")).unwrap();
    assert!(target.create_file(Path::new("link")).is_err(), "O_NOFOLLOW|O_EXCL must refuse a symlink");
    let non_empty = RealTargetDir::create(&dir.path().join("b"), false).err().expect("non-empty target refused");
    assert!(non_empty.to_string().contains("not empty"), "{non_empty}");
    target.create_dir_all(Path::new("s/t")).unwrap();
    let mode = std::fs::metadata(dir.path().join("b/s/t")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750);
}

/// DATA DIRECTORY tables are found through their `.isl` link (a stray local
/// file of the same name loses to it, as it does for the server), files of
/// an ALTER in progress are not tablespaces of the backup, and a link that
/// is not an absolute path is refused naming the link file.
#[test]
fn discovery_follows_links_and_leaves_out_in_flight_ddl() {
    use innohot::copy::{discover_tablespaces, InnodbLayout};
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let remote = dir.path().join("remote/d");
    std::fs::create_dir_all(datadir.join("d")).unwrap();
    std::fs::create_dir_all(&remote).unwrap();
    for f in ["ibdata1", "d/t.ibd", "d/local.ibd", "d/#sql-alter-1-2.ibd", "d/#sql-ib12.ibd"] {
        std::fs::write(datadir.join(f), b"").unwrap();
    }
    std::fs::write(remote.join("t.ibd"), b"").unwrap();
    std::fs::write(remote.join("p#P#p0.ibd"), b"").unwrap();
    std::fs::write(datadir.join("d/t.isl"), remote.join("t.ibd").display().to_string()).unwrap();
    std::fs::write(datadir.join("d/p#P#p0.isl"), format!("{}\n", remote.join("p#P#p0.ibd").display())).unwrap();
    let layout = InnodbLayout {
        datadir: datadir.clone(),
        data_home_dir: datadir.clone(),
        data_files: innohot::copy::parse_data_file_path("ibdata1:12M:autoextend").unwrap(),
        undo_dir: datadir.clone(),
        undo_tablespaces: 0,
    };
    let found = discover_tablespaces(&RealSourceFs, &layout).unwrap();
    let pairs: Vec<(String, PathBuf)> =
        found.iter().map(|t| (t.target.display().to_string(), t.source.clone())).collect();
    assert_eq!(
        pairs,
        vec![
            ("ibdata1".to_string(), datadir.join("ibdata1")),
            ("d/local.ibd".to_string(), datadir.join("d/local.ibd")),
            ("d/p#P#p0.ibd".to_string(), remote.join("p#P#p0.ibd")),
            ("d/t.ibd".to_string(), remote.join("t.ibd")),
        ]
    );
    std::fs::write(datadir.join("d/t.isl"), "relative/t.ibd").unwrap();
    let e = discover_tablespaces(&RealSourceFs, &layout).unwrap_err().to_string();
    assert!(e.contains("t.isl") && e.contains("not an absolute path"), "{e}");
}

/// MySQL 5.7 keeps the link of a general tablespace created with an absolute
/// ADD DATAFILE path at the top of the datadir (`ts.isl`): the tablespace is
/// copied from where it points, as `ts.ibd` beside the link, and the 5.7
/// flavor copies that link and `ib_buffer_pool` with the other top-level
/// files. (Before: the tablespace was left out and the backup failed its
/// dictionary check, "on the server but missing from the backup".)
#[test]
fn a_general_tablespace_outside_the_datadir_is_found_by_its_top_level_link() {
    use innohot::copy::{discover_tablespaces, InnodbLayout};
    use innohot::flavor::detect;
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let remote = dir.path().join("remote");
    std::fs::create_dir_all(datadir.join("d")).unwrap();
    std::fs::create_dir_all(&remote).unwrap();
    for f in ["ibdata1", "ts_local.ibd", "ib_buffer_pool", "d/t.frm"] {
        std::fs::write(datadir.join(f), b"").unwrap();
    }
    std::fs::write(remote.join("ts_remote.ibd"), b"").unwrap();
    std::fs::write(datadir.join("ts_remote.isl"), remote.join("ts_remote.ibd").display().to_string()).unwrap();
    let layout = InnodbLayout {
        datadir: datadir.clone(),
        data_home_dir: datadir.clone(),
        data_files: innohot::copy::parse_data_file_path("ibdata1:12M:autoextend").unwrap(),
        undo_dir: datadir.clone(),
        undo_tablespaces: 0,
    };
    let found = discover_tablespaces(&RealSourceFs, &layout).unwrap();
    let pairs: Vec<(String, PathBuf)> =
        found.iter().map(|t| (t.target.display().to_string(), t.source.clone())).collect();
    assert_eq!(
        pairs,
        vec![
            ("ibdata1".to_string(), datadir.join("ibdata1")),
            ("ts_local.ibd".to_string(), datadir.join("ts_local.ibd")),
            ("ts_remote.ibd".to_string(), remote.join("ts_remote.ibd")),
        ]
    );
    let vars = innohot::server::ServerVars([("version".to_string(), "5.7.41-log".to_string())].into());
    let flavor = detect(&vars).unwrap();
    let mut top: Vec<PathBuf> =
        flavor.top_level_files(&RealSourceFs, &datadir, &vars).unwrap().into_iter().map(|(_, rel)| rel).collect();
    top.sort();
    assert_eq!(top, vec![PathBuf::from("ib_buffer_pool"), PathBuf::from("ts_remote.isl")]);
}

/// An incremental copy of a table whose page 0 is on disk is its delta and
/// meta (the space id from page 0). A table whose page 0 is not written yet
/// (MariaDB writes a new table's page 0 lazily: it was created after the
/// server's last checkpoint) has no layout or space id for a meta: it is
/// copied whole as `db/t.new`, as mariabackup does, for prepare to move into
/// the base before the incremental's redo rebuilds it. (Before: a delta
/// whose meta said `space_id = 0`, the system tablespace's id, with the
/// server's page size whatever the table's: `mariabackup --prepare
/// --incremental-dir` failed on it with "Cannot find file".)
#[test]
fn an_incremental_copy_of_a_table_without_page_0_is_the_whole_file_as_new() {
    use innohot::format::delta::{decode, parse_meta};
    let dir = tempfile::tempdir().unwrap();
    let written = fixtures().join("sakila/actor.ibd");
    let bytes = std::fs::read(&written).unwrap();
    let fresh = dir.path().join("fresh.ibd");
    std::fs::write(&fresh, [vec![0u8; 16384], bytes[16384..].to_vec()].concat()).unwrap();
    let target = RealTargetDir::create(&dir.path().join("backup"), false).unwrap();
    let s = CopySettings { incremental_from: Some(1), ..settings(65536, 3) };
    let space_id = u32::from_be_bytes(bytes[38..42].try_into().unwrap());
    let pages = bytes.len() as u64 / 16384;

    for (source, rel, form) in [(&written, "db/actor.ibd", CopyForm::Delta), (&fresh, "db/fresh.ibd", CopyForm::New)] {
        let (mut c, clock) = open(source, &target, rel, &s);
        assert_eq!(c.form(), form, "{rel}");
        while !matches!(c.step().unwrap(), CopyStep::Done { .. }) {
            clock.sleep(Duration::from_millis(100));
        }
        let took = if form == CopyForm::New {
            pages
        } else {
            bytes.chunks(16384).filter(|p| p[16..24] != [0; 8]).count() as u64
        };
        assert_eq!(c.delta_count(), Some(DeltaCount { pages_scanned: pages, pages_written: took }), "{rel}");
    }
    let root = target.root();
    let meta = parse_meta(&std::fs::read_to_string(root.join("db/actor.ibd.meta")).unwrap()).unwrap();
    assert_eq!((meta.page_size, meta.zip_size, meta.space_id), (16384, 0, space_id));
    let delta = std::fs::read(root.join("db/actor.ibd.delta")).unwrap();
    assert_eq!(decode(16384, &delta).unwrap()[0].page, &bytes[..16384], "page 0 leads the delta");
    assert_eq!(std::fs::read(root.join("db/fresh.new")).unwrap(), std::fs::read(&fresh).unwrap());
    for absent in ["db/fresh.ibd.delta", "db/fresh.ibd.meta", "db/fresh.ibd", "db/actor.ibd"] {
        assert!(!root.join(absent).exists(), "{absent} is in the backup");
    }
}
