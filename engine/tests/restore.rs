//! `restore::prepare` and `restore::copyback` on small hand-built MariaDB backups in
//! temporary directories: what is applied, what is refused (and that a refusal
//! leaves every byte as it was), an interrupted prepare run again, copy-back and
//! move-back placement.
#![allow(clippy::disallowed_methods)] // tests build backups and read results directly

use innohot::format::mariadb::{self, encode_page_edit, Checkpoint, PageEdit, PageId, PageOp, Record, Ring};
use innohot::format::{checksum, page, page_compressed};
use innohot::io::local::RealLocalFs;
use innohot::meta;
use innohot::restore::copyback::{self, Mode, Ownership, RestoreOptions};
use innohot::restore::prepare;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PS: usize = 16384;
const C: u64 = 20_000;
/// full_crc32, 16 KiB pages.
const FLAGS: u32 = page::FSP_FLAGS_FCRC32_MARKER | 5;

fn tablespace(space: u32, pages: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for no in 0..pages {
        let kind = if no == 0 { page::PAGE_TYPE_FSP_HDR } else { page::PAGE_TYPE_INDEX };
        let mut p = page::new_page(PS, space, no, kind, 1000);
        if no == 0 {
            p[page::FSP_SPACE_ID..page::FSP_SPACE_ID + 4].copy_from_slice(&space.to_be_bytes());
            p[page::FSP_SIZE..page::FSP_SIZE + 4].copy_from_slice(&pages.to_be_bytes());
            p[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&FLAGS.to_be_bytes());
        }
        page::stamp_full_crc32(&mut p);
        out.extend(p);
    }
    out
}

/// The log: FILE_CHECKPOINT(C), a WRITE to page 1 of space 5, then INIT_PAGE + WRITE of
/// its page 3 (past the end of its 2-page file). Returns the log and last_lsn.
fn log() -> (Vec<u8>, u64) {
    let mut out = mariadb::backup_log_header(Checkpoint { lsn: C, end_lsn: C }, "Backup 10.11.19");
    let ring = Ring::new(C, 1 << 30).unwrap();
    let mut lsn = C;
    let (op, payload) = encode_page_edit(&PageEdit::Write { offset: 100, data: b"hello" });
    let (op3, payload3) = encode_page_edit(&PageEdit::Write { offset: 200, data: b"grown" });
    let id = |page| Some(PageId { space: 5, page });
    let mtrs: Vec<Vec<Record>> = vec![
        vec![Record::FileCheckpoint { lsn: C }],
        vec![Record::Page { op, page: id(1), payload: &payload }],
        vec![
            Record::Page { op: PageOp::InitPage, page: id(3), payload: &[] },
            Record::Page { op: op3, page: None, payload: &payload3 },
        ],
    ];
    for recs in &mtrs {
        let bytes = mariadb::encode_mtr(recs, lsn, &ring).unwrap();
        lsn += bytes.len() as u64;
        out.extend(bytes);
    }
    (out, lsn)
}

