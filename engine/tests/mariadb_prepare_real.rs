//! Real-server vectors for `prepare::mariadb`, without a server: pages and the
//! `ib_logfile0` of a `mariabackup --backup` taken while a MariaDB 10.11 ran a
//! workload on DYNAMIC and REDUNDANT tables (captured by
//! cli/tests/prepare_vs_mariabackup.rs with INNOHOT_WRITE_FIXTURES=1), with the
//! same pages after `mariabackup --prepare`. innohot's apply must give the same bytes.
#![allow(clippy::disallowed_methods)] // tests read fixture files directly; the io-layer rule is for engine code

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use innohot::restore::prepare::mariadb::{apply_log, PageStore};

const PAGE: usize = 4096;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mariadb1011").join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if !name.ends_with(".gz") {
        return raw;
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
    out
}

/// (space, page) -> page bytes, from the fixture's concatenated entries.
fn pages(name: &str) -> BTreeMap<(u32, u32), Vec<u8>> {
    data(name)
        .chunks(8 + PAGE)
        .map(|e| {
            let space = u32::from_be_bytes(e[..4].try_into().unwrap());
            let page = u32::from_be_bytes(e[4..8].try_into().unwrap());
            ((space, page), e[8..].to_vec())
        })
        .collect()
}

struct Mem(BTreeMap<(u32, u32), Vec<u8>>);

impl PageStore for Mem {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        self.0.get_mut(&(space, page)).map(|p| p.as_mut_slice())
    }
}

#[test]
fn applying_a_real_backup_log_gives_mariabackups_pages() {
    let log = data("prepare_ib_logfile0.gz");
    let last_lsn: u64 = String::from_utf8(data("prepare_last_lsn")).unwrap().trim().parse().unwrap();
    let after = pages("prepare_after.gz");
    let before = pages("prepare_before.gz");
    let mut mem = Mem(before.clone());
    let report = apply_log(&log, last_lsn, &mut mem).expect("the log applies");
    assert!(report.extended_applied > 100, "the capture holds EXTENDED records: {report:?}");
    let mut differ = Vec::new();
    for (id, theirs) in &after {
        if &mem.0[id] != theirs && !report.pages_freed.contains(id) {
            differ.push(*id);
        }
    }
    assert!(differ.is_empty(), "pages that differ from mariabackup --prepare: {differ:?}");
    // The test can fail: without the EXTENDED records' effects the pages differ.
    let changed = report.pages_touched.iter().filter(|id| mem.0[*id] != before[*id]).count();
    assert!(changed > 0);
}
