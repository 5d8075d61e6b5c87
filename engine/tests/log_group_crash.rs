//! `mysql57-log-group` on the in-memory file system: killed at any change and
//! crashed (what was not durable lost, kept or torn), a re-run gives the
//! uninterrupted run's files; a run over a complete group changes nothing; a
//! group written with other options is refused, not replaced. A data file
//! the redo grew after its copy is extended to the size the redo gives it.

use innohot::format::mysql57::mlog::{self, Record};
use innohot::format::mysql57::{self, BlockChecksum, BlockHeader, Checkpoint, LogFileHeader, LOG_BLOCK_SIZE};
use innohot::format::page;
use innohot::io::memfs::{FaultPlan, MemFs, Tree};
use innohot::restore::mysql57_group::write_log_group;
use innohot::restore::RestoreError;
use std::path::Path;

const BACKUP: &str = "/backup";
const FILE_SIZE: u64 = 64 * 1024;

const PS: usize = 16384;
const TABLE: &str = "/backup/d/t.ibd";
/// Pages of the table when it was copied, and the size the redo then gives it.
const COPIED_PAGES: u32 = 4;
const GROWN_PAGES: u32 = 6;

/// Tablespace 5 as copied: COPIED_PAGES pages of 16 KiB, checksums as 5.7 writes them.
fn table() -> Vec<u8> {
    let mut page0 = page::new_page(PS, 5, 0, page::PAGE_TYPE_FSP_HDR, 1000);
    page0[page::FSP_SPACE_ID..page::FSP_SPACE_ID + 4].copy_from_slice(&5u32.to_be_bytes());
    page0[page::FSP_SIZE..page::FSP_SIZE + 4].copy_from_slice(&COPIED_PAGES.to_be_bytes());
    let layout = page::layout_from_page0(&page0).unwrap();
    let mut out = Vec::new();
    for no in 0..COPIED_PAGES {
        let mut p = if no == 0 { page0.clone() } else { page::new_page(PS, 5, no, page::PAGE_TYPE_INDEX, 1000) };
        page::stamp_for_mysql57(&mut p, layout, "crc32").unwrap();
        out.extend(p);
    }
    out
}

/// A MySQL 5.7 backup's redo copy: header, checkpoint at `start`, four blocks:
/// an mtr growing tablespace 5 to GROWN_PAGES, then padding (MLOG_DUMMY_RECORD).
fn backup() -> MemFs {
    let start = 8192 + 12;
    let mut log = vec![0u8; 2048];
    log[..512]
        .copy_from_slice(&LogFileHeader { format: 1, start_lsn: start, creator: "xtrabkup test".into() }.encode());
    log[512..1024].copy_from_slice(&Checkpoint { no: 1, lsn: start, offset: 2048, log_buf_size: 0 }.encode());
    let mut lsn = start - start % 512;
    let grow = mlog::encode_mtr(&[Record::WriteN {
        space: 5,
        page: 0,
        offset: page::FSP_SIZE as u16,
        width: 4,
        value: GROWN_PAGES,
    }]);
    for i in 0..4u8 {
        let mut b = [0u8; LOG_BLOCK_SIZE];
        b[12..508].fill(32); // MLOG_DUMMY_RECORD up to the trailer
        if i == 0 {
            b[12..12 + grow.len()].copy_from_slice(&grow);
        }
        let hdr = BlockHeader {
            block_no: mysql57::block_no_for_lsn(lsn),
            flush_bit: i == 0,
            data_len: if i == 3 { 300 } else { 512 },
            first_rec_group: 12,
            checkpoint_no: 1,
        };
        hdr.write_into(&mut b);
        mysql57::stamp_block(&mut b, BlockChecksum::Crc32c);
        log.extend_from_slice(&b);
        lsn += 512;
    }
    let last_lsn = lsn - 512 + 300;
    let fs = MemFs::new();
    fs.put_file(&Path::new(BACKUP).join("xtrabackup_logfile"), &log);
    let cp = format!("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = {last_lsn}\nlast_lsn = {last_lsn}\n");
    fs.put_file(&Path::new(BACKUP).join("xtrabackup_checkpoints"), cp.as_bytes());
    fs.put_file(Path::new(TABLE), &table());
    fs
}

fn run(fs: &MemFs, size: u64) -> Result<(), RestoreError> {
    write_log_group(fs, Path::new(BACKUP), 2, Some(size)).map(|_| ())
}

fn uninterrupted() -> (Tree, u64) {
    let fs = backup();
    run(&fs, FILE_SIZE).unwrap();
    (fs.tree(), fs.changes())
}

#[test]
fn a_log_group_killed_at_any_change_and_run_again_is_the_uninterrupted_one() {
    let (want, changes) = uninterrupted();
    assert!(want.contains_key(&Path::new(BACKUP).join("ib_logfile1")), "the group is written");
    let grown = want[Path::new(TABLE)].as_ref().expect("a file");
    assert_eq!(grown.len(), GROWN_PAGES as usize * PS, "the table is extended to the size the redo gives");
    assert_eq!(grown[..COPIED_PAGES as usize * PS], table()[..], "its copied pages are kept");
    assert!(grown[COPIED_PAGES as usize * PS..].iter().all(|&b| b == 0), "and the new ones are zero");
    assert!(changes > 6, "{changes} changes");
    for kill in 0..=changes {
        for seed in 0..4 {
            let fs = backup();
            fs.set_faults(FaultPlan { kill_before: Some(kill), ..FaultPlan::default() });
            let first = run(&fs, FILE_SIZE);
            assert_eq!(first.is_err(), fs.was_killed(), "kill before change {kill}: {first:?}");
            let after = fs.crash(seed);
            run(&after, FILE_SIZE).unwrap_or_else(|e| panic!("re-run after a kill before change {kill}: {e}"));
            assert!(after.tree() == want, "kill before change {kill}, crash seed {seed}: not the uninterrupted group");
        }
    }
}

#[test]
fn a_complete_group_is_kept_and_one_of_other_options_refused() {
    let (want, _) = uninterrupted();
    let fs = backup();
    run(&fs, FILE_SIZE).unwrap();
    run(&fs, FILE_SIZE).unwrap();
    assert!(fs.tree() == want, "a second run over a complete group changes nothing");
    let err = run(&fs, 2 * FILE_SIZE).unwrap_err().to_string();
    assert!(err.contains("ib_logfile0") && err.contains("differs"), "{err}");
    assert!(fs.tree() == want, "a refused run leaves the group as it was");
}