/// A complete, unprepared backup in `dir`; returns last_lsn.
fn backup(dir: &Path) -> u64 {
    let (log, last) = log();
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::write(dir.join("ibdata1"), tablespace(0, 4)).unwrap();
    std::fs::write(dir.join("db/t.ibd"), tablespace(5, 2)).unwrap();
    std::fs::write(dir.join("db/t.frm"), b"frm").unwrap();
    std::fs::write(dir.join("ib_logfile0"), log).unwrap();
    std::fs::write(dir.join(meta::CHECKPOINTS_FILE), meta::checkpoints(C, last)).unwrap();
    std::fs::write(dir.join(meta::BACKUP_MY_CNF), "[mysqld]\ninnodb_page_size=16384\n").unwrap();
    std::fs::write(dir.join(meta::INFO_FILE), "uuid = x\n").unwrap();
    last
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn prepare_applies_the_log_extends_the_file_and_leaves_the_backup_as_mariabackup_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let last = backup(&dir);
    let r = prepare::prepare(&RealLocalFs, &dir).unwrap();
    assert!(!r.already_prepared);
    assert_eq!((r.start_lsn, r.end_lsn, r.mtrs, r.tablespaces), (C, last, 3, 2));
    assert_eq!(r.pages_written, 2, "{r:?}");
    let t = std::fs::read(dir.join("db/t.ibd")).unwrap();
    assert_eq!(t.len(), 4 * PS, "the file grew to hold page 3");
    assert_eq!(&t[PS + 100..PS + 105], b"hello");
    // After INIT_PAGE a same_page offset counts from FIL_PAGE_TYPE (24).
    assert_eq!(&t[3 * PS + 224..3 * PS + 229], b"grown");
    for no in [1u32, 3] {
        let pg = &t[no as usize * PS..(no as usize + 1) * PS];
        assert!(page::validate_page(pg, 5, no, page::PageLayout::full_crc32(PS)).is_ok(), "page {no}");
        assert!(page::fil_header(pg).unwrap().lsn <= last);
    }
    assert_eq!(
        std::fs::read(dir.join("ib_logfile0")).unwrap(),
        prepare::prepared_log(last, "Backup 10.11.19").unwrap()
    );
    let cp = std::fs::read_to_string(dir.join(meta::CHECKPOINTS_FILE)).unwrap();
    assert!(cp.starts_with("backup_type = log-applied\nfrom_lsn = 0\n"), "{cp}");
    // Prepared: a second run changes nothing.
    let before = snapshot(&dir);
    assert!(prepare::prepare(&RealLocalFs, &dir).unwrap().already_prepared);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn the_prepared_log_is_byte_for_byte_what_mariabackup_10_11_wrote() {
    // mariabackup 10.11.19 --prepare of a real idle backup with last_lsn 4095532.
    let log = prepare::prepared_log(4_095_532, "Backup 10.11.19").unwrap();
    assert_eq!(log.len(), 12304);
    assert_eq!(&log[..32], b"Phys\0\0\0\0\0\0\0\0\0\x3e\x7e\x1cBackup 10.11.19\0");
    assert_eq!(&log[0x1fc..0x200], &[0xb3, 0x14, 0x6b, 0x27]);
    assert_eq!(&log[4096..4112], &[0, 0, 0, 0, 0, 0x3e, 0x7e, 0x1c, 0, 0, 0, 0, 0, 0x3e, 0x7e, 0x1c]);
    assert_eq!(&log[4096 + 60..4096 + 64], &[0x29, 0x8c, 0x60, 0x72]);
    assert_eq!(&log[12288..], &[0xfa, 0, 0, 0, 0, 0, 0, 0, 0x3e, 0x7e, 0x1c, 0x01, 0x31, 0x3b, 0x08, 0xfd]);
    assert!(log[8192..12288].iter().all(|&b| b == 0));
}

#[test]
fn an_interrupted_prepare_run_again_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, pages_only, pages_and_log) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    for d in [&whole, &pages_only, &pages_and_log] {
        backup(d);
    }
    prepare::prepare(&RealLocalFs, &whole).unwrap();
    // Interrupted after the pages were written back.
    let cp = innohot::restore::read_checkpoints(&RealLocalFs, &pages_only).unwrap();
    prepare::apply_pages(&RealLocalFs, &pages_only, &cp, &[]).unwrap();
    // Interrupted after the new log too, before the checkpoints file.
    let (r, creator) = prepare::apply_pages(&RealLocalFs, &pages_and_log, &cp, &[]).unwrap();
    prepare::write_prepared_log(&RealLocalFs, &pages_and_log, r.end_lsn, &creator).unwrap();
    // With the old log still there, the page-LSN rule leaves page 1 alone, and page 3,
    // which the redo builds from its INIT_PAGE, is built again unread (as recovery
    // does) and written, byte for byte; with the new log there is nothing to apply.
    for (d, already_and_written) in [(&pages_only, (1, 1)), (&pages_and_log, (0, 0))] {
        let again = prepare::prepare(&RealLocalFs, d).unwrap();
        assert!(!again.already_prepared);
        assert_eq!((again.records_already_in_page, again.pages_written), already_and_written, "{again:?}");
        assert_eq!(snapshot(d), snapshot(&whole), "{}", d.display());
    }
}

