#![allow(clippy::disallowed_methods)]
//! `SourceFs::stamp` on the real file system: what it must tell apart without
//! relying on the clock moving (a write in the same timestamp tick is the
//! lock-time check's business, `FileStamp::settled_before`).

use innohot::io::real::RealSourceFs;
use innohot::io::SourceFs;
use std::fs;
use std::time::Duration;

#[test]
fn a_stamp_tells_size_re_creation_and_absence_and_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let (a, link) = (dir.path().join("t.MYD"), dir.path().join("link.MYD"));
    fs::write(&a, b"rows").unwrap();
    let fs_ = RealSourceFs;
    let first = fs_.stamp(&a).unwrap().expect("the file is there");
    assert_eq!(first.size, 4);
    assert_eq!(fs_.stamp(&a).unwrap(), Some(first), "nothing changed: the same stamp");

    // Appended: the size tells it whatever the clock did.
    fs::OpenOptions::new().append(true).open(&a).map(|mut f| std::io::Write::write_all(&mut f, b"+")).unwrap().unwrap();
    let grown = fs_.stamp(&a).unwrap().unwrap();
    assert_ne!(grown, first);

    // Re-created under the same name while the old file is still open, so the
    // inode cannot be reused: another file, another stamp.
    let _hold = fs::File::open(&a).unwrap();
    let moved = dir.path().join("old.MYD");
    fs::rename(&a, &moved).unwrap();
    fs::write(&a, b"rows+").unwrap();
    let recreated = fs_.stamp(&a).unwrap().unwrap();
    assert_eq!(recreated.size, grown.size);
    assert_ne!((recreated.device, recreated.inode), (grown.device, grown.inode));

    // A symlink is stamped as what it points at (what a copy reads).
    std::os::unix::fs::symlink(&a, &link).unwrap();
    assert_eq!(fs_.stamp(&link).unwrap(), Some(recreated));

    fs::remove_file(&a).unwrap();
    assert_eq!(fs_.stamp(&a).unwrap(), None, "a missing file has no stamp");
    assert_eq!(fs_.stamp(&link).unwrap(), None, "nor has a dangling symlink");

    // A stamp just taken is too young to vouch for anything.
    let now = innohot::io::Clock::unix_nanos(&innohot::io::real::SystemClock::new());
    assert!(!recreated.settled_before(now, Duration::from_secs(2)));
    assert!(recreated.settled_before(now + 3_000_000_000, Duration::from_secs(2)));
}
