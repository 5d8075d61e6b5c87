//! innohot's xbstream chunks (`format::xbstream`) against the peer's own
//! reader: `mbstream -x` (package mariadb-backup) extracts a stream innohot
//! encoded into exactly the files it carried, and refuses it once a payload
//! byte is flipped (so the CRC-32 innohot stores is the one mbstream checks).
//! And the other way: `innohot extract` turns the real mariabackup's
//! `--stream=xbstream` into exactly the files `mbstream -x` gives, and refuses
//! that stream cut short, even between two chunks, where mbstream says nothing.

use innohot::format::xbstream::{decode, eof_chunk, payload_header, Chunk};
use innohot_testbeds::{binaries_or_skip, innohot, tree, ServerBuilder};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chunk(stream: &mut Vec<u8>, path: &str, offset: u64, data: &[u8]) {
    stream.extend(payload_header(path, offset, data).unwrap());
    stream.extend_from_slice(data);
}

/// Runs `cmd` with `stream` on its stdin; its exit status and stderr. A
/// reader stops at the first chunk it refuses: a broken pipe then.
fn fed(mut cmd: Command, stream: &[u8]) -> (bool, String) {
    let mut child = cmd.stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the reader");
    let _ = child.stdin.take().unwrap().write_all(stream);
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `mbstream -x -C dir` on `stream`.
fn mbstream_x(mbstream: &Path, dir: &Path, stream: &[u8]) -> (bool, String) {
    let mut cmd = Command::new(mbstream);
    cmd.args(["-x", "-C"]).arg(dir);
    fed(cmd, stream)
}

/// `innohot extract -x -C dir` on `stream`.
fn innohot_extract(dir: &Path, stream: &[u8]) -> (bool, String) {
    let mut cmd = innohot!().command();
    cmd.args(["extract", "-x", "-C"]).arg(dir);
    fed(cmd, stream)
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

#[test]
fn innohot_extract_unpacks_mariabackups_stream_as_mbstream_does_and_refuses_it_cut_short() {
    let Some(b) = binaries_or_skip() else { return };
    let mbstream = b.mariabackup.with_file_name("mbstream");
    let src = ServerBuilder::new(b.clone()).start().expect("start the server");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&b.mariabackup)
        .arg("--backup")
        .arg("--stream=xbstream")
        .arg(format!("--target-dir={}", dir.path().join("tmp").display()))
        .arg(format!("--socket={}", src.socket().display()))
        .arg("--user=root")
        .output()
        .expect("run mariabackup");
    assert!(out.status.success(), "mariabackup --stream: {}", String::from_utf8_lossy(&out.stderr));
    let stream = out.stdout;

    let (theirs, ours) = (dir.path().join("mbstream"), dir.path().join("innohot"));
    std::fs::create_dir(&theirs).unwrap();
    let (ok, err) = mbstream_x(&mbstream, &theirs, &stream);
    assert!(ok, "{err}");
    let (ok, err) = innohot_extract(&ours, &stream);
    assert!(ok && err.trim_end().ends_with("completed OK!"), "{err}");
    let (a, b) = (tree::file_contents(&theirs), tree::file_contents(&ours));
    assert!(a.len() > 10, "a real backup has files: {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(a == b, "innohot extract gave other bytes than mbstream -x");

    // Cut after a chunk that is not its file's last: mbstream -x takes it.
    let mut at = 0;
    let mut cut = None;
    while let Some((chunk, len)) = decode(&stream[at..]).unwrap() {
        at += len;
        if let Chunk::Payload { path, .. } = chunk {
            if at > stream.len() / 2 && cut.is_none() {
                cut = Some((at, path.to_string()));
            }
        }
    }
    let (cut, open_file) = cut.expect("a payload chunk in the second half");
    let lax = dir.path().join("lax");
    std::fs::create_dir(&lax).unwrap();
    let (ok, _) = mbstream_x(&mbstream, &lax, &stream[..cut]);
    assert!(ok, "mbstream -x accepts a stream cut between two chunks (the gap innohot closes)");
    let (ok, err) = innohot_extract(&dir.path().join("cut"), &stream[..cut]);
    assert!(!ok && err.contains("ends before the end of") && err.contains(&open_file), "{err}");
    let (ok, err) = innohot_extract(&dir.path().join("cut2"), &stream[..cut + 7]);
    assert!(!ok && err.contains("ends inside a chunk"), "{err}");
}