#[test]
fn a_page_the_redo_rebuilds_from_init_page_is_never_read_so_a_torn_one_is_mended() {
    // Page 3 inside the file this time; in one copy it holds what a write cut short by a
    // crash leaves (half new bytes, half garbage), which no checksum accepts.
    let tmp = tempfile::tempdir().unwrap();
    let (clean, torn) = (tmp.path().join("a"), tmp.path().join("b"));
    for d in [&clean, &torn] {
        backup(d);
        std::fs::write(d.join("db/t.ibd"), tablespace(5, 4)).unwrap();
    }
    let mut t = std::fs::read(torn.join("db/t.ibd")).unwrap();
    t[3 * PS + PS / 2..4 * PS].fill(0xA5);
    std::fs::write(torn.join("db/t.ibd"), t).unwrap();
    let r = prepare::prepare(&RealLocalFs, &clean).unwrap();
    let again = prepare::prepare(&RealLocalFs, &torn).unwrap();
    assert_eq!((again.pages_written, again.records_applied), (r.pages_written, r.records_applied));
    assert_eq!(snapshot(&torn), snapshot(&clean), "the torn page is built again from the redo");
}

/// Runs prepare on a backup `spoil` changed; asserts the error names `needle` and
/// that not a byte moved.
fn refused(spoil: impl Fn(&Path), needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    backup(&dir);
    spoil(&dir);
    let before = snapshot(&dir);
    let err = prepare::prepare(&RealLocalFs, &dir).unwrap_err().to_string();
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert_eq!(snapshot(&dir), before, "a refused prepare changed the backup: {err}");
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x40;
    std::fs::write(path, b).unwrap();
}

#[test]
fn refusals_name_the_cause_and_leave_every_byte() {
    refused(
        |d| {
            std::fs::remove_file(d.join(meta::CHECKPOINTS_FILE)).unwrap();
            std::fs::write(d.join(meta::FAILED_MARKER), "the lock timed out\nmore\n").unwrap();
        },
        &["no xtrabackup_checkpoints", "did not complete", "innohot_backup_failed says: the lock timed out"],
    );
    refused(|d| flip(&d.join("db/t.ibd"), PS + 3000), &["db/t.ibd: page 1 (page LSN 1000) is damaged"]);
    refused(|d| flip(&d.join("ib_logfile0"), 12288 + 20), &["ib_logfile0: the redo log copy is damaged", "LSN"]);
    refused(
        |d| {
            std::fs::rename(d.join("ib_logfile0"), d.join("xtrabackup_logfile")).unwrap();
        },
        // Now read as a 5.7 backup: its redo copy is refused for its format, by name.
        &["xtrabackup_logfile: the redo log copy is damaged", "not MySQL 5.7's format 1"],
    );
    refused(
        |d| {
            let mut t = std::fs::read(d.join("db/t.ibd")).unwrap();
            let at = page::crypt_data_offset(page::PageLayout::full_crc32(PS));
            t[at..at + 6].copy_from_slice(&page::CRYPT_MAGIC);
            t[at + 6] = page::CRYPT_SCHEME_ENCRYPTED;
            page::stamp_full_crc32(&mut t[..PS]);
            std::fs::write(d.join("db/t.ibd"), t).unwrap();
        },
        &["db/t.ibd: the tablespace is encrypted"],
    );
    refused(
        |d| {
            let mut t = page_compressed_zlib(std::fs::read(d.join("db/t.ibd")).unwrap());
            // One bit of the zlib stream: the CRC-32C is right, the stream is not.
            t[PS + 40] ^= 0x10;
            let size = (usize::from(u16::from_be_bytes([t[PS + 24], t[PS + 25]])) & 0x7fff) << 8;
            let crc = checksum::crc32c(&t[PS..PS + size - 4]);
            t[PS + size - 4..PS + size].copy_from_slice(&crc.to_be_bytes());
            std::fs::write(d.join("db/t.ibd"), t).unwrap();
        },
        &["db/t.ibd: page 1 (page LSN 1000) is damaged", "PAGE_COMPRESSED contents cannot be inflated"],
    );
}

