//! innohot's xbstream chunks (`format::xbstream`) against the peer's own
//! reader: `mbstream -x` (package mariadb-backup) extracts a stream innohot
//! encoded into exactly the files it carried, and refuses it once a payload
//! byte is flipped (so the CRC-32 innohot stores is the one mbstream checks).

use innohot::format::xbstream::{eof_chunk, payload_header};
use innohot_testbeds::{binaries_or_skip, tree};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chunk(stream: &mut Vec<u8>, path: &str, offset: u64, data: &[u8]) {
    stream.extend(payload_header(path, offset, data).unwrap());
    stream.extend_from_slice(data);
}

/// Runs `mbstream -x -C dir` on `stream`; its exit status and stderr.
fn mbstream_x(mbstream: &Path, dir: &Path, stream: &[u8]) -> (bool, String) {
    let mut child = Command::new(mbstream)
        .args(["-x", "-C"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mbstream");
    // mbstream stops reading at the first chunk it refuses: a broken pipe then.
    let _ = child.stdin.take().unwrap().write_all(stream);
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn mbstream_extracts_what_innohot_streams_and_refuses_a_damaged_payload() {
    let Some(b) = binaries_or_skip() else { return };
    let mbstream = b.mariabackup.with_file_name("mbstream");
    assert!(mbstream.exists(), "{} is missing: it comes with mariadb-backup", mbstream.display());
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut stream = Vec::new();
    // Two files interleaved, as parallel copies write them; each file's
    // chunks in ascending, contiguous offsets.
    chunk(&mut stream, "ibdata1", 0, &big[..100_000]);
    chunk(&mut stream, "db/t#P#p0.ibd", 0, b"first");
    chunk(&mut stream, "ibdata1", 100_000, &big[100_000..]);
    chunk(&mut stream, "db/t#P#p0.ibd", 5, b" second");
    stream.extend(eof_chunk("db/t#P#p0.ibd").unwrap());
    stream.extend(eof_chunk("ibdata1").unwrap());
    chunk(&mut stream, "xtrabackup_checkpoints", 0, b"backup_type = full-backuped\n");
    stream.extend(eof_chunk("xtrabackup_checkpoints").unwrap());

    let dir = tempfile::tempdir().unwrap();
    let ok_dir = dir.path().join("ok");
    std::fs::create_dir(&ok_dir).unwrap();
    let (ok, err) = mbstream_x(&mbstream, &ok_dir, &stream);
    assert!(ok, "mbstream -x refused innohot's stream: {err}");
    let got: BTreeMap<PathBuf, Vec<u8>> = tree::file_contents(&ok_dir);
    let want: BTreeMap<PathBuf, Vec<u8>> = [
        ("ibdata1", big.clone()),
        ("db/t#P#p0.ibd", b"first second".to_vec()),
        ("xtrabackup_checkpoints", b"backup_type = full-backuped\n".to_vec()),
    ]
    .into_iter()
    .map(|(p, d)| (PathBuf::from(p), d))
    .collect();
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    assert!(got == want, "mbstream extracted other bytes than innohot streamed");

    let mut damaged = stream.clone();
    let at = damaged.len() / 3;
    damaged[at] ^= 0x40;
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir(&bad_dir).unwrap();
    let (ok, err) = mbstream_x(&mbstream, &bad_dir, &damaged);
    assert!(!ok, "mbstream accepted a stream with a flipped payload byte: {err}");
}
