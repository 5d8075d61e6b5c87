use super::*;

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn write_new(fs: &MemFs, path: &str, bytes: &[u8]) {
    let mut f = fs.create_file(&p(path)).unwrap();
    f.write_at(bytes, 0).unwrap();
}

fn file(fs: &MemFs, path: &str) -> Option<Vec<u8>> {
    fs.tree().get(&p(path)).cloned().flatten().map(|b| b.to_vec())
}

#[test]
fn what_was_made_durable_survives_every_crash() {
    let fs = MemFs::new();
    fs.put_dir(&p("/d"));
    let mut f = fs.create_file(&p("/d/a")).unwrap();
    f.write_at(&[7u8; 5000], 0).unwrap();
    f.sync().unwrap();
    fs.sync_dir(&p("/d")).unwrap();
    for seed in 0..50 {
        assert_eq!(file(&fs.crash(seed), "/d/a"), Some(vec![7u8; 5000]), "seed {seed}");
    }
}

#[test]
fn unsynced_names_and_bytes_may_be_lost_kept_or_torn() {
    let fs = MemFs::new();
    fs.put_file(&p("/d/old"), &[1u8; 2048]);
    write_new(&fs, "/d/new", b"hello");
    fs.open_edit(&p("/d/old")).unwrap().write_at(&[2u8; 2048], 0).unwrap();
    let (mut new_lost, mut new_kept, mut torn) = (false, false, false);
    for seed in 0..200 {
        let after = fs.crash(seed);
        match file(&after, "/d/new") {
            None => new_lost = true,
            // The name can survive without the bytes (they were never fdatasynced).
            Some(b) => {
                assert!(b.is_empty() || b == b"hello", "{b:?}");
                new_kept |= b == b"hello";
            }
        }
        let old = file(&after, "/d/old").unwrap();
        assert_eq!(old.len(), 2048);
        for sector in old.chunks(512) {
            assert!(sector.iter().all(|&b| b == sector[0]), "a 512-byte sector is written whole or not at all");
        }
        torn |= old.contains(&1) && old.contains(&2);
    }
    assert!(new_lost && new_kept && torn, "lost {new_lost}, kept {new_kept}, torn {torn}");
}

#[test]
fn a_rename_is_atomic_and_only_survives_with_the_create_before_it() {
    let fs = MemFs::new();
    fs.put_dir(&p("/a"));
    fs.put_dir(&p("/b"));
    fs.put_file(&p("/a/durable"), b"x");
    fs.rename_no_replace(&p("/a/durable"), &p("/b/durable")).unwrap();
    write_new(&fs, "/a/fresh", b"y");
    fs.rename_no_replace(&p("/a/fresh"), &p("/b/fresh")).unwrap();
    let mut outcomes = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let t = fs.crash(seed).tree();
        let at = |s: &str| t.contains_key(&p(s));
        assert!(at("/a/durable") != at("/b/durable"), "seed {seed}: exactly one name");
        assert!(!(at("/a/fresh") && at("/b/fresh")), "seed {seed}: never both");
        outcomes.insert((at("/a/durable"), at("/a/fresh"), at("/b/fresh")));
    }
    assert!(outcomes.len() >= 4, "{outcomes:?}");
    // The destination's fsync makes the rename durable (and the create before it).
    fs.sync_dir(&p("/b")).unwrap();
    for seed in 0..50 {
        let t = fs.crash(seed).tree();
        assert!(t.contains_key(&p("/b/durable")) && t.contains_key(&p("/b/fresh")), "seed {seed}");
        assert!(!t.contains_key(&p("/a/durable")) && !t.contains_key(&p("/a/fresh")));
    }
}

#[test]
fn a_file_in_a_new_directory_needs_the_parents_fsync_too() {
    let fs = MemFs::new();
    fs.put_dir(&p("/m"));
    fs.create_dir_all(&p("/m/new")).unwrap();
    let mut f = fs.create_file(&p("/m/new/f")).unwrap();
    f.write_at(b"data", 0).unwrap();
    f.sync().unwrap();
    fs.sync_dir(&p("/m/new")).unwrap();
    assert!((0..100).any(|seed| !fs.crash(seed).exists(&p("/m/new/f"))));
    fs.sync_dir(&p("/m")).unwrap();
    assert!((0..100).all(|seed| file(&fs.crash(seed), "/m/new/f") == Some(b"data".to_vec())));
}

#[test]
fn devices_fill_up_and_renames_between_them_fail() {
    let fs = MemFs::new();
    fs.mount(&p("/small"), 1, 3 * BLOCK);
    fs.put_dir(&p("/big"));
    let mut f = fs.create_file(&p("/small/f")).unwrap();
    f.write_at(&[0u8; 8192], 0).unwrap();
    assert_eq!(fs.space(&p("/small")).unwrap().available, BLOCK);
    let e = f.write_at(&[0u8; 3 * 4096 + 1], 0).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    let e = fs.rename_no_replace(&p("/small/f"), &p("/big/f")).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EXDEV));
    fs.remove_file(&p("/small/f")).unwrap();
    assert_eq!(fs.space(&p("/small/")).unwrap().available, 3 * BLOCK);
    assert_ne!(fs.space(&p("/small")).unwrap().device, fs.space(&p("/big")).unwrap().device);
}

#[test]
fn a_killed_process_changes_nothing_more_and_a_planned_error_fires_once() {
    let fs = MemFs::new();
    fs.put_dir(&p("/d"));
    fs.set_faults(FaultPlan { kill_before: Some(3), fail: Some((1, libc::EIO)) });
    assert_eq!(fs.create_file(&p("/d/a")).err().unwrap().raw_os_error(), Some(libc::EIO));
    let mut f = fs.create_file(&p("/d/a")).unwrap();
    assert!(f.write_at(b"x", 0).is_err(), "killed before the third change");
    assert!(fs.was_killed());
    assert!(fs.remove_file(&p("/d/a")).is_err() && fs.read_all(&p("/d/a")).is_err());
    assert_eq!(fs.changes(), 3);
    assert_eq!(file(&fs, "/d/a"), Some(Vec::new()));
}

#[test]
fn an_unsynced_write_covered_by_a_later_one_can_survive_alone() {
    let fs = MemFs::new();
    fs.put_file(&p("/f"), &[0u8; 1536]);
    let mut f = fs.open_edit(&p("/f")).unwrap();
    f.write_at(&[1u8; 1024], 0).unwrap();
    f.write_at(&[2u8; 1024], 512).unwrap();
    let middle: std::collections::BTreeSet<u8> =
        (0..100).map(|seed| file(&fs.crash(seed), "/f").unwrap()[700]).collect();
    assert_eq!(middle, [0, 1, 2].into(), "the middle sector: as it was, the first write's, the second's");
}