/// `t` as a full_crc32 PAGE_COMPRESSED (zlib) tablespace whose page 1 is stored
/// compressed as the server stores it: bytes 0..24 kept, the type = bit 15 | the
/// stored length in 256-byte units, the zlib stream of the whole page from 26,
/// zeros, the CRC-32C of everything before it in the last 4 bytes of that length.
fn page_compressed_zlib(mut t: Vec<u8>) -> Vec<u8> {
    let flags = FLAGS | (1 << 5);
    t[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&flags.to_be_bytes());
    page::stamp_full_crc32(&mut t[..PS]);
    let plain = t[PS..2 * PS].to_vec();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut z, &plain).unwrap();
    let z = z.finish().unwrap();
    let size = (26 + z.len() + 4 + 255) & !255;
    let stored = &mut t[PS..2 * PS];
    stored.fill(0);
    stored[..24].copy_from_slice(&plain[..24]);
    stored[24..26].copy_from_slice(&(0x8000 | (size >> 8) as u16).to_be_bytes());
    stored[26..26 + z.len()].copy_from_slice(&z);
    let crc = checksum::crc32c(&stored[..size - 4]);
    stored[size - 4..size].copy_from_slice(&crc.to_be_bytes());
    t
}

/// The redo changed page 1: it goes back compressed, as the server's flush
/// stores it (the frame, then zeros that copy-back leaves as a hole), its inner
/// CRC-32C field as it was read (the server never rewrites it in a page it
/// compresses; only the frame gets a checksum).
#[test]
fn a_page_compressed_page_is_inflated_applied_and_compressed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let last = backup(&dir);
    let plain = std::fs::read(dir.join("db/t.ibd")).unwrap();
    let stored = page_compressed_zlib(plain.clone());
    assert_eq!(stored[PS + 24] & 0x80, 0x80, "page 1 is stored compressed");
    std::fs::write(dir.join("db/t.ibd"), &stored).unwrap();
    let report = prepare::prepare(&RealLocalFs, &dir).unwrap();
    assert_eq!(report.pages_compressed, 1, "{report:?}");
    let t = std::fs::read(dir.join("db/t.ibd")).unwrap();
    let p1 = &t[PS..2 * PS];
    assert!(page_compressed::is_compressed_page(p1, true), "page 1 written back compressed");
    let frame = usize::from(u16::from_be_bytes([p1[24], p1[25]]) & 0x7fff) << 8;
    assert!(p1[frame..].iter().all(|&b| b == 0), "only zeros after the {frame}-byte frame");
    assert!(page::validate_page(p1, 5, 1, page::PageLayout::full_crc32(PS)).is_ok());
    let mut inflated = vec![0u8; PS];
    let flags = FLAGS | (1 << 5);
    assert_eq!(page_compressed::inflate_full_crc32(p1, flags, &mut inflated), Ok(page_compressed::Algorithm::Zlib));
    assert_eq!(page::fil_header(&inflated).unwrap().page_type, page::PAGE_TYPE_INDEX);
    assert_eq!(&inflated[100..105], b"hello");
    let lsn = page::fil_header(&inflated).unwrap().lsn;
    assert!(lsn > C + 16 && lsn < last, "the end LSN of the mtr that wrote it: {lsn}");
    // Everything else is the page as it was before it was compressed, its CRC field too.
    let mut expect = plain[PS..2 * PS].to_vec();
    expect[100..105].copy_from_slice(b"hello");
    expect[16..24].copy_from_slice(&inflated[16..24]);
    page::stamp_full_crc32(&mut expect);
    assert!(inflated[..PS - 4] == expect[..PS - 4]);
    assert_eq!(inflated[PS - 4..], plain[2 * PS - 4..2 * PS], "the inner CRC field as it was read");
    assert!(page::fil_header(&t[3 * PS..]).unwrap().lsn == last);
}

