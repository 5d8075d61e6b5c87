//! Whether an extracted stream is a whole backup: an innohot stream says so
//! with its manifest, sent last and only when the backup completed
//! ([`super::MANIFEST`]). A peer's stream (mariabackup) has none; its
//! completeness rests on the writer's exit code, which the reader cannot see.

use super::markers::{parse_manifest, Manifest};
use super::{ExtractReport, MANIFEST, STREAM_HEAD};

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
}
