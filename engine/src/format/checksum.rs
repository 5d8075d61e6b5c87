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
    const MASK: u64 = 1_463_735_687;
    const MASK2: u64 = 1_653_893_711;
    (((n1 ^ n2 ^ MASK2) << 8).wrapping_add(n1) ^ MASK).wrapping_add(n2)
}

/// `ut_fold_binary`: every byte folded in order starting from 0.
pub fn fold_binary(data: &[u8]) -> u64 {
    data.iter().fold(0, |acc, &b| fold_pair(acc, u64::from(b)))
}

/// The 5.7 "crc32" page checksum: crc32c([4,26)) ^ crc32c([38, size-8)).
///
/// Panics if `page` is shorter than 46 bytes (callers validate lengths first).
pub fn page_crc32(page: &[u8]) -> u32 {
    let size = page.len();
    crc32c(&page[4..26]) ^ crc32c(&page[38..size - 8])
}

/// Legacy "innodb" new-style checksum stored at offset 0 (`buf_calc_page_new_checksum`).
pub fn page_innodb_new(page: &[u8]) -> u32 {
    let size = page.len();
    // The server truncates the sum of the two 64-bit folds to 32 bits.
    fold_binary(&page[4..26]).wrapping_add(fold_binary(&page[38..size - 8])) as u32
}

/// Legacy "innodb" old-style checksum stored at size-8 (`buf_calc_page_old_checksum`).
pub fn page_innodb_old(page: &[u8]) -> u32 {
    fold_binary(&page[0..26]) as u32
}

/// MariaDB full_crc32: crc32c of [0, size-4).
pub fn page_full_crc32(page: &[u8]) -> u32 {
    crc32c(&page[..page.len() - 4])
}

/// The legacy "innodb" checksum of a 512-byte redo block (`log_block_calc_checksum_innodb`) over [0,508).
pub fn log_block_innodb(block: &[u8]) -> u32 {
    let mut sum: u64 = 1;
    let mut sh = 0u32;
    for &b in &block[..508] {
        let b = u64::from(b);
        sum &= 0x7FFF_FFFF;
        sum += b;
        sum += b << sh;
        sh += 1;
        if sh > 24 {
            sh = 0;
        }
    }
    // The server stores it with mach_write_to_4: the low 32 bits.
    sum as u32
}

/// ROW_FORMAT=COMPRESSED page checksum, "crc32" variant (`page_zip_calc_checksum`):
/// crc32c([4,16)) ^ crc32c([24,26)) ^ crc32c([34,size)), stored at offset 0.
pub fn page_zip_crc32(page: &[u8]) -> u32 {
    crc32c(&page[4..16]) ^ crc32c(&page[24..26]) ^ crc32c(&page[34..])
}
