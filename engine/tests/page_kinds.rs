//! Every page kind a real MariaDB 10.11 server writes (tests/fixtures/mariadb):
//! each page of each sample validates under the rule of its kind, a flipped
//! byte in any byte the server's own check covers is caught, encrypted
//! tablespaces are recognised, and the copier copies every sample byte for
//! byte (and refuses the encrypted ones at once, by name).
#![allow(clippy::disallowed_methods)] // tests read fixtures and results directly

use innohot::copy::{CopySettings, FileCopier, Tablespace, TablespaceKind};
use innohot::events::{Phase, Recorder, Role};
use innohot::format::page::{
    is_encrypted_tablespace, layout_from_page0, validate_page, Accepted, PageDefect, PageLayout,
};
use innohot::format::page_compressed::{self, Algorithm};
use innohot::io::mem::copy_to_end;
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::{ManualClock, ReadPolicy};
use innohot::BackupError;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn fixture(name: &str) -> (PathBuf, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mariadb").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("MariaDB fixture {}: {e}", path.display()));
    (path, bytes)
}

/// What each page of a sample must validate as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FullCrc32,
    Crc32,
    Zip,
    PageCompressed(Algorithm),
    EncryptedFullCrc32,
    EncryptedCrc32,
}

const SAMPLES: &[(&str, Kind)] = &[
    ("full_crc32_4k.ibd", Kind::FullCrc32),
    ("full_crc32_8k.ibd", Kind::FullCrc32),
    ("full_crc32_16k.ibd", Kind::FullCrc32),
    ("full_crc32_32k.ibd", Kind::FullCrc32),
    ("full_crc32_64k.ibd", Kind::FullCrc32),
    ("crc32_16k.ibd", Kind::Crc32),
    ("zip_kbs1.ibd", Kind::Zip),
    ("zip_kbs2.ibd", Kind::Zip),
    ("zip_kbs4.ibd", Kind::Zip),
    ("zip_kbs8.ibd", Kind::Zip),
    ("zip_kbs16.ibd", Kind::Zip),
    ("page_compressed_crc32_zlib.ibd", Kind::PageCompressed(Algorithm::Zlib)),
    ("page_compressed_crc32_lz4.ibd", Kind::PageCompressed(Algorithm::Lz4)),
    ("page_compressed_crc32_lzo.ibd", Kind::PageCompressed(Algorithm::Lzo)),
    ("page_compressed_crc32_lzma.ibd", Kind::PageCompressed(Algorithm::Lzma)),
    ("page_compressed_crc32_bzip2.ibd", Kind::PageCompressed(Algorithm::Bzip2)),
    ("page_compressed_crc32_snappy.ibd", Kind::PageCompressed(Algorithm::Snappy)),
    ("page_compressed_full_crc32_zlib.ibd", Kind::FullCrc32),
    ("page_compressed_full_crc32_lz4.ibd", Kind::FullCrc32),
    ("encrypted_full_crc32.ibd", Kind::EncryptedFullCrc32),
    ("encrypted_crc32.ibd", Kind::EncryptedCrc32),
];

fn layout_of(bytes: &[u8]) -> PageLayout {
    layout_from_page0(bytes).expect("page 0 flags")
}

fn space_id_of(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[38..42].try_into().unwrap())
}

#[test]
fn every_page_of_every_sample_validates_as_its_kind() {
    for &(name, kind) in SAMPLES {
        let (_, bytes) = fixture(name);
        let layout = layout_of(&bytes);
        let space = space_id_of(&bytes);
        assert_eq!(bytes.len() % layout.physical_size, 0, "{name}: whole pages");
        let expect_encrypted = matches!(kind, Kind::EncryptedCrc32 | Kind::EncryptedFullCrc32);
        assert_eq!(is_encrypted_tablespace(&bytes, layout), expect_encrypted, "{name}: page 0 crypt data");
        for (no, page) in bytes.chunks_exact(layout.physical_size).enumerate() {
            let got = validate_page(page, space, no as u32, layout);
            let ok = match (kind, no, got) {
                (_, _, Ok(Accepted::AllZero)) => true,
                (Kind::FullCrc32 | Kind::EncryptedFullCrc32, 0, Ok(Accepted::FullCrc32)) => true,
                (Kind::FullCrc32, _, Ok(Accepted::FullCrc32)) => true,
                (Kind::Crc32 | Kind::EncryptedCrc32, 0, Ok(Accepted::Crc32)) => true,
                (Kind::Crc32, _, Ok(Accepted::Crc32)) => true,
                (Kind::Zip, _, Ok(Accepted::Compressed)) => true,
                (Kind::PageCompressed(_), 0, Ok(Accepted::Crc32)) => true,
                (Kind::PageCompressed(a), _, Ok(Accepted::PageCompressed(b))) => a == b,
                (Kind::EncryptedFullCrc32, _, Err(PageDefect::Encrypted { key_version: 1, .. })) => true,
                // crc32-format encrypted pages are refused by page 0's record (checked above).
                (Kind::EncryptedCrc32, _, _) => true,
                _ => false,
            };
            assert!(ok, "{name} page {no}: {got:?} is not what a {kind:?} page validates as");
        }
    }
}

