//! Page validation throughput per page kind, on real pages (the engine's
//! fixtures): what validating every page of a backup costs, by checksum
//! format and compression.
//!
//! `cargo bench -p innohot-benches --bench pages`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use innohot::format::page::{layout_from_page0, validate_page};
use std::path::Path;

/// (kind, fixture file).
const KINDS: [(&str, &str); 9] = [
    ("crc32", "mysql57/sakila/actor.ibd"),
    ("full_crc32", "mariadb/full_crc32_16k.ibd"),
    ("zip_kbs8", "mariadb/zip_kbs8.ibd"),
    ("page_compressed_full_crc32_lz4", "mariadb/page_compressed_full_crc32_lz4.ibd"),
    ("page_compressed_crc32_zlib", "mariadb/page_compressed_crc32_zlib.ibd"),
    ("page_compressed_crc32_lz4", "mariadb/page_compressed_crc32_lz4.ibd"),
    ("page_compressed_crc32_lzo", "mariadb/page_compressed_crc32_lzo.ibd"),
    ("page_compressed_crc32_lzma", "mariadb/page_compressed_crc32_lzma.ibd"),
    ("page_compressed_crc32_snappy", "mariadb/page_compressed_crc32_snappy.ibd"),
];

fn bench_pages(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures");
    let mut group = c.benchmark_group("validate");
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(2));
    for (kind, file) in KINDS {
        #[allow(clippy::disallowed_methods)] // a bench reads its inputs directly
        let bytes = std::fs::read(fixtures.join(file)).expect("fixture");
        let layout = layout_from_page0(&bytes).expect("page 0");
        let space = u32::from_be_bytes(bytes[38..42].try_into().expect("4 bytes"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(kind), &bytes, |b, bytes| {
            b.iter(|| {
                let mut ok = 0;
                for (no, pg) in bytes.chunks_exact(layout.physical_size).enumerate() {
                    ok += usize::from(validate_page(pg, space, no as u32, layout).is_ok());
                }
                assert_eq!(ok, bytes.len() / layout.physical_size);
                ok
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pages);
criterion_main!(benches);