#[test]
fn a_row_format_compressed_page_takes_the_redo_in_its_compressed_frame() {
    const ZS: usize = 8192;
    // Legacy flags: post-antelope, KEY_BLOCK_SIZE=8 (zip ssize 4), atomic blobs, 16 KiB pages.
    let flags: u32 = 1 | (4 << 1) | (1 << 5);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let last = backup(&dir);
    let mut t = Vec::new();
    for no in 0..2u32 {
        let kind = if no == 0 { page::PAGE_TYPE_FSP_HDR } else { page::PAGE_TYPE_INDEX };
        let mut p = page::new_page(ZS, 5, no, kind, 1000);
        if no == 0 {
            p[page::FSP_SPACE_ID..page::FSP_SPACE_ID + 4].copy_from_slice(&5u32.to_be_bytes());
            p[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&flags.to_be_bytes());
        }
        p[ZS - 8..].fill(0xA5); // compressed data runs to the end: no trailer to touch
        page::stamp_zip_crc32(&mut p);
        t.extend(p);
    }
    std::fs::write(dir.join("db/t.ibd"), &t).unwrap();
    let before = t.clone();
    prepare::prepare(&RealLocalFs, &dir).unwrap();
    let t = std::fs::read(dir.join("db/t.ibd")).unwrap();
    assert_eq!(t.len(), 4 * ZS, "pages stay 8 KiB; the file grew to hold page 3");
    let layout = page::PageLayout::row_compressed(ZS, PS);
    let p1 = &t[ZS..2 * ZS];
    assert_eq!(&p1[100..105], b"hello");
    assert_eq!(&p1[ZS - 8..], &before[2 * ZS - 8..2 * ZS], "no trailer LSN or checksum on a compressed page");
    assert_eq!(page::validate_page(p1, 5, 1, layout), Ok(page::Accepted::Compressed));
    let p3 = &t[3 * ZS..];
    assert_eq!(&p3[224..229], b"grown");
    assert_eq!(page::fil_header(p3).unwrap().lsn, last);
    assert_eq!(page::validate_page(p3, 5, 3, layout), Ok(page::Accepted::Compressed));
}

fn opts(datadir: &Path, mode: Mode) -> RestoreOptions {
    RestoreOptions {
        data_files: Vec::new(),
        datadir: datadir.to_path_buf(),
        data_home_dir: None,
        undo_dir: None,
        log_dir: None,
        aria_log_dir: None,
        remote_inside_datadir: false,
        ownership: Ownership::Keep,
        mode,
    }
}

/// copy-back with the server's `innodb_data_file_path` (mariabackup's
/// absolute_ibdata_paths test): each system tablespace file goes where the
/// server looks for it, an absolute path as it is, a relative one under
/// `innodb_data_home_dir` (else the datadir); without it `ibdata*` go there.
#[test]
fn copy_back_puts_the_system_tablespace_files_where_innodb_data_file_path_says() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    std::fs::create_dir_all(dir.join("db")).unwrap();
    for name in ["abs_ibdata1", "ibdata_second", "undo001", "db/t.ibd"] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    let (data, elsewhere) = (tmp.path().join("data"), tmp.path().join("elsewhere/abs_ibdata1"));
    let mut o = opts(&data, Mode::Copy);
    o.data_files = vec![elsewhere.clone(), PathBuf::from("ibdata_second")];
    let to: Vec<PathBuf> = copyback::plan(&RealLocalFs, &dir, &o).unwrap().into_iter().map(|i| i.to).collect();
    for want in [elsewhere.clone(), data.join("ibdata_second"), data.join("undo001"), data.join("db/t.ibd")] {
        assert!(to.contains(&want), "{want:?} not in {to:?}");
    }
    o.data_home_dir = Some(tmp.path().join("home"));
    let to: Vec<PathBuf> = copyback::plan(&RealLocalFs, &dir, &o).unwrap().into_iter().map(|i| i.to).collect();
    assert!(to.contains(&tmp.path().join("home/ibdata_second")) && to.contains(&elsewhere), "{to:?}");
    o.data_files.clear();
    let to: Vec<PathBuf> = copyback::plan(&RealLocalFs, &dir, &o).unwrap().into_iter().map(|i| i.to).collect();
    assert!(to.contains(&data.join("abs_ibdata1")), "without the setting, as before: {to:?}");
}

