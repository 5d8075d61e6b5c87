use super::*;
use crate::io::contract::{check_source_fs, check_target_dir, lay_out_source_tree};
use crate::io::memfs::MemFs;

fn datadir() -> MemFs {
    let fs = MemFs::new();
    fs.put_dir(Path::new("/datadir"));
    lay_out_source_tree(&fs, Path::new("/datadir"));
    fs
}

#[test]
fn without_faults_the_wrappers_keep_the_contracts() {
    let fs = datadir();
    let source =
        FaultySourceFs { inner: fs.source_view(), read_eio: None, fired: Default::default(), ops: Default::default() };
    check_source_fs(&source, Path::new("/datadir"));
    assert!(source.ops.lock().unwrap().iter().any(|op| op.starts_with("list /datadir")), "listings are recorded");
    fs.put_dir(Path::new("/backup"));
    let target = FaultyTarget {
        inner: fs.target_view(Path::new("/backup")),
        faults: TargetFaults::default(),
        fired: Default::default(),
    };
    check_target_dir(&target, &fs.source_view());
    assert!(source.fired.lock().unwrap().is_empty() && target.fired.lock().unwrap().is_empty());
}

#[test]
fn the_planned_read_fails_once_counted_over_every_clone() {
    let fs = datadir();
    let fired = FiredLog::default();
    let source = FaultySourceFs {
        inner: fs.source_view(),
        read_eio: Some(("t1.ibd".into(), 2)),
        fired: fired.clone(),
        ops: Default::default(),
    };
    let mut f = source.open(Path::new("/datadir/db/t1.ibd"), ReadPolicy::default()).unwrap();
    let mut clone = f.try_clone().unwrap().expect("MemFs handles clone");
    let mut buf = [0u8; 16];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 16);
    assert_eq!(clone.read_at(&mut buf, 0).unwrap_err().raw_os_error(), Some(libc::EIO));
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 16, "only the planned read fails");
    assert_eq!(*fired.lock().unwrap(), ["EIO on read 2 of /datadir/db/t1.ibd"]);
}

#[test]
fn planned_target_faults_fire_where_named() {
    let fs = MemFs::new();
    fs.put_dir(Path::new("/backup"));
    let faults = TargetFaults {
        create_enospc: Some("full".into()),
        write_eio: Some(("a".into(), 2)),
        sync_eio: Some("a".into()),
    };
    let target = FaultyTarget { inner: fs.target_view(Path::new("/backup")), faults, fired: Default::default() };
    let full = target.create_file(Path::new("full")).map(drop).unwrap_err();
    assert_eq!(full.raw_os_error(), Some(libc::ENOSPC));
    let mut a = target.create_file(Path::new("a")).unwrap();
    a.write_at(b"x", 0).unwrap();
    assert_eq!(a.write_at(b"y", 1).unwrap_err().raw_os_error(), Some(libc::EIO));
    assert_eq!(a.sync().unwrap_err().raw_os_error(), Some(libc::EIO));
    assert_eq!(target.sync_file(Path::new("a")).unwrap_err().raw_os_error(), Some(libc::EIO));
    let fired = target.fired.lock().unwrap().clone();
    assert_eq!(
        fired,
        ["ENOSPC creating full", "EIO on write 2 of a", "EIO on fdatasync of a", "EIO on fdatasync of a"]
    );
}
