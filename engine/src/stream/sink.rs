//! `innohot backup --stream=xbstream`: the backup's target directory as an
//! xbstream written front to back to one writer (stdout), read back by
//! `mbstream -x` or `innohot extract` into the files a directory backup holds.
//!
//! A stream cannot take a byte back. Every file is sent in order from its
//! first byte, so a write anywhere but at the file's next byte is refused by
//! name (the backup's writers never do that: docs/STREAMING.md). What a
//! directory backup does after the fact (remove a dropped table's copy,
//! rename a renamed one, copy a rebuilt one again) becomes a marker file that
//! prepare applies ([`crate::stream::markers`]). Files given their final name
//! by `publish` (`xtrabackup_checkpoints`) are held and sent at that moment.
//!
//! The stream starts with [`STREAM_HEAD`] and, only when the caller says the
//! backup completed ([`StreamTarget::finish`]), ends with [`MANIFEST`]: every
//! file's size and CRC-32. A reader that saw the head and no manifest knows
//! the stream is not a complete backup.

use super::compress::{self, Compression, ZST_SUFFIX};
use super::markers::{self, Ledger};
use crate::format::xbstream;
use crate::io::{TargetDir, TargetFile};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The most one chunk carries: mariabackup's figure. Bigger files take several.
pub const CHUNK_LIMIT: usize = 10 << 20;
/// The stream's first file: who wrote it and that a manifest ends it.
pub const STREAM_HEAD: &str = "innohot_stream";
/// The stream's last file, sent only for a completed backup.
pub const MANIFEST: &str = "innohot_manifest";

/// The stream's writer and what it has sent.
struct Shared {
    out: Mutex<Writer>,
    ledger: Mutex<Ledger>,
    /// Files the backup names for good with `publish`: held until then.
    held_names: Vec<String>,
    /// Small metadata files whose bytes are kept too ([`StreamTarget::kept`]).
    kept: Mutex<std::collections::HashMap<String, Vec<u8>>>,
    compress: Option<Compression>,
    chunk_limit: usize,
}

struct Writer {
    sink: Box<dyn Write + Send>,
    bytes: u64,
    /// The first write error: after it nothing more is sent.
    broken: Option<(io::ErrorKind, String)>,
}

impl Writer {
    fn send(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        if let Some((kind, msg)) = &self.broken {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        for p in parts {
            if let Err(e) = self.sink.write_all(p) {
                return Err(self.break_with(e));
            }
            self.bytes += p.len() as u64;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some((kind, msg)) = &self.broken {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        self.sink.flush().map_err(|e| self.break_with(e))
    }

    fn break_with(&mut self, e: io::Error) -> io::Error {
        let msg = if e.kind() == io::ErrorKind::BrokenPipe {
            "the stream's reader went away (broken pipe): the command reading the stream stopped or failed; \
             see its own error"
                .to_string()
        } else {
            format!("writing the stream: {e}")
        };
        self.broken = Some((e.kind(), msg.clone()));
        io::Error::new(e.kind(), msg)
    }
}

/// How a stream is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// The most bytes of a file one chunk carries (before compression).
    pub chunk_limit: usize,
    /// Each file but the head, the manifest and `xtrabackup_checkpoints` sent
    /// as `NAME.zst` (those three stay readable without a decompressor).
    pub compress: Option<Compression>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { chunk_limit: CHUNK_LIMIT, compress: None }
    }
}

/// A [`TargetDir`] whose files become an xbstream.
pub struct StreamTarget {
    shared: Arc<Shared>,
    label: PathBuf,
}

/// What a finished stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes written to the stream.
    pub stream_bytes: u64,
    /// Files in it (the manifest included).
    pub files: usize,
}

impl StreamTarget {
    /// A stream on `sink`, named `label` in messages ("xbstream on stdout").
    /// The head file is sent at once: a reader can tell an innohot stream
    /// from its first bytes.
    pub fn new(sink: Box<dyn Write + Send>, label: impl Into<PathBuf>, head: &str) -> io::Result<Self> {
        Self::with_options(sink, label, head, StreamOptions::default())
    }

    /// [`Self::new`] with compression, or smaller chunks (tests cover files
    /// of several chunks cheaply).
    pub fn with_options(
        sink: Box<dyn Write + Send>,
        label: impl Into<PathBuf>,
        head: &str,
        options: StreamOptions,
    ) -> io::Result<Self> {
        let StreamOptions { chunk_limit, compress } = options;
        let shared = Arc::new(Shared {
            out: Mutex::new(Writer { sink, bytes: 0, broken: None }),
            ledger: Mutex::new(Ledger::default()),
            held_names: vec![crate::meta::CHECKPOINTS_PENDING.to_string()],
            kept: Mutex::new(
                [crate::meta::CHECKPOINTS_FILE, crate::meta::INFO_FILE].map(|n| (n.to_string(), Vec::new())).into(),
            ),
            chunk_limit: chunk_limit.max(1),
            compress,
        });
        let target = StreamTarget { shared, label: label.into() };
        target.send_whole(STREAM_HEAD, head.as_bytes())?;
        Ok(target)
    }