#[test]
fn copy_back_places_every_file_and_refuses_what_it_must() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    backup(&dir);
    let data = tmp.path().join("data");
    let err = copyback::restore(&RealLocalFs, &dir, &opts(&data, Mode::Copy)).unwrap_err().to_string();
    assert!(err.contains("is not prepared (backup_type = full-backuped)"), "{err}");
    assert!(!data.exists());
    // A DATA DIRECTORY table, stored beside its link as the backup stores it.
    let remote = tmp.path().join("remote/db/r.ibd");
    std::fs::write(dir.join("db/r.isl"), format!("{}\n", remote.display())).unwrap();
    std::fs::write(dir.join("db/r.ibd"), tablespace(7, 1)).unwrap();
    prepare::prepare(&RealLocalFs, &dir).unwrap();
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("stray"), b"x").unwrap();
    let err = copyback::restore(&RealLocalFs, &dir, &opts(&data, Mode::Copy)).unwrap_err().to_string();
    assert!(err.contains("not empty") && err.contains("nothing was written"), "{err}");
    std::fs::remove_file(data.join("stray")).unwrap();
    let before = snapshot(&dir);
    let r = copyback::restore(&RealLocalFs, &dir, &opts(&data, Mode::Copy)).unwrap();
    assert_eq!(snapshot(&dir), before, "copy-back leaves the backup as it was");
    let got = snapshot(&data);
    let names: Vec<String> = got.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(names, ["db/r.isl", "db/t.frm", "db/t.ibd", "ib_logfile0", "ibdata1"]);
    assert_eq!(std::fs::read(&remote).unwrap(), before[Path::new("db/r.ibd")]);
    assert_eq!(r.remote, vec![remote.clone()]);
    assert_eq!(r.files, 6);
    // Again: every destination exists now.
    std::fs::remove_dir_all(&data).unwrap();
    let err = copyback::restore(&RealLocalFs, &dir, &opts(&data, Mode::Copy)).unwrap_err().to_string();
    assert!(err.contains(&remote.display().to_string()) && err.contains("already there"), "{err}");
    assert!(!data.exists(), "nothing written when one destination is taken");
    // Inside the datadir instead: the link is rewritten to point there.
    let mut inside = opts(&data, Mode::Copy);
    inside.remote_inside_datadir = true;
    copyback::restore(&RealLocalFs, &dir, &inside).unwrap();
    let isl = std::fs::read_to_string(data.join("db/r.isl")).unwrap();
    assert_eq!(isl.trim(), data.join("db/r.ibd").display().to_string());
    assert!(data.join("db/r.ibd").exists());
}

#[test]
fn move_back_renames_and_leaves_the_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    backup(&dir);
    prepare::prepare(&RealLocalFs, &dir).unwrap();
    let before = snapshot(&dir);
    let data = tmp.path().join("data");
    let mut o = opts(&data, Mode::Move);
    o.undo_dir = Some(tmp.path().join("undo"));
    o.data_home_dir = Some(tmp.path().join("home"));
    let r = copyback::restore(&RealLocalFs, &dir, &o).unwrap();
    assert_eq!((r.files, r.renamed, r.bytes), (4, 4, 0));
    assert_eq!(std::fs::read(tmp.path().join("home/ibdata1")).unwrap(), before[Path::new("ibdata1")]);
    assert_eq!(std::fs::read(data.join("db/t.ibd")).unwrap(), before[Path::new("db/t.ibd")]);
    let left: Vec<String> = snapshot(&dir).keys().map(|p| p.display().to_string()).collect();
    assert_eq!(left, [meta::BACKUP_MY_CNF, meta::CHECKPOINTS_FILE, meta::INFO_FILE]);
}

// ---- prepare --incremental-dir ------------------------------------------------

use innohot::format::delta::{self, DeltaMeta, DeltaPage};
use innohot::restore::incremental::prepare_incremental;

