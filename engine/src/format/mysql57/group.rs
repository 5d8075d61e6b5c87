//! A MySQL 5.7 backup's redo copy (`xtrabackup_logfile`: one 2048-byte
//! header, then every block from the start checkpoint, never wrapping) laid
//! out as a log group that a MySQL 5.7 server's own crash recovery accepts,
//! so the server itself can prepare the backup.
//!
//! The server insists on `innodb_log_files_in_group` >= 2 files of exactly
//! `innodb_log_file_size` bytes, finds the checkpoint in file 0's slots and
//! maps LSNs to offsets from that checkpoint's (LSN, offset) pair. The copy
//! is placed so that its first block (the start checkpoint rounded down to
//! 512) is the first data byte of file 0: the checkpoint then sits at
//! `2048 + lsn % 512`, the copy's blocks follow in order, and whatever the
//! ring holds past the copy's end stays zero, which recovery reads as the
//! end of the log.

use super::log::{
    newest_checkpoint, Checkpoint, LogFileHeader, RingGeometry, LOG_BLOCK_SIZE, LOG_CHECKPOINT_1, LOG_CHECKPOINT_2,
    LOG_FILE_HDR_SIZE, LOG_HEADER_FORMAT_57,
};
use crate::format::{FormatError, Lsn};

/// The creator written into every file header of the group.
pub const GROUP_CREATOR: &str = "innohot log group";

/// Where the copy goes in a group of the given geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLayout {
    pub geometry: RingGeometry,
    /// LSN of the copy's first block (offset 2048 of the copy and of file 0).
    pub first_block_lsn: Lsn,
    /// Log bytes the copy holds after its header (whole blocks).
    pub copied_bytes: u64,
    /// The start checkpoint, re-anchored in the group.
    pub checkpoint: Checkpoint,
}

impl GroupLayout {
    /// Lays out a copy whose 2048-byte header is `copy_header` and which holds
    /// `copied_bytes` log bytes after it. The group must hold the whole copy
    /// and one block more, so recovery always meets an empty block at the end.
    pub fn new(copy_header: &[u8], copied_bytes: u64, geometry: RingGeometry) -> Result<Self, FormatError> {
        LogFileHeader::parse(&copy_header[..LOG_BLOCK_SIZE.min(copy_header.len())])?;
        let found = newest_checkpoint(copy_header)?;
        let block = LOG_BLOCK_SIZE as u64;
        if !copied_bytes.is_multiple_of(block) {
            return Err(FormatError::Malformed {
                what: "redo copy",
                detail: format!("{copied_bytes} log bytes after the header is not a whole number of 512-byte blocks"),
            });
        }
        if copied_bytes + block > geometry.capacity() {
            return Err(FormatError::Malformed {
                what: "redo log group",
                detail: format!(
                    "{} files of {} bytes hold {} log bytes, the copy needs {}: use larger or more log files",
                    geometry.files,
                    geometry.file_size,
                    geometry.capacity(),
                    copied_bytes + block
                ),
            });
        }
        let first_block_lsn = found.lsn - found.lsn % block;
        let checkpoint = Checkpoint { offset: LOG_FILE_HDR_SIZE + found.lsn % block, ..found };
        Ok(GroupLayout { geometry, first_block_lsn, copied_bytes, checkpoint })
    }

    /// The smallest file size (a multiple of `unit`) with which `files` files
    /// hold `copied_bytes` and the empty block after them.
    pub fn smallest_file_size(files: u32, copied_bytes: u64, unit: u64) -> u64 {
        let data = (copied_bytes + LOG_BLOCK_SIZE as u64).div_ceil(u64::from(files.max(1)));
        (data + LOG_FILE_HDR_SIZE).div_ceil(unit) * unit
    }

    /// The first 2048 bytes of file `file`: its header block, and for file 0
    /// the checkpoint in both slots (the server takes the valid slot with the
    /// larger number; equal numbers make either the same).
    pub fn file_header(&self, file: u32) -> Vec<u8> {
        let mut out = vec![0u8; LOG_FILE_HDR_SIZE as usize];
        let data_per_file = self.geometry.file_size - LOG_FILE_HDR_SIZE;
        let header = LogFileHeader {
            format: LOG_HEADER_FORMAT_57,
            start_lsn: self.first_block_lsn + u64::from(file) * data_per_file,
            creator: GROUP_CREATOR.into(),
        };
        out[..LOG_BLOCK_SIZE].copy_from_slice(&header.encode());
        if file == 0 {
            let slot = self.checkpoint.encode();
            for at in [LOG_CHECKPOINT_1, LOG_CHECKPOINT_2] {
                out[at..at + LOG_BLOCK_SIZE].copy_from_slice(&slot);
            }
        }
        out
    }

