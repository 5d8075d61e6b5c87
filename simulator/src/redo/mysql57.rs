//! MySQL 5.7's redo log: format-1 blocks of 512 bytes (header, data, CRC-32C
//! trailer) in a group of `ib_logfile*` files, checkpoints in the first file's
//! header, MLOG_CHECKPOINT groups.

use super::{Encoded, FileOp, Mtr, PageChange, PageOp, SimRedoWriter};
use crate::config::SimConfig;
use crate::rng::Rng;
use crate::truth::Truth;
use innohot::format::mysql57::mlog::{self, Record};
use innohot::format::mysql57::{self, BlockChecksum, BlockHeader, Checkpoint, LogFileHeader, RingGeometry};
use innohot::format::Lsn;
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const BLOCK: usize = mysql57::LOG_BLOCK_SIZE;
const HDR: usize = mysql57::LOG_BLOCK_HDR_SIZE;
const DATA_END: usize = mysql57::LOG_BLOCK_DATA_END;
/// "MySQL " and the InnoDB version, as the server's `version` variable has it.
pub const CREATOR: &str = "MySQL 5.7.17";

/// The in-memory log buffer and the ring on disk.
pub struct Mysql57Log {
    geometry: RingGeometry,
    anchor_lsn: Lsn,
    anchor_offset: u64,
    files: Vec<File>,
    previous_lap: bool,
    /// Current end of the log in memory (always inside a block's data area).
    lsn: Lsn,
    /// End of the log on disk.
    flushed_lsn: Lsn,
    /// Blocks from the one holding `flushed_lsn` up to the one holding `lsn`.
    blocks: VecDeque<(Lsn, [u8; BLOCK])>,
    next_checkpoint_no: u64,
    checkpoint_lsn: Lsn,
}

fn write_all_at(file: &File, data: &[u8], offset: u64) {
    file.write_all_at(data, offset).expect("simulator write to its own temp dir");
}

fn set_data_len(block: &mut [u8], len: u16) {
    block[4..6].copy_from_slice(&len.to_be_bytes());
}

impl Mysql57Log {
    /// Creates the log files; the ring's anchor (where the start LSN's block lies) is drawn here.
    pub fn create(cfg: &SimConfig, datadir: &Path, rng: &mut Rng) -> std::io::Result<Self> {
        let geometry = RingGeometry::new(cfg.log_files, cfg.log_file_size).expect("valid simulated ring");
        let mut files = Vec::new();
        for i in 0..cfg.log_files {
            let p = datadir.join(format!("ib_logfile{i}"));
            let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p)?;
            f.set_len(cfg.log_file_size)?;
            files.push(f);
        }
        let start_lsn = cfg.start_lsn;
        let block_lsn = start_lsn - start_lsn % BLOCK as u64;
        let anchor_offset = geometry.real_offset(rng.below(geometry.ring_blocks()) * BLOCK as u64);
        Ok(Mysql57Log {
            geometry,
            anchor_lsn: block_lsn,
            anchor_offset,
            files,
            previous_lap: cfg.previous_lap,
            lsn: start_lsn,
            flushed_lsn: start_lsn,
            blocks: VecDeque::new(),
            next_checkpoint_no: 0,
            checkpoint_lsn: start_lsn,
        })
    }

    pub fn geometry(&self) -> RingGeometry {
        self.geometry
    }

    fn ring_offset(&self, lsn: Lsn) -> (usize, u64) {
        let real = self.geometry.lsn_offset(lsn, self.anchor_lsn, self.anchor_offset);
        ((real / self.geometry.file_size) as usize, real % self.geometry.file_size)
    }

    /// The LSN of file `file`'s first data byte in the latest lap that reached it by
    /// `block_lsn` (0 if no lap did).
    fn lap_start(&self, file: u32, block_lsn: Lsn) -> Lsn {
        let g = self.geometry;
        let at = g.size_offset(g.lsn_offset(block_lsn, self.anchor_lsn, self.anchor_offset));
        let file_start = u64::from(file) * (g.file_size - mysql57::LOG_FILE_HDR_SIZE);
        block_lsn.saturating_sub((at + g.capacity() - file_start) % g.capacity())
    }

    /// log_group_file_header_flush(): format, start LSN, creator, CRC-32C.
    fn write_file_header(&self, file: usize, start_lsn: Lsn) {
        let hdr = LogFileHeader { format: mysql57::LOG_HEADER_FORMAT_57, start_lsn, creator: CREATOR.into() };
        write_all_at(&self.files[file], &hdr.encode(), 0);
    }

    fn write_block_raw(&mut self, block_lsn: Lsn, b: &[u8; BLOCK]) {
        let (file, off) = self.ring_offset(block_lsn);
        write_all_at(&self.files[file], b, off);
    }

    fn append_bytes(&mut self, bytes: &[u8], truth: &mut Truth) -> (Lsn, Lsn) {
        let start = self.lsn;
        let mut rest = bytes;
        while !rest.is_empty() {
            let lsn = self.lsn;
            let off = (lsn % BLOCK as u64) as usize;
            let n = rest.len().min(DATA_END - off);
            let (_, blk) = self.blocks.back_mut().expect("a current block");
            blk[off..off + n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            self.lsn += n as u64;
            if off + n == DATA_END {
                // log_write_low(): a block that fills up takes the checkpoint number then.
                set_data_len(blk, BLOCK as u16);
                blk[8..12].copy_from_slice(&(self.next_checkpoint_no as u32).to_be_bytes());
                self.lsn += (mysql57::LOG_BLOCK_TRL_SIZE + HDR) as u64;
                let new_lsn = self.lsn - HDR as u64;
                let mut nb = [0u8; BLOCK];
                BlockHeader {
                    block_no: mysql57::block_no_for_lsn(new_lsn),
                    flush_bit: false,
                    data_len: HDR as u16,
                    first_rec_group: 0,
                    checkpoint_no: 0,
                }
                .write_into(&mut nb);
                self.blocks.push_back((new_lsn, nb));
            } else {
                set_data_len(blk, (off + n) as u16);
            }
        }
        // log_close(): the next record group starts at the new end.
        let end = self.lsn;
        let (_, blk) = self.blocks.back_mut().expect("a current block");
        if u16::from_be_bytes([blk[6], blk[7]]) == 0 {
            blk[6..8].copy_from_slice(&((end % BLOCK as u64) as u16).to_be_bytes());
        }
        truth.redo_appended(start, end);
        (start, end)
    }

    fn write_checkpoint(&mut self, lsn: Lsn, truth: &mut Truth) {
        let cp = Checkpoint {
            no: self.next_checkpoint_no,
            lsn,
            offset: self.geometry.lsn_offset(lsn, self.anchor_lsn, self.anchor_offset),
            log_buf_size: 16 << 20,
        };
        write_all_at(&self.files[0], &cp.encode(), cp.slot_offset() as u64);
        truth.checkpoints.push(cp);
        self.next_checkpoint_no += 1;
        self.checkpoint_lsn = lsn;
    }
}