    /// Sends the markers for what the backup took back, then the manifest
    /// (`facts` first, one `key = value` line each, then every file), and
    /// flushes. Call only once the backup completed: a stream without its
    /// manifest is an incomplete backup to every reader that checks.
    pub fn finish(&self, facts: &[(&str, String)]) -> io::Result<StreamSummary> {
        // A stream that broke on the way says so first.
        self.shared.out.lock().expect("stream writer").flush()?;
        self.send_markers()?;
        let manifest = {
            let ledger = self.shared.ledger.lock().expect("ledger");
            if let Some(open) = ledger.open_files().first() {
                return Err(io::Error::other(format!("{open} is still being written: the backup is not done")));
            }
            markers::manifest(&ledger, facts)
        };
        self.send_whole(MANIFEST, manifest.as_bytes())?;
        let mut out = self.shared.out.lock().expect("stream writer");
        out.flush()?;
        let files = self.shared.ledger.lock().expect("ledger").sent_count();
        Ok(StreamSummary { stream_bytes: out.bytes, files })
    }

    /// What the stream carried as `xtrabackup_checkpoints` or
    /// `xtrabackup_info` (for `--extra-lsndir`); None for other names.
    pub fn kept(&self, name: &str) -> Option<Vec<u8>> {
        self.shared.kept.lock().expect("kept files").get(name).cloned()
    }

    /// Bytes written so far.
    pub fn stream_bytes(&self) -> u64 {
        self.shared.out.lock().expect("stream writer").bytes
    }

    /// The markers for what the backup took back since the last call.
    fn send_markers(&self) -> io::Result<()> {
        let markers = self.shared.ledger.lock().expect("ledger").take_markers();
        for (name, contents) in markers {
            self.send_whole(&name, &contents)?;
        }
        Ok(())
    }

    fn send_whole(&self, name: &str, contents: &[u8]) -> io::Result<()> {
        self.shared.ledger.lock().expect("ledger").open(name)?;
        let mut f = StreamFile::new(self.shared.clone(), name.to_string());
        f.write_at(contents, 0)?;
        f.close()
    }
}

fn stream_name(rel: &Path) -> io::Result<String> {
    let name = rel.to_str().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{}: not UTF-8, a stream cannot name it", rel.display()))
    })?;
    if name.contains('\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?}: a line break in a file name")));
    }
    xbstream::check_path(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    Ok(name.to_string())
}

impl TargetDir for StreamTarget {
    /// A stream has no directories: each file names its own, and the reader
    /// creates them.
    fn create_dir_all(&self, _rel: &Path) -> io::Result<()> {
        Ok(())
    }

    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        let name = stream_name(rel)?;
        let sent_as = self.shared.ledger.lock().expect("ledger").open(&name)?;
        Ok(Box::new(StreamFile::new(self.shared.clone(), sent_as)))
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.shared.ledger.lock().expect("ledger").remove(&stream_name(rel)?)
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (stream_name(from)?, stream_name(to)?);
        let held = self.shared.ledger.lock().expect("ledger").rename(&from, &to)?;
        let Some(contents) = held else { return Ok(()) };
        // The DDL markers go before `xtrabackup_checkpoints`, as mariabackup
        // sends them: a stream that has the checkpoints has its markers, even
        // if it breaks before the manifest.
        self.send_markers()?;
        self.send_whole(&to, &contents)
    }

    /// Every file is sent when it is closed; this flushes the writer.
    fn sync_dir(&self, _rel: &Path) -> io::Result<()> {
        self.shared.out.lock().expect("stream writer").flush()
    }

    fn sync_file(&self, _rel: &Path) -> io::Result<()> {
        self.shared.out.lock().expect("stream writer").flush()
    }

    fn root(&self) -> &Path {
        &self.label
    }

    fn streams(&self) -> bool {
        true
    }

    fn compresses(&self) -> bool {
        self.shared.compress.is_some()
    }
}