    /// Where `len` copy bytes starting `from` bytes after the copy's header
    /// go: (file, offset in that file, length) pieces, split at file ends.
    pub fn placement(&self, from: u64, len: u64) -> Vec<(u32, u64, u64)> {
        let spans = self.geometry.spans(self.first_block_lsn + from, len, self.first_block_lsn, LOG_FILE_HDR_SIZE);
        spans.into_iter().map(|s| (s.file, s.offset, s.len)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mysql57::log::{stamp_block, BlockChecksum};

    fn copy_header(cp_lsn: Lsn, no: u64) -> Vec<u8> {
        let mut h = vec![0u8; LOG_FILE_HDR_SIZE as usize];
        let file = LogFileHeader { format: 1, start_lsn: 8192, creator: "xtrabkup 261202 15:00:00".into() };
        h[..512].copy_from_slice(&file.encode());
        let cp = Checkpoint { no, lsn: cp_lsn, offset: 123_456, log_buf_size: 16 << 20 };
        h[cp.slot_offset()..cp.slot_offset() + 512].copy_from_slice(&cp.encode());
        h
    }

    #[test]
    fn the_checkpoint_is_re_anchored_at_file_0_and_written_to_both_slots() {
        let geometry = RingGeometry::new(2, 4 << 20).unwrap();
        let layout = GroupLayout::new(&copy_header(1_000_777, 9), 10 * 512, geometry).unwrap();
        assert_eq!(layout.first_block_lsn, 1_000_448); // 1_000_777 rounded down to 512
        assert_eq!(layout.checkpoint.offset, 2048 + 329);
        let h0 = layout.file_header(0);
        let found = newest_checkpoint(&h0).unwrap();
        assert_eq!((found.no, found.lsn, found.offset, found.log_buf_size), (9, 1_000_777, 2048 + 329, 16 << 20));
        assert_eq!(&h0[512..1024], &h0[1536..2048]);
        let f0 = LogFileHeader::parse(&h0[..512]).unwrap();
        assert_eq!((f0.start_lsn, f0.creator.as_str()), (1_000_448, GROUP_CREATOR));
        let h1 = layout.file_header(1);
        assert_eq!(LogFileHeader::parse(&h1[..512]).unwrap().start_lsn, 1_000_448 + (4 << 20) - 2048);
        assert!(h1[512..].iter().all(|&b| b == 0), "only file 0 holds checkpoints");
        // The server's own LSN -> offset rule, anchored at the written checkpoint,
        // finds every copied block where placement put it.
        for from in [0u64, 512, 4 * 512] {
            let lsn = layout.first_block_lsn + from;
            let real = geometry.lsn_offset(lsn, found.lsn, found.offset);
            let (file, off, _) = layout.placement(from, 512)[0];
            assert_eq!(real, u64::from(file) * geometry.file_size + off, "block at copy offset {from}");
        }
    }

    #[test]
    fn placement_skips_the_next_files_header() {
        let geometry = RingGeometry::new(2, 8192).unwrap(); // 6144 data bytes a file
        let layout = GroupLayout::new(&copy_header(8192 * 4, 3), 6144 + 1024, geometry).unwrap();
        assert_eq!(layout.placement(5632, 1024), vec![(0, 7680, 512), (1, 2048, 512)]);
        assert_eq!(layout.placement(6144, 1024), vec![(1, 2048, 1024)]);
    }

    #[test]
    fn a_group_too_small_for_the_copy_and_its_end_block_is_refused_with_the_fix() {
        let geometry = RingGeometry::new(2, 8192).unwrap(); // 12288 data bytes
        assert!(GroupLayout::new(&copy_header(16384, 1), 12288 - 512, geometry).is_ok());
        let err = GroupLayout::new(&copy_header(16384, 1), 12288, geometry).unwrap_err().to_string();
        assert!(err.contains("use larger or more log files"), "{err}");
        let err = GroupLayout::new(&copy_header(16384, 1), 100, geometry).unwrap_err().to_string();
        assert!(err.contains("not a whole number"), "{err}");
        assert_eq!(GroupLayout::smallest_file_size(2, 12288 - 512, 512), 8192);
        assert_eq!(GroupLayout::smallest_file_size(2, 10 << 20, 1 << 20), 6 << 20);
    }

    #[test]
    fn a_log_that_is_not_5_7_is_refused() {
        let mut h = copy_header(16384, 1);
        h[3] = 6; // format 6: a MariaDB 10.8 or MySQL 8.0 header
        stamp_block(&mut h[..512], BlockChecksum::Crc32c);
        let geometry = RingGeometry::new(2, 1 << 20).unwrap();
        assert!(matches!(GroupLayout::new(&h, 512, geometry), Err(FormatError::UnsupportedRedoFormat { found: 6 })));
    }
}
