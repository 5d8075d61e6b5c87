//! The checksums InnoDB uses: CRC-32C and the legacy "innodb" folds.

/// CRC-32C (Castagnoli), as `ut_crc32` computes it.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// CRC-32C continued over more bytes: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

/// `ut_fold_ulint_pair` on a 64-bit server.
pub fn fold_pair(n1: u64, n2: u64) -> u64 {
    todo!("helper: ut_fold_ulint_pair with masks 1463735687 / 1653893711, wrapping u64 arithmetic")
}

/// `ut_fold_binary`: every byte folded in order starting from 0.
pub fn fold_binary(data: &[u8]) -> u64 {
    todo!()
}

/// The 5.7 "crc32" page checksum: crc32c([4,26)) ^ crc32c([38, size-8)).
pub fn page_crc32(page: &[u8]) -> u32 {
    todo!()
}

/// Legacy "innodb" new-style checksum stored at offset 0 (`buf_calc_page_new_checksum`).
pub fn page_innodb_new(page: &[u8]) -> u32 {
    todo!()
}

/// Legacy "innodb" old-style checksum stored at size-8 (`buf_calc_page_old_checksum`).
pub fn page_innodb_old(page: &[u8]) -> u32 {
    todo!()
}

/// MariaDB full_crc32: crc32c of [0, size-4).
pub fn page_full_crc32(page: &[u8]) -> u32 {
    todo!()
}

/// The legacy "innodb" checksum of a 512-byte redo block (`log_block_calc_checksum_innodb`) over [0,508).
pub fn log_block_innodb(block: &[u8]) -> u32 {
    todo!()
}