#[test]
fn key_block_size_16_is_a_compressed_layout_of_full_size_pages() {
    let (_, bytes) = fixture("zip_kbs16.ibd");
    let layout = layout_of(&bytes);
    assert_eq!(layout, PageLayout::row_compressed(16384, 16384));
    // Read as an ordinary page, a page_zip page fails: the kind matters.
    let page = &bytes[3 * 16384..4 * 16384];
    assert!(validate_page(page, space_id_of(&bytes), 3, PageLayout::legacy(16384)).is_err());
}

#[allow(clippy::single_range_in_vec_init)] // a list of ranges, often of one
/// Bytes a kind's own check (the server's, and innohot's) does not cover:
/// flips there are not corruption anyone can see.
fn unchecked(kind: Kind, page: &[u8]) -> Vec<Range<usize>> {
    let size = page.len();
    match kind {
        Kind::FullCrc32 => {
            let page_type = u16::from_be_bytes([page[24], page[25]]);
            if page_type & 0x8000 != 0 {
                // Compressed: the CRC ends the stored length; zeros follow.
                let stored = usize::from(page_type & 0x7fff) << 8;
                vec![stored..size]
            } else {
                vec![]
            }
        }
        // Flush LSN and space id: no 5.7-style checksum covers them.
        Kind::Crc32 => vec![26..38],
        // page_zip checksum: [4,16), [24,26), [34,size) only.
        Kind::Zip => vec![16..24, 26..34],
        Kind::PageCompressed(_) => {
            let len = usize::from(u16::from_be_bytes([page[38], page[39]]));
            // The length field itself may grow into the zero padding harmlessly.
            vec![38..40, 40 + len..size]
        }
        Kind::EncryptedCrc32 | Kind::EncryptedFullCrc32 => vec![0..size],
    }
}

/// For a page_compressed page, a flipped payload byte whose inflated page
/// differs from the original only in the inner bytes the inner checksum
/// skips ([26,34): flush LSN or split sequence) is not detectable either.
fn inflates_to_same_checked_bytes(original: &[u8], flipped: &[u8]) -> bool {
    let mut a = vec![0u8; original.len()];
    let mut b = vec![0u8; flipped.len()];
    if page_compressed::inflate(original, &mut a).is_err() || page_compressed::inflate(flipped, &mut b).is_err() {
        return false;
    }
    a[26..34].fill(0);
    b[26..34].fill(0);
    a == b
}

#[test]
fn a_flipped_byte_is_caught_in_every_page_kind() {
    let mut checked = 0u64;
    for &(name, kind) in SAMPLES {
        if matches!(kind, Kind::EncryptedCrc32 | Kind::EncryptedFullCrc32) {
            continue;
        }
        let (_, bytes) = fixture(name);
        let layout = layout_of(&bytes);
        let space = space_id_of(&bytes);
        for (no, page) in bytes.chunks_exact(layout.physical_size).enumerate() {
            if page.iter().all(|&b| b == 0) {
                continue;
            }
            let skip =
                unchecked(if no == 0 && matches!(kind, Kind::PageCompressed(_)) { Kind::Crc32 } else { kind }, page);
            // Every header and trailer byte, and a stride through the body.
            let positions = (0..64).chain((64..page.len() - 64).step_by(97)).chain(page.len() - 64..page.len());
            for at in positions {
                if skip.iter().any(|r| r.contains(&at)) {
                    continue;
                }
                let mut bad = page.to_vec();
                bad[at] ^= 0x5a;
                if matches!(kind, Kind::PageCompressed(_)) && no > 0 && inflates_to_same_checked_bytes(page, &bad) {
                    continue;
                }
                let got = validate_page(&bad, space, no as u32, layout);
                assert!(got.is_err(), "{name} page {no}: flipping byte {at} went unnoticed ({got:?})");
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "too few flips checked: {checked}");
}

fn settings() -> CopySettings {
    CopySettings {
        chunk_size: 3 * 16384,
        page_retries: 3,
        retry_delay: Duration::from_millis(100),
        read_policy: ReadPolicy { direct: false, fadvise: false },
        ..CopySettings::default()
    }
}

fn copy(source: &Path, target: &RealTargetDir, rel: &str) -> (Result<u64, BackupError>, u32) {
    copy_with(source, target, rel, PageLayout::full_crc32(16384))
}

/// `new_file_layout` is what the server gives a file whose page 0 is not written yet.
fn copy_with(
    source: &Path,
    target: &RealTargetDir,
    rel: &str,
    new_file_layout: PageLayout,
) -> (Result<u64, BackupError>, u32) {
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let ts = Tablespace { source: source.to_path_buf(), target: PathBuf::from(rel), kind: TablespaceKind::Table };
    let c = FileCopier::open(
        ts,
        &RealSourceFs,
        target,
        &settings(),
        new_file_layout,
        (Phase::DataCopy, Role::DataCopier(1)),
        Arc::new(Recorder::default()),
        clock.clone(),
    )
    .expect("open");
    copy_to_end(c, &clock)
}

/// MariaDB writes a new table's pages lazily: a file may hold written pages
/// while page 0 is still zeros. Until page 0 says otherwise the copier checks
/// pages in the server's layout for new files (full_crc32 by default), never
/// in MySQL 5.7's, which would take every full_crc32 page for a torn one.
#[test]
fn a_file_without_page_0_is_checked_in_the_servers_layout_for_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut bytes) = fixture("full_crc32_16k.ibd");
    assert!(bytes[16384..].chunks(16384).any(|p| p.iter().any(|&b| b != 0)), "the fixture has written pages");
    bytes[..16384].fill(0);
    let source = dir.path().join("lazy.ibd");
    std::fs::write(&source, &bytes).unwrap();
    let target = RealTargetDir::create(&dir.path().join("backup"), false).unwrap();

    let (result, retries) = copy_with(&source, &target, "a.ibd", PageLayout::full_crc32(16384));
    assert_eq!(result.expect("copied in the server's layout"), bytes.len() as u64);
    assert_eq!(retries, 0);
    assert_eq!(std::fs::read(dir.path().join("backup/a.ibd")).unwrap(), bytes);

    let (result, _) = copy_with(&source, &target, "b.ibd", PageLayout::legacy(16384));
    assert!(
        matches!(result, Err(BackupError::CorruptPage { .. })),
        "in the 5.7 layout full_crc32 pages look torn: {result:?}"
    );
}