/// One file being sent: bytes gather up to a chunk, then go out behind the
/// writer's lock, so files written by several lanes interleave chunk by chunk.
struct StreamFile {
    shared: Arc<Shared>,
    /// Its name in the stream, before compression.
    name: String,
    /// Its name on the wire: `name`, or `name.zst` when compressed.
    wire: String,
    compress: Option<Compression>,
    /// The file's bytes sent so far.
    sent: u64,
    /// What they took on the wire.
    wire_sent: u64,
    buf: Vec<u8>,
    crc: flate2::Crc,
    closed: bool,
}

impl StreamFile {
    fn new(shared: Arc<Shared>, name: String) -> Self {
        let plain = [STREAM_HEAD, MANIFEST, crate::meta::CHECKPOINTS_FILE].contains(&name.as_str());
        let compress = shared.compress.filter(|_| !plain);
        let wire = if compress.is_some() { format!("{name}{ZST_SUFFIX}") } else { name.clone() };
        StreamFile {
            shared,
            name,
            wire,
            compress,
            sent: 0,
            wire_sent: 0,
            buf: Vec::new(),
            crc: flate2::Crc::new(),
            closed: false,
        }
    }

    fn held(&self) -> bool {
        self.shared.held_names.contains(&self.name)
    }

    fn send_buffered(&mut self) -> io::Result<()> {
        if self.buf.is_empty() || self.held() {
            return Ok(());
        }
        if let Some(kept) = self.shared.kept.lock().expect("kept files").get_mut(&self.name) {
            kept.extend_from_slice(&self.buf);
        }
        let buf = std::mem::take(&mut self.buf);
        match self.compress {
            Some(c) => self.send_wire(&compress::compress(&buf, c)?)?,
            None => self.send_wire(&buf)?,
        }
        self.sent += buf.len() as u64;
        self.buf = buf;
        self.buf.clear();
        Ok(())
    }

    /// One chunk of the file as it goes on the wire (compressed or not).
    fn send_wire(&mut self, data: &[u8]) -> io::Result<()> {
        let header = xbstream::payload_header(&self.wire, self.wire_sent, data)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.shared.out.lock().expect("stream writer").send(&[&header, data])?;
        self.crc.update(data);
        self.wire_sent += data.len() as u64;
        Ok(())
    }

    /// The end chunk: the file is complete in the stream.
    fn close(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if self.held() {
            let contents = std::mem::take(&mut self.buf);
            return self.shared.ledger.lock().expect("ledger").hold(&self.name, contents);
        }
        self.send_buffered()?;
        if let Some(c) = self.compress.filter(|_| self.wire_sent == 0) {
            // An empty file is one empty frame: `zstd -d` refuses a file with none.
            self.send_wire(&compress::compress(&[], c)?)?;
        }
        let eof =
            xbstream::eof_chunk(&self.wire).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.shared.out.lock().expect("stream writer").send(&[&eof])?;
        self.shared.ledger.lock().expect("ledger").sent(&self.name, &self.wire, self.wire_sent, self.crc.sum());
        Ok(())
    }
}

impl TargetFile for StreamFile {
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        let next = self.sent + self.buf.len() as u64;
        if offset != next || self.closed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: a write at byte {offset} where the stream's next byte of the file is {next}: a stream is \
                     written front to back (an innohot bug: report it)",
                    self.name
                ),
            ));
        }
        let mut rest = data;
        while !rest.is_empty() {
            let room = self.shared.chunk_limit - self.buf.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.buf.extend_from_slice(now);
            rest = later;
            if self.buf.len() == self.shared.chunk_limit {
                self.send_buffered()?;
            }
        }
        Ok(())
    }

    /// The bytes written so far go into the stream and the writer is flushed.
    fn sync(&mut self) -> io::Result<()> {
        self.send_buffered()?;
        self.shared.out.lock().expect("stream writer").flush()
    }
}

