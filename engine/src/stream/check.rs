//! Whether an extracted stream is a whole backup: an innohot stream says so
//! with its manifest, sent last and only when the backup completed
//! ([`super::MANIFEST`]). A peer's stream (mariabackup) has none; its
//! completeness rests on the writer's exit code, which the reader cannot see.

use super::compress::ZST_SUFFIX;
use super::markers::{parse_manifest, Manifest};
use super::{ExtractReport, MANIFEST, STREAM_HEAD};
use crate::io::{ReadPolicy, SourceFs};
use std::path::Path;

/// What kind of complete stream was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// An innohot stream whose every file matches its manifest.
    Whole(Manifest),
    /// No `innohot_stream` head: another tool's stream, not checkable.
    NotInnohot,
}

/// A stream that is not the whole backup its writer meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncompleteStream {
    #[error(
        "the stream ends without {MANIFEST}: its backup did not complete (innohot sends the manifest only then; \
         see the backup's own log) or the stream was cut short between two files; take the backup again"
    )]
    NoManifest,
    #[error("{MANIFEST} is not a manifest innohot can read: the stream is damaged; take the backup again")]
    BadManifest,
    #[error(
        "the stream does not hold what its manifest lists ({}): the stream was damaged or spliced; take the \
         backup again",
        problems.join("; ")
    )]
    Differs { problems: Vec<String> },
}

/// Checks an extracted stream against its manifest (`manifest`: the
/// manifest file's text when the stream held one).
pub fn check(report: &ExtractReport, manifest: Option<&str>) -> Result<Completeness, IncompleteStream> {
    if !report.files.contains_key(STREAM_HEAD) {
        return Ok(Completeness::NotInnohot);
    }
    let text = manifest.ok_or(IncompleteStream::NoManifest)?;
    let m = parse_manifest(text).ok_or(IncompleteStream::BadManifest)?;
    let mut problems = Vec::new();
    for (name, &(size, crc)) in &m.files {
        match (report.files.get(name), report.crcs.get(name)) {
            (None, _) => problems.push(format!("{name} is missing")),
            (Some(&got), _) if got != size => problems.push(format!("{name} has {got} bytes, not {size}")),
            (_, Some(&got)) if got != crc => problems.push(format!("{name} has CRC-32 {got:08x}, not {crc:08x}")),
            _ => {}
        }
    }
    let extra = report.files.keys().filter(|n| *n != MANIFEST && !m.files.contains_key(*n));
    problems.extend(extra.map(|n| format!("{n} is not in the manifest")));
    if problems.is_empty() {
        Ok(Completeness::Whole(m))
    } else {
        const SHOWN: usize = 10;
        if problems.len() > SHOWN {
            let more = problems.len() - SHOWN;
            problems.truncate(SHOWN);
            problems.push(format!("and {more} more"));
        }
        Err(IncompleteStream::Differs { problems })
    }
}

/// `innohot verify` of a backup extracted from an innohot stream: before
/// prepare, every file the manifest lists must be there with its size and
/// CRC-32 (a file decompressed since, `NAME.zst` → `NAME`, only there).
/// Problems and notes are pushed in words. Nothing is said of other backups.
pub fn verify_extracted(
    fs: &dyn SourceFs,
    dir: &Path,
    prepared: bool,
    notes: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    if !fs.exists(&dir.join(STREAM_HEAD)) {
        return;
    }
    let Some(text) = read_small(fs, &dir.join(MANIFEST)) else {
        problems.push(IncompleteStream::NoManifest.to_string());
        return;
    };
    let Some(m) = parse_manifest(&text) else {
        problems.push(IncompleteStream::BadManifest.to_string());
        return;
    };
    if prepared {
        notes.push(format!("{MANIFEST} not compared: the backup was prepared since, which changes its files"));
        return;
    }
    let mut decompressed = 0;
    for (name, &(size, crc)) in &m.files {
        match crc_of(fs, &dir.join(name)) {
            Ok(Some((got_size, got_crc))) if (got_size, got_crc) == (size, crc) => {}
            Ok(Some((got_size, _))) if got_size != size => {
                problems.push(format!("{name} has {got_size} bytes, not the {size} its stream sent"))
            }
            Ok(Some(_)) => problems.push(format!("{name} differs from what its stream sent (CRC-32)")),
            Ok(None) if name.strip_suffix(ZST_SUFFIX).is_some_and(|n| fs.exists(&dir.join(n))) => decompressed += 1,
            Ok(None) => problems.push(format!("{name} is missing: the stream sent it")),
            Err(e) => problems.push(format!("{name}: reading it failed: {e}")),
        }
    }
    let also = if decompressed > 0 {
        format!(" ({decompressed} decompressed since, checked by name only)")
    } else {
        String::new()
    };
    notes.push(format!("{MANIFEST}: {} files as their stream sent them{also}", m.files.len()));
}