/// The 5.7 records of one mtr: file operations, page records, then the
/// MLOG_FILE_NAME of a tablespace the mtr is the first to change since the
/// checkpoint (mtr_t::Command::prepare_write appends it at commit).
fn records(mtr: &Mtr) -> Vec<Record> {
    let mut out = Vec::with_capacity(mtr.files.len() + mtr.pages.len());
    let mut names = Vec::new();
    for f in &mtr.files {
        out.push(match f.clone() {
            FileOp::Modify { space, name } => {
                names.push(Record::FileName { space, page: 0, name });
                continue;
            }
            FileOp::Create { space, flags, name } => Record::FileCreate { space, page: 0, flags, name },
            FileOp::Delete { space, name } => Record::FileDelete { space, page: 0, name },
            FileOp::Rename { space, from, to } => Record::FileRename { space, page: 0, from, to },
            // row_merge_write_redo(): the new index's root page and its id (the
            // simulator's stand-ins: the first page after the file's headers, the space id).
            FileOp::IndexLoad { space } => Record::IndexLoad { space, page: 3, index_id: u64::from(space) },
        });
    }
    for PageChange { space, page, op } in &mtr.pages {
        let (space, page) = (*space, *page);
        out.push(match op {
            PageOp::Write { offset, data, string: true } => {
                Record::WriteString { space, page, offset: *offset, data: data.clone() }
            }
            PageOp::Write { offset, data, .. } if data.len() == 8 => Record::Write8 {
                space,
                page,
                offset: *offset,
                value: u64::from_be_bytes(data[..].try_into().expect("8 bytes")),
            },
            PageOp::Write { offset, data, .. } if matches!(data.len(), 1 | 2 | 4) => {
                let value = data.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
                Record::WriteN { space, page, offset: *offset, width: data.len() as u8, value }
            }
            PageOp::Write { offset, data, .. } => {
                Record::WriteString { space, page, offset: *offset, data: data.clone() }
            }
            other => panic!("MySQL 5.7 has no redo record for {other:?}"),
        });
    }
    out.extend(names);
    out
}