impl Drop for StreamFile {
    /// Closing a file sends its end chunk. An error here breaks the writer,
    /// so every later write and [`StreamTarget::finish`] report it.
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            let mut out = self.shared.out.lock().expect("stream writer");
            if out.broken.is_none() {
                out.broken = Some((e.kind(), format!("{}: {e}", self.name)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::real::RealTargetDir;
    use crate::meta;
    use crate::stream::{parse_manifest, Extractor};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A reader that goes away after `left` bytes.
    struct GoesAway {
        left: usize,
    }
    impl Write for GoesAway {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let n = b.len().min(self.left);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn stream(chunk: usize) -> (Shared, StreamTarget) {
        let out = Shared::default();
        let t = StreamTarget::with_options(
            Box::new(out.clone()),
            "test stream",
            "head\n",
            StreamOptions { chunk_limit: chunk, compress: None },
        )
        .unwrap();
        (out, t)
    }

    fn extract(bytes: &[u8]) -> (tempfile::TempDir, crate::stream::ExtractReport) {
        let dir = tempfile::tempdir().unwrap();
        let target = RealTargetDir::create(&dir.path().join("x"), false).unwrap();
        let mut e = Extractor::new(&target);
        e.feed(bytes).unwrap();
        let report = e.finish().unwrap();
        (dir, report)
    }

    fn read(dir: &tempfile::TempDir, name: &str) -> Vec<u8> {
        use crate::io::LocalFs;
        crate::io::local::RealLocalFs.read_all(&dir.path().join("x").join(name)).unwrap()
    }

    #[test]
    fn interleaved_files_of_several_chunks_extract_whole_and_the_manifest_names_each() {
        let (out, t) = stream(5);
        let big: Vec<u8> = (0..23u8).collect();
        let mut a = t.create_file(Path::new("db/a.ibd")).unwrap();
        let mut b = t.create_file(Path::new("ibdata1")).unwrap();
        a.write_at(&big[..7], 0).unwrap();
        b.write_at(b"xyz", 0).unwrap();
        a.write_at(&big[7..], 7).unwrap();
        b.sync().unwrap();
        drop(a);
        drop(b);
        crate::io::write_durable(&t, Path::new("db/empty.opt"), b"").unwrap();
        let summary = t.finish(&[("to_lsn", "99".into())]).unwrap();
        let bytes = out.0.lock().unwrap().clone();
        assert_eq!(summary.stream_bytes, bytes.len() as u64);
        let (dir, report) = extract(&bytes);
        assert_eq!(read(&dir, "db/a.ibd"), big);
        assert_eq!(read(&dir, "ibdata1"), b"xyz");
        assert_eq!(read(&dir, STREAM_HEAD), b"head\n");
        let m = parse_manifest(&String::from_utf8(read(&dir, MANIFEST)).unwrap()).unwrap();
        assert_eq!(m.facts, [("to_lsn".to_string(), "99".to_string())]);
        assert_eq!(m.files["db/a.ibd"], (23, xbstream::crc32(&big)));
        assert_eq!(m.files["db/empty.opt"], (0, 0));
        // Every file but the manifest itself.
        assert_eq!(m.files.len() + 1, report.files.len());
        assert_eq!(summary.files, report.files.len());
    }

    #[test]
    fn a_write_anywhere_but_the_next_byte_is_refused_by_name() {
        let (_out, t) = stream(1 << 20);
        let mut f = t.create_file(Path::new("db/t.ibd")).unwrap();
        f.write_at(b"abcd", 0).unwrap();
        let gap = f.write_at(b"x", 8).unwrap_err();
        assert!(gap.to_string().contains("db/t.ibd: a write at byte 8 where"), "{gap}");
        assert!(f.write_at(b"x", 2).is_err());
        f.write_at(b"e", 4).unwrap();
    }

    #[test]
    fn checkpoints_are_sent_when_published_and_never_when_withdrawn() {
        let (out, t) = stream(1 << 20);
        let pending = Path::new(meta::CHECKPOINTS_PENDING);
        crate::io::write_durable(&t, pending, b"first").unwrap();
        t.remove_file(pending).unwrap();
        crate::io::write_durable(&t, pending, b"backup_type = full-backuped\n").unwrap();
        let before = out.0.lock().unwrap().len();
        assert_eq!(t.stream_bytes(), before as u64, "held, not sent");
        t.publish(pending, Path::new(meta::CHECKPOINTS_FILE)).unwrap();
        t.finish(&[]).unwrap();
        let (dir, report) = extract(&out.0.lock().unwrap());
        assert_eq!(read(&dir, meta::CHECKPOINTS_FILE), b"backup_type = full-backuped\n");
        assert_eq!(t.kept(meta::CHECKPOINTS_FILE).unwrap(), b"backup_type = full-backuped\n");
        assert_eq!(t.kept(STREAM_HEAD), None);
        assert!(!report.files.contains_key(meta::CHECKPOINTS_PENDING));
    }

    #[test]
    fn ddl_after_a_table_was_sent_ends_the_stream_with_mariabackups_markers() {
        let (out, t) = stream(1 << 20);
        for name in ["db/dropped.ibd", "db/renamed.ibd", "db/rebuilt.ibd"] {
            crate::io::write_durable(&t, Path::new(name), b"old").unwrap();
        }
        t.remove_file(Path::new("db/dropped.ibd")).unwrap();
        t.publish(Path::new("db/renamed.ibd"), Path::new("db2/now.ibd")).unwrap();
        t.remove_file(Path::new("db/rebuilt.ibd")).unwrap();
        crate::io::write_durable(&t, Path::new("db/rebuilt.ibd"), b"new").unwrap();
        crate::io::write_durable(&t, Path::new(meta::CHECKPOINTS_PENDING), b"cp").unwrap();
        t.publish(Path::new(meta::CHECKPOINTS_PENDING), Path::new(meta::CHECKPOINTS_FILE)).unwrap();
        // The markers went out before the checkpoints, once.
        let sent = out.0.lock().unwrap().clone();
        let at = |name: &str| sent.windows(name.len()).position(|w| w == name.as_bytes()).unwrap();
        assert!(at("db/dropped.del") < at(meta::CHECKPOINTS_FILE));
        t.finish(&[]).unwrap();
        let (dir, report) = extract(&out.0.lock().unwrap());
        assert_eq!(read(&dir, "db/dropped.del"), b"");
        assert_eq!(read(&dir, "db/renamed.ren"), b"db2/now");
        assert_eq!(read(&dir, "db/rebuilt.new"), b"new");
        assert!(!report.files.contains_key("db/rebuilt.del"));
    }

    #[test]
    fn a_reader_gone_fails_every_later_write_and_the_finish() {
        let t = StreamTarget::with_options(
            Box::new(GoesAway { left: 100 }),
            "s",
            "head",
            StreamOptions { chunk_limit: 16, compress: None },
        )
        .unwrap();
        let mut f = t.create_file(Path::new("db/t.ibd")).unwrap();
        let e = f.write_at(&[7u8; 200], 0).unwrap_err();
        assert!(e.to_string().contains("reader went away"), "{e}");
        drop(f);
        assert!(crate::io::write_durable(&t, Path::new("x"), b"1").is_err());
        assert!(t.finish(&[]).unwrap_err().to_string().contains("reader went away"));
    }

    #[test]
    fn a_compressed_stream_sends_zst_files_that_extract_decompressed_and_zstd_reads() {
        let out = Shared::default();
        let options = StreamOptions { chunk_limit: 3 << 20, compress: Some(Compression { level: 1, threads: 2 }) };
        let t = StreamTarget::with_options(Box::new(out.clone()), "s", "head\n", options).unwrap();
        let big: Vec<u8> = (0..(7u32 << 20)).map(|i| (i % 253) as u8).collect();
        crate::io::write_durable(&t, Path::new("ibdata1"), &big).unwrap();
        crate::io::write_durable(&t, Path::new("db/empty.frm"), b"").unwrap();
        crate::io::write_durable(&t, Path::new(meta::CHECKPOINTS_PENDING), b"to_lsn = 5\n").unwrap();
        t.publish(Path::new(meta::CHECKPOINTS_PENDING), Path::new(meta::CHECKPOINTS_FILE)).unwrap();
        t.finish(&[]).unwrap();
        let bytes = out.0.lock().unwrap().clone();
        assert!(bytes.len() < big.len() / 10, "compressed: {} bytes", bytes.len());
        // As sent: NAME.zst, each readable by zstd; the head, checkpoints and manifest plain.
        let (dir, report) = extract(&bytes);
        assert_eq!(zstd::stream::decode_all(&read(&dir, "ibdata1.zst")[..]).unwrap(), big);
        assert_eq!(zstd::stream::decode_all(&read(&dir, "db/empty.frm.zst")[..]).unwrap(), b"");
        assert_eq!(read(&dir, meta::CHECKPOINTS_FILE), b"to_lsn = 5\n");
        let m = parse_manifest(&String::from_utf8(read(&dir, MANIFEST)).unwrap()).unwrap();
        assert!(m.files.contains_key("ibdata1.zst") && m.files.contains_key(STREAM_HEAD));
        assert_eq!(
            crate::stream::check::check(&report, Some(&String::from_utf8(read(&dir, MANIFEST)).unwrap())).map(|_| ()),
            Ok(())
        );
        // Decompressed on the way in: NAME again.
        let dir = tempfile::tempdir().unwrap();
        let target = RealTargetDir::create(&dir.path().join("x"), false).unwrap();
        let mut e = Extractor::new(&target).decompressing();
        for piece in bytes.chunks(1 << 16) {
            e.feed(piece).unwrap();
        }
        let report = e.finish().unwrap();
        assert_eq!(report.decompressed, report.files.len() as u64 - 3);
        assert_eq!(read(&dir, "ibdata1"), big);
        assert_eq!(read(&dir, "db/empty.frm"), b"");
        assert_eq!(t.kept(meta::CHECKPOINTS_FILE).unwrap(), b"to_lsn = 5\n");
    }
}