#[test]
fn the_copier_copies_every_kind_byte_for_byte_and_refuses_encrypted_tablespaces_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let target = RealTargetDir::create(&dir.path().join("backup"), false).unwrap();
    for &(name, kind) in SAMPLES {
        let (path, bytes) = fixture(name);
        let (result, retries) = copy(&path, &target, name);
        match kind {
            Kind::EncryptedCrc32 | Kind::EncryptedFullCrc32 => {
                let e = result.expect_err(name);
                assert!(matches!(e, BackupError::Encrypted { .. }), "{name}: {e:?}");
                let text = e.to_string();
                assert!(text.contains(name) && text.contains("encrypted"), "{name}: {text}");
                assert_eq!(retries, 0, "{name}: an encrypted page is not re-read as if torn");
            }
            _ => {
                assert_eq!(result.unwrap_or_else(|e| panic!("{name}: {e}")), bytes.len() as u64, "{name}");
                assert_eq!(retries, 0, "{name}: no page of a healthy sample is retried");
                assert_eq!(std::fs::read(dir.path().join("backup").join(name)).unwrap(), bytes, "{name}");
            }
        }
    }
}

#[test]
fn a_corrupt_page_compressed_page_is_refused_after_its_retries_naming_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut bytes) = fixture("page_compressed_crc32_lz4.ibd");
    // Inside the payload of page 3.
    bytes[3 * 16384 + 60] ^= 0xff;
    let source = dir.path().join("damaged.ibd");
    std::fs::write(&source, &bytes).unwrap();
    let target = RealTargetDir::create(&dir.path().join("backup"), false).unwrap();
    let (result, retries) = copy(&source, &target, "damaged.ibd");
    let e = result.expect_err("a damaged page must fail the copy");
    assert!(matches!(e, BackupError::CorruptPage { page: 3, .. }), "{e:?}");
    assert_eq!(retries, 3);
    assert!(e.to_string().contains("damaged.ibd"), "{e}");
}

mod hostile_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever a damaged page holds, validating it returns a verdict: no
        /// panic, no allocation beyond a page, for every algorithm code.
        #[test]
        fn any_page_compressed_page_gets_a_verdict(
            code in 0u64..8,
            len in 0u16..16400,
            payload in proptest::collection::vec(any::<u8>(), 0..2048),
            seed in any::<u8>(),
        ) {
            let mut page = vec![0u8; 4096];
            page[0..4].copy_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
            page[4..8].copy_from_slice(&7u32.to_be_bytes());
            page[24..26].copy_from_slice(&page_compressed::PAGE_TYPE_PAGE_COMPRESSED.to_be_bytes());
            page[26..34].copy_from_slice(&code.to_be_bytes());
            page[38..40].copy_from_slice(&len.to_be_bytes());
            let n = payload.len().min(4096 - 40);
            page[40..40 + n].copy_from_slice(&payload[..n]);
            page[4095] = seed;
            let _ = validate_page(&page, 5, 7, PageLayout::legacy(4096));
            let mut out = vec![0u8; 4096];
            let _ = page_compressed::lzo1x_decompress(&payload, &mut out);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// innohot's LZO1X decoder inflates what an independent compressor wrote.
        #[test]
        fn lzo_round_trips(data in proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), any::<u8>()], 1..20000)) {
            let packed = lzokay_native::compress(&data).expect("compress");
            let mut out = vec![0u8; data.len()];
            prop_assert_eq!(page_compressed::lzo1x_decompress(&packed, &mut out), Some(data.len()));
            prop_assert_eq!(out, data);
        }
    }
}