/// Writes `NAME.delta` (these pages of `file`, a tablespace's bytes) and `NAME.meta` into `inc`.
fn write_delta(inc: &Path, name: &str, space: u32, file: &[u8], pages: &[u32]) {
    let pages: Vec<DeltaPage> = pages
        .iter()
        .map(|&no| DeltaPage { page_no: no, page: &file[no as usize * PS..(no as usize + 1) * PS] })
        .collect();
    std::fs::write(inc.join(format!("{name}.delta")), delta::encode(PS, &pages).unwrap()).unwrap();
    let meta = DeltaMeta { page_size: PS, zip_size: 0, space_id: space };
    std::fs::write(inc.join(format!("{name}.meta")), delta::encode_meta(&meta)).unwrap();
}

/// A page of `space` whose bytes at 300 say `tag`, checksummed.
fn tagged(file: &mut [u8], no: u32, tag: &[u8]) {
    let p = &mut file[no as usize * PS..(no as usize + 1) * PS];
    p[300..300 + tag.len()].copy_from_slice(tag);
    page::stamp_full_crc32(p);
}

/// The incremental's redo: FILE_CHECKPOINT(at), then a WRITE of "world" to page 1 of space 9.
fn incremental_log(at: u64) -> (Vec<u8>, u64) {
    let mut out = mariadb::backup_log_header(Checkpoint { lsn: at, end_lsn: at }, "Backup 10.11.19");
    let ring = Ring::new(at, 1 << 30).unwrap();
    let (op, payload) = encode_page_edit(&PageEdit::Write { offset: 400, data: b"world" });
    let mut lsn = at;
    for recs in [
        vec![Record::FileCheckpoint { lsn: at }],
        vec![Record::Page { op, page: Some(PageId { space: 9, page: 1 }), payload: &payload }],
    ] {
        let bytes = mariadb::encode_mtr(&recs, lsn, &ring).unwrap();
        lsn += bytes.len() as u64;
        out.extend(bytes);
    }
    (out, lsn)
}

/// A prepared base in `base` (tables t, r (renamed to r2 since), gone (dropped),
/// z (recreated with a new id) and a database `olddb` dropped since) and an
/// incremental of it in `inc` (new table n). Returns (base to_lsn, inc to_lsn, inc last_lsn).
fn chain(base: &Path, inc: &Path) -> (u64, u64, u64) {
    let base_last = backup(base);
    for (name, space) in [("r", 7), ("gone", 8), ("z", 6)] {
        std::fs::write(base.join(format!("db/{name}.ibd")), tablespace(space, 2)).unwrap();
        std::fs::write(base.join(format!("db/{name}.frm")), b"frm").unwrap();
    }
    std::fs::create_dir_all(base.join("olddb")).unwrap();
    std::fs::write(base.join("olddb/x.frm"), b"frm").unwrap();
    prepare::prepare(&RealLocalFs, base).unwrap();
    let (to, (log, last)) = (base_last, incremental_log(base_last));
    std::fs::create_dir_all(inc.join("db")).unwrap();
    let mut sys = tablespace(0, 4);
    tagged(&mut sys, 2, b"system");
    write_delta(inc, "ibdata1", 0, &sys, &[2]);
    let mut t = tablespace(5, 2);
    tagged(&mut t, 1, b"table t");
    write_delta(inc, "db/t.ibd", 5, &t, &[1]);
    write_delta(inc, "db/r2.ibd", 7, &tablespace(7, 2), &[]);
    write_delta(inc, "db/z.ibd", 10, &tablespace(10, 3), &[0, 1, 2]);
    write_delta(inc, "db/n.ibd", 9, &tablespace(9, 2), &[0, 1]);
    for f in ["db/t.frm", "db/r2.frm", "db/z.frm", "db/n.frm"] {
        std::fs::write(inc.join(f), b"frm of the incremental").unwrap();
    }
    std::fs::write(inc.join("ib_logfile0"), log).unwrap();
    std::fs::write(inc.join(meta::CHECKPOINTS_FILE), meta::checkpoints_from(Some(C), to, last)).unwrap();
    std::fs::write(inc.join(meta::BACKUP_MY_CNF), "[mysqld]\ninnodb_page_size=16384\n").unwrap();
    std::fs::write(inc.join(meta::INFO_FILE), "uuid = incremental\n").unwrap();
    (C, to, last)
}