impl SimRedoWriter for Mysql57Log {
    /// File headers, a previous lap of old blocks, the first block and checkpoint.
    fn start(&mut self, rng: &mut Rng, truth: &mut Truth) {
        self.next_checkpoint_no = 1 + rng.range(0, 1000);
        let g = self.geometry;
        let start = self.lsn;
        let block_lsn = start - start % BLOCK as u64;
        // The server writes a file's header when its writer enters the file, so a file
        // the log has not reached yet has none; file 0 got its own when the log was created.
        let created = if self.previous_lap { mysql57::LOG_START_LSN } else { self.lap_start(0, block_lsn) };
        for i in 0..g.files {
            let lap = self.lap_start(i, block_lsn);
            if i == 0 || lap >= created {
                self.write_file_header(i as usize, lap.max(mysql57::LOG_START_LSN));
            }
        }
        if self.previous_lap {
            // The ring as a server that has run a while leaves it: every other
            // position holds the block one lap older.
            let cap = g.capacity();
            let mut lsn = block_lsn + BLOCK as u64;
            while lsn < block_lsn + cap {
                if let Some(old) = lsn.checked_sub(cap).filter(|&o| o >= mysql57::LOG_START_LSN) {
                    let mut b = [0u8; BLOCK];
                    rng.fill(&mut b[HDR..DATA_END]);
                    BlockHeader {
                        block_no: mysql57::block_no_for_lsn(old),
                        flush_bit: false,
                        data_len: BLOCK as u16,
                        first_rec_group: 0,
                        checkpoint_no: (self.next_checkpoint_no.saturating_sub(2)) as u32,
                    }
                    .write_into(&mut b);
                    mysql57::stamp_block(&mut b, BlockChecksum::Crc32c);
                    self.write_block_raw(old, &b);
                }
                lsn += BLOCK as u64;
            }
        }
        let data_len = (start % BLOCK as u64) as u16;
        let mut first = [0u8; BLOCK];
        BlockHeader {
            block_no: mysql57::block_no_for_lsn(block_lsn),
            flush_bit: false,
            data_len,
            first_rec_group: data_len,
            checkpoint_no: self.next_checkpoint_no as u32,
        }
        .write_into(&mut first);
        self.blocks.push_back((block_lsn, first));
        self.flush(truth);
        self.write_checkpoint(start, truth);
    }

    fn encode(&self, mtr: &Mtr) -> Encoded {
        let bytes = mlog::encode_mtr(&records(mtr));
        Encoded { len: bytes.len() as u64, bytes }
    }

    fn append_encoded(&mut self, mtr: Encoded, truth: &mut Truth) -> (Lsn, Lsn) {
        self.append_bytes(&mtr.bytes, truth)
    }

    /// log_write_up_to(lsn): every block from the flushed end on, the partial one
    /// included. The write's first block gets the flush bit, its last one the
    /// checkpoint number (full blocks took theirs when they filled up), and a file
    /// the write crosses into its header (log_group_write_buf).
    fn flush(&mut self, truth: &mut Truth) {
        let cp_no = self.next_checkpoint_no as u32;
        let blocks: Vec<(Lsn, [u8; BLOCK])> = self.blocks.iter().cloned().collect();
        let last = blocks.len() - 1;
        for (i, (block_lsn, mut b)) in blocks.into_iter().enumerate() {
            if i == 0 {
                b[0] |= (mysql57::FLUSH_BIT >> 24) as u8;
            }
            if i == last {
                b[8..12].copy_from_slice(&cp_no.to_be_bytes());
            }
            mysql57::stamp_block(&mut b, BlockChecksum::Crc32c);
            let (file, offset) = self.ring_offset(block_lsn);
            if i > 0 && offset == mysql57::LOG_FILE_HDR_SIZE {
                self.write_file_header(file, block_lsn);
            }
            self.write_block_raw(block_lsn, &b);
            truth.block_written(block_lsn, &b);
        }
        self.flushed_lsn = self.lsn;
        while self.blocks.len() > 1 {
            self.blocks.pop_front();
        }
    }

    /// log_checkpoint(): MLOG_FILE_NAME for the touched tablespaces and
    /// MLOG_CHECKPOINT, durable, then the checkpoint block.
    fn checkpoint(&mut self, lsn: Lsn, names: &[(u32, String)], truth: &mut Truth) {
        let group = mlog::encode_checkpoint_group(names, lsn);
        self.append_bytes(&group, truth);
        self.flush(truth);
        self.write_checkpoint(lsn, truth);
    }

    fn lsn(&self) -> Lsn {
        self.lsn
    }
    fn flushed_lsn(&self) -> Lsn {
        self.flushed_lsn
    }
    fn checkpoint_lsn(&self) -> Lsn {
        self.checkpoint_lsn
    }
    fn capacity(&self) -> u64 {
        self.geometry.capacity()
    }
    fn written_lsn(&self) -> Lsn {
        self.flushed_lsn
    }
    fn variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("innodb_log_files_in_group", self.geometry.files.to_string()),
            ("innodb_log_file_size", self.geometry.file_size.to_string()),
            ("innodb_log_checksum_algorithm", "crc32".into()),
        ]
    }
}