fn read_small(fs: &dyn SourceFs, path: &Path) -> Option<String> {
    let mut f = fs.open(path, ReadPolicy { direct: false, fadvise: false }).ok()?;
    let mut buf = vec![0; f.size().ok()? as usize];
    let got = f.read_at(&mut buf, 0).ok()?;
    buf.truncate(got);
    String::from_utf8(buf).ok()
}

/// A file's size and CRC-32; None when it is not there.
fn crc_of(fs: &dyn SourceFs, path: &Path) -> std::io::Result<Option<(u64, u32)>> {
    let mut f = match fs.open(path, ReadPolicy::default()) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (mut crc, mut at, mut buf) = (flate2::Crc::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let got = f.read_at(&mut buf, at)?;
        if got == 0 {
            return Ok(Some((at, crc.sum())));
        }
        crc.update(&buf[..got]);
        f.done_with(at, got as u64);
        at += got as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(files: &[(&str, u64, u32)]) -> ExtractReport {
        let mut r = ExtractReport::default();
        for (n, size, crc) in files {
            r.files.insert(n.to_string(), *size);
            r.crcs.insert(n.to_string(), *crc);
        }
        r
    }

    const MANIFEST_TEXT: &str =
        "format = 1\nto_lsn = 9\nfile = 5 0000000a innohot_stream\nfile = 3 0000000b db/t.ibd\n";

    #[test]
    fn a_stream_matching_its_manifest_is_whole_and_a_peers_is_not_checked() {
        let r = report(&[(STREAM_HEAD, 5, 10), ("db/t.ibd", 3, 11), (MANIFEST, 60, 1)]);
        assert!(matches!(check(&r, Some(MANIFEST_TEXT)), Ok(Completeness::Whole(m)) if m.files.len() == 2));
        assert_eq!(check(&report(&[("ibdata1", 1, 1)]), None), Ok(Completeness::NotInnohot));
    }

    #[test]
    fn a_stream_without_its_manifest_or_not_matching_it_is_refused_naming_each_difference() {
        let r = report(&[(STREAM_HEAD, 5, 10), ("db/t.ibd", 3, 11)]);
        assert_eq!(check(&r, None), Err(IncompleteStream::NoManifest));
        assert!(check(&r, None).unwrap_err().to_string().contains("ends without innohot_manifest"));
        assert_eq!(check(&r, Some("nonsense")), Err(IncompleteStream::BadManifest));
        let r = report(&[(STREAM_HEAD, 5, 10), ("db/x.ibd", 1, 1), ("db/t.ibd", 3, 12)]);
        let e = check(&r, Some(MANIFEST_TEXT)).unwrap_err().to_string();
        assert!(e.contains("db/t.ibd has CRC-32 0000000c, not 0000000b"), "{e}");
        assert!(e.contains("db/x.ibd is not in the manifest"), "{e}");
        let r = report(&[(STREAM_HEAD, 5, 10), ("db/t.ibd", 2, 11)]);
        assert!(check(&r, Some(MANIFEST_TEXT)).unwrap_err().to_string().contains("db/t.ibd has 2 bytes, not 3"));
        let r = report(&[(STREAM_HEAD, 5, 10)]);
        assert!(check(&r, Some(MANIFEST_TEXT)).unwrap_err().to_string().contains("db/t.ibd is missing"));
    }

    #[test]
    fn verify_compares_an_extracted_backup_with_its_manifest_until_it_is_prepared() {
        use crate::io::real::RealSourceFs;
        use crate::io::LocalFs;
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            crate::io::local::RealLocalFs.create_dir_all(p.parent().unwrap()).unwrap();
            let _ = crate::io::local::RealLocalFs.remove_file(&p);
            crate::io::local::RealLocalFs.create_file(&p).unwrap().write_at(bytes, 0).unwrap();
        };
        let crc = crate::format::xbstream::crc32;
        put(STREAM_HEAD, b"h");
        put("db/t.ibd", b"abc");
        put("ibdata1", b"plain");
        let manifest = format!(
            "format = 1\nfile = 1 {:08x} {STREAM_HEAD}\nfile = 3 {:08x} db/t.ibd\nfile = 9 00000001 ibdata1.zst\n",
            crc(b"h"),
            crc(b"abc")
        );
        let run = |prepared: bool| {
            let (mut notes, mut problems) = (Vec::new(), Vec::new());
            verify_extracted(&RealSourceFs, dir.path(), prepared, &mut notes, &mut problems);
            (notes, problems)
        };
        let (_, problems) = run(false);
        assert!(problems[0].contains("ends without innohot_manifest"), "{problems:?}");
        put(MANIFEST, manifest.as_bytes());
        let (notes, problems) = run(false);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(notes[0].contains("3 files as their stream sent them (1 decompressed since"), "{notes:?}");
        put("db/t.ibd", b"abd");
        assert!(run(false).1[0].contains("db/t.ibd differs from what its stream sent"));
        assert!(run(true).1.is_empty(), "a prepared backup's files differ by design");
    }
}