#[test]
fn an_incremental_goes_onto_its_prepared_base_by_space_id_and_leaves_itself_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, inc) = (tmp.path().join("base"), tmp.path().join("inc"));
    let (_, to, last) = chain(&base, &inc);
    let inc_before = snapshot(&inc);
    let r = prepare_incremental(&RealLocalFs, &base, &inc).unwrap();
    assert_eq!((r.deltas, r.delta_pages, r.to_lsn, r.redo.end_lsn), (5, 7, to, last), "{r:?}");
    let read = |f: &str| std::fs::read(base.join(f)).unwrap();
    assert_eq!(&read("ibdata1")[2 * PS + 300..2 * PS + 306], b"system");
    assert_eq!(&read("db/t.ibd")[PS + 300..PS + 307], b"table t");
    assert_eq!(read("db/r2.ibd"), tablespace(7, 2), "the renamed table is the base's, moved");
    assert_eq!(read("db/z.ibd"), tablespace(10, 3), "the recreated table is the incremental's");
    let n = read("db/n.ibd");
    assert_eq!((n.len(), &n[PS + 400..PS + 405]), (2 * PS, &b"world"[..]), "created, then its redo applied");
    for gone in ["db/r.ibd", "db/gone.ibd", "db/r.frm", "db/gone.frm", "olddb"] {
        assert!(!base.join(gone).exists(), "{gone} is gone");
    }
    assert_eq!(read("db/n.frm"), b"frm of the incremental");
    assert_eq!(read(meta::INFO_FILE), b"uuid = incremental\n");
    assert_eq!(read("ib_logfile0"), prepare::prepared_log(last, "Backup 10.11.19").unwrap());
    let cp = String::from_utf8(read(meta::CHECKPOINTS_FILE)).unwrap();
    assert!(
        cp.starts_with(&format!("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = {to}\nlast_lsn = {last}\n")),
        "{cp}"
    );
    assert_eq!(snapshot(&inc), inc_before, "the incremental is only read");
    // Once applied, the same incremental is refused and changes nothing.
    let before = snapshot(&base);
    let e = prepare_incremental(&RealLocalFs, &base, &inc).unwrap_err().to_string();
    assert!(e.contains("seems not to be proper for the target") && e.contains("already applied"), "{e}");
    assert_eq!(snapshot(&base), before);
}

#[test]
fn an_incremental_is_refused_before_anything_changes_when_it_does_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, inc) = (tmp.path().join("base"), tmp.path().join("inc"));
    chain(&base, &inc);
    let refused = |base: &Path, needle: &str| {
        let before = (snapshot(base), snapshot(&inc));
        let e = prepare_incremental(&RealLocalFs, base, &inc).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
        assert_eq!((snapshot(base), snapshot(&inc)), before, "{needle}");
    };
    // Not prepared yet.
    let raw = tmp.path().join("raw");
    backup(&raw);
    refused(&raw, "needs a prepared target");
    // A damaged delta page.
    let t = inc.join("db/t.ibd.delta");
    let good = std::fs::read(&t).unwrap();
    let mut bad = good.clone();
    bad[PS + 1000] ^= 1;
    std::fs::write(&t, bad).unwrap();
    refused(&base, "page 1 of space 5 is damaged");
    std::fs::write(&t, good).unwrap();
    // The system tablespace is not the base's.
    std::fs::rename(base.join("ibdata1"), tmp.path().join("ibdata1")).unwrap();
    refused(&base, "the target has no ibdata1");
    std::fs::rename(tmp.path().join("ibdata1"), base.join("ibdata1")).unwrap();
    // A link of another chain.
    let text = std::fs::read_to_string(inc.join(meta::CHECKPOINTS_FILE)).unwrap();
    std::fs::write(inc.join(meta::CHECKPOINTS_FILE), text.replace(&format!("from_lsn = {C}"), "from_lsn = 19000"))
        .unwrap();
    refused(&base, "an incremental between them is missing");
}
