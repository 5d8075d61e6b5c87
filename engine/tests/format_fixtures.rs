//! Page validation against real MySQL 5.7 tablespaces (tests/fixtures/mysql57, see its README).
#![allow(clippy::disallowed_methods)] // tests read fixture files directly; the io-layer rule is for engine code

use std::path::{Path, PathBuf};

use innohot::format::page::{
    fil_header, fsp_header, layout_from_page0, validate_page, Accepted, PageDefect, PageLayout,
    FIL_PAGE_FILE_FLUSH_LSN, FIL_PAGE_SPACE_ID,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql57")
}

/// Every .ibd under the fixture directory, sorted; panics (never skips) if it is missing.
fn tablespaces() -> Vec<(PathBuf, Vec<u8>)> {
    let root = fixture_dir();
    assert!(
        root.is_dir(),
        "fixture directory {} not found: it is part of the repository (engine/tests/fixtures/mysql57)",
        root.display()
    );
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ibd") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no .ibd files under {}", root.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn space_of(data: &[u8]) -> (u32, PageLayout) {
    let layout = layout_from_page0(data).unwrap();
    (fsp_header(data).unwrap().space_id, layout)
}

#[test]
fn every_fixture_page_validates() {
    let mut files = 0;
    let mut crc32 = 0;
    let mut zero = 0;
    for (path, data) in tablespaces() {
        files += 1;
        let (space, layout) = space_of(&data);
        assert_eq!(layout, PageLayout::legacy(16384), "{}", path.display());
        assert_eq!(data.len() % 16384, 0, "{}", path.display());
        for (no, page) in data.chunks(16384).enumerate() {
            match validate_page(page, space, no as u32, layout) {
                Ok(Accepted::Crc32) => crc32 += 1,
                Ok(Accepted::AllZero) => zero += 1,
                other => panic!("{} page {no}: {other:?}", path.display()),
            }
        }
    }
    assert_eq!((files, crc32, zero), (25, 205, 35));
}

/// Positions spread over the page, covering both checksum fields, the header, the LSN,
/// the body and the trailer. Bytes [26,38) are left out: see the next test.
fn flip_positions(size: usize) -> [usize; 10] {
    [0, 3, 4, 11, 16, 23, 38, size / 2 + 7, size - 8, size - 1]
}

#[test]
fn any_flipped_byte_fails() {
    let mut tried = 0;
    for (path, data) in tablespaces() {
        let (space, layout) = space_of(&data);
        for (no, page) in data.chunks(16384).enumerate() {
            if page.iter().all(|&b| b == 0) {
                continue;
            }
            // Plus three positions that move with the page number, through the body.
            let size = page.len();
            let extra = [38 + (no * 4099) % (size - 46), 64 + (no * 7919) % 8000, size - 9];
            for at in flip_positions(size).into_iter().chain(extra) {
                for mask in [0x01u8, 0x80, 0xFF] {
                    let mut bad = page.to_vec();
                    bad[at] ^= mask;
                    let r = validate_page(&bad, space, no as u32, layout);
                    assert!(r.is_err(), "{} page {no}: byte {at} ^ {mask:#x} still {r:?}", path.display());
                    tried += 1;
                }
            }
        }
    }
    assert_eq!(tried, 205 * 13 * 3);
}

#[test]
fn defects_name_what_they_compared() {
    let (path, data) = tablespaces().into_iter().next().unwrap();
    let (space, layout) = space_of(&data);
    let page = &data[..16384];
    let mut torn = page.to_vec();
    torn[16383] ^= 1;
    assert!(matches!(validate_page(&torn, space, 0, layout), Err(PageDefect::TornLsn { .. })), "{}", path.display());
    assert_eq!(validate_page(page, space, 1, layout), Err(PageDefect::WrongPageNo { expected: 1, found: 0 }));
    let mut body = page.to_vec();
    body[200] ^= 1;
    assert!(matches!(validate_page(&body, space, 0, layout), Err(PageDefect::Checksum { .. })));
}

/// MySQL 5.7's crc32 and innodb checksums both skip [26,38) (flush LSN and space id): the
/// server itself accepts a flip there, and so does validate_page. Pinned so that a change
/// in this rule is a deliberate one.
#[test]
fn flush_lsn_and_space_id_are_outside_the_checksum() {
    let (_, data) = tablespaces().into_iter().next().unwrap();
    let (space, layout) = space_of(&data);
    let page = &data[16384..2 * 16384];
    assert!(validate_page(page, space, 1, layout).is_ok());
    for at in [FIL_PAGE_FILE_FLUSH_LSN, FIL_PAGE_SPACE_ID + 3] {
        let mut p = page.to_vec();
        p[at] ^= 0x55;
        assert_eq!(validate_page(&p, space, 1, layout), Ok(Accepted::Crc32));
    }
}

#[test]
fn fixture_headers_are_consistent() {
    for (path, data) in tablespaces() {
        let fsp = fsp_header(&data).unwrap();
        assert_eq!(fsp.flags, 0x21, "{}", path.display());
        assert!(fsp.space_id > 0, "{}", path.display());
        for (no, page) in data.chunks(16384).enumerate() {
            if page.iter().all(|&b| b == 0) {
                continue;
            }
            let h = fil_header(page).unwrap();
            assert_eq!(h.page_no, no as u32);
            assert_eq!(h.space_id, fsp.space_id, "{} page {no}", path.display());
        }
    }
}
