//! The copier over one in-memory file system: real MySQL 5.7 tablespaces read
//! through `MemFs::source_view` and written through `MemFs::target_view` come
//! out byte for byte, and a read fault planned by `io::faulty` fails the copy
//! naming the file and the OS error.
#![allow(clippy::disallowed_methods)] // the fixtures are read directly

use innohot::copy::{CopySettings, FileCopier, Tablespace, TablespaceKind};
use innohot::events::{Phase, Recorder, Role};
use innohot::format::page::PageLayout;
use innohot::io::faulty::FaultySourceFs;
use innohot::io::mem::copy_to_end;
use innohot::io::memfs::MemFs;
use innohot::io::{LocalFs, ManualClock, SourceFs, TargetDir};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn sakila(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql57/sakila").join(name))
        .expect("a MySQL 5.7 fixture")
}

fn copy(source: &dyn SourceFs, target: &dyn TargetDir, from: &str, to: &str) -> Result<u64, innohot::BackupError> {
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let ts = Tablespace { source: PathBuf::from(from), target: PathBuf::from(to), kind: TablespaceKind::Table };
    let settings = CopySettings { chunk_size: 3 * 16384 + 100, ..CopySettings::default() };
    let role = (Phase::DataCopy, Role::DataCopier(1));
    let copier = FileCopier::open(
        ts,
        source,
        target,
        &settings,
        PageLayout::legacy(16384),
        role,
        Arc::new(Recorder::default()),
        clock.clone(),
    )?;
    copy_to_end(copier, &clock).0
}

fn loaded() -> MemFs {
    let fs = MemFs::new();
    fs.put_file(Path::new("/datadir/sakila/actor.ibd"), &sakila("actor.ibd"));
    fs.put_file(Path::new("/datadir/sakila/film.ibd"), &sakila("film.ibd"));
    fs.put_dir(Path::new("/backup/sakila"));
    fs
}

#[test]
fn tablespaces_copy_byte_for_byte_within_one_memfs() {
    let fs = loaded();
    let target = fs.target_view(Path::new("/backup"));
    for name in ["actor.ibd", "film.ibd"] {
        let (from, to) = (format!("/datadir/sakila/{name}"), format!("sakila/{name}"));
        let bytes = copy(&fs.source_view(), &target, &from, &to).expect("the copy");
        assert_eq!(bytes, sakila(name).len() as u64);
        assert_eq!(fs.read_all(&Path::new("/backup").join(&to)).expect("the copied file"), sakila(name), "{name}");
    }
}

#[test]
fn a_planned_read_fault_fails_the_copy_naming_the_file() {
    let fs = loaded();
    let source = FaultySourceFs {
        inner: fs.source_view(),
        read_eio: Some(("actor.ibd".into(), 2)),
        fired: Default::default(),
        ops: Default::default(),
    };
    let err = copy(&source, &fs.target_view(Path::new("/backup")), "/datadir/sakila/actor.ibd", "sakila/actor.ibd")
        .expect_err("the planned EIO fails the copy");
    let msg = err.to_string();
    assert!(msg.contains("actor.ibd"), "{msg}");
    assert_eq!(*source.fired.lock().unwrap(), ["EIO on read 2 of /datadir/sakila/actor.ibd"]);
}
