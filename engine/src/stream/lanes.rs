//! `innohot extract --parallel N`: the stream read and its chunks decoded on
//! one thread, the files written (and decompressed) by N lanes. Each file
//! always goes to the same lane, so its chunks keep their order, and a lane
//! holds at most a few chunks in its queue (memory stays bounded whatever
//! the stream's size).

use super::extract::{ExtractError, ExtractReport, Extractor, Files};
use crate::format::xbstream::{self, Chunk};
use crate::io::TargetDir;
use std::io::Read;
use std::sync::mpsc::{sync_channel, SyncSender};

/// Chunks waiting per lane.
const QUEUE: usize = 4;
/// Bytes read from the input at once.
const READ: usize = 1 << 20;

/// How to extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Writer lanes (1: everything on the calling thread).
    pub lanes: usize,
    /// `NAME.zst` written as `NAME`, decompressed.
    pub decompress: bool,
}

enum Job {
    Write { path: String, offset: u64, data: Vec<u8> },
    Close { path: String },
}

/// Reads the whole stream from `input` into `target`.
pub fn extract(target: &dyn TargetDir, input: &mut dyn Read, o: ExtractOptions) -> Result<ExtractReport, ExtractError> {
    if o.lanes <= 1 {
        let mut e = Extractor::new(target);
        if o.decompress {
            e = e.decompressing();
        }
        let mut buf = vec![0u8; READ];
        while let Some(n) = read_some(input, &mut buf)? {
            e.feed(&buf[..n])?;
        }
        return e.finish();
    }
    std::thread::scope(|s| {
        let (senders, lanes): (Vec<_>, Vec<_>) = (0..o.lanes)
            .map(|_| {
                let (tx, rx) = sync_channel::<Job>(QUEUE);
                let lane = s.spawn(move || {
                    let mut files = Files::new(target, o.decompress);
                    for job in rx {
                        match job {
                            Job::Write { path, offset, data } => files.write(&path, offset, &data)?,
                            Job::Close { path } => files.close(&path)?,
                        }
                    }
                    Ok::<_, ExtractError>(files)
                });
                (tx, lane)
            })
            .unzip();
        let read = dispatch(input, &senders);
        drop(senders);
        let mut done = Vec::new();
        let mut lane_error = None;
        for lane in lanes {
            match lane.join().expect("an extract lane panicked") {
                Ok(files) => done.push(files),
                Err(e) => lane_error = lane_error.or(Some(e)),
            }
        }
        // A lane's own error explains a read loop that stopped early.
        if let Some(e) = lane_error {
            return Err(e);
        }
        let (stream_bytes, skipped, pending) = read?;
        merge(done, stream_bytes, skipped, pending)
    })
}

fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> Result<Option<usize>, ExtractError> {
    loop {
        match input.read(buf) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ExtractError::Read(e)),
        }
    }
}

/// Decodes the stream and hands each chunk to its file's lane; returns the
/// stream bytes read, the chunks skipped and the bytes of a chunk left cut.
fn dispatch(input: &mut dyn Read, lanes: &[SyncSender<Job>]) -> Result<(u64, u64, usize), ExtractError> {
    let (mut pending, mut buf) = (Vec::new(), vec![0u8; READ]);
    let (mut stream_bytes, mut skipped) = (0u64, 0u64);
    while let Some(n) = read_some(input, &mut buf)? {
        pending.extend_from_slice(&buf[..n]);
        let mut used = 0;
        while let Some((chunk, len)) =
            xbstream::decode(&pending[used..]).map_err(|source| ExtractError::Format { at: stream_bytes, source })?
        {
            let (path, job) = match chunk {
                Chunk::Payload { path, offset, data } => {
                    (path, Job::Write { path: path.to_string(), offset, data: data.to_vec() })
                }
                Chunk::Eof { path } => (path, Job::Close { path: path.to_string() }),
                Chunk::Skipped { .. } => {
                    skipped += 1;
                    used += len;
                    stream_bytes += len as u64;
                    continue;
                }
            };
            if lanes[lane_of(path, lanes.len())].send(job).is_err() {
                // That lane failed: its error is the one to report.
                return Ok((stream_bytes, skipped, 0));
            }
            used += len;
            stream_bytes += len as u64;
        }
        pending.drain(..used);
    }
    Ok((stream_bytes, skipped, pending.len()))
}

/// FNV-1a of the path: the same lane for every chunk of a file.
fn lane_of(path: &str, lanes: usize) -> usize {
    let hash = path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    (hash % lanes as u64) as usize
}

fn merge(lanes: Vec<Files>, stream_bytes: u64, skipped: u64, pending: usize) -> Result<ExtractReport, ExtractError> {
    if pending > 0 {
        return Err(ExtractError::CutInsideChunk { left: pending });
    }
    let mut report = ExtractReport { stream_bytes, skipped_chunks: skipped, ..ExtractReport::default() };
    let mut open = Vec::new();
    for files in lanes {
        open.extend(files.open.into_keys());
        report.files.extend(files.report.files);
        report.crcs.extend(files.report.crcs);
        report.decompressed += files.report.decompressed;
    }
    if !open.is_empty() {
        open.sort();
        return Err(ExtractError::FilesLeftOpen { open });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::real::RealTargetDir;
    use crate::io::LocalFs;
    use crate::stream::{StreamOptions, StreamTarget};
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Bytes(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Bytes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn stream(compress: bool) -> Vec<u8> {
        let out = Bytes::default();
        let compress = compress.then(crate::stream::compress::Compression::default);
        let t =
            StreamTarget::with_options(Box::new(out.clone()), "s", "h", StreamOptions { chunk_limit: 1000, compress })
                .unwrap();
        let files: Vec<Box<dyn crate::io::TargetFile>> =
            (0..9).map(|i| t.create_file(Path::new(&format!("db/t{i}.ibd"))).unwrap()).collect();
        for (i, mut f) in files.into_iter().enumerate() {
            f.write_at(&vec![i as u8; 2500 + i], 0).unwrap();
        }
        t.finish(&[]).unwrap();
        let b = out.0.lock().unwrap().clone();
        b
    }

    fn run(bytes: &[u8], o: ExtractOptions) -> (tempfile::TempDir, Result<ExtractReport, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let target = RealTargetDir::create(&dir.path().join("x"), false).unwrap();
        let r = extract(&target, &mut &bytes[..], o);
        (dir, r)
    }

    #[test]
    fn lanes_extract_what_one_thread_does() {
        for compress in [false, true] {
            let s = stream(compress);
            let (_, one) = run(&s, ExtractOptions { lanes: 1, decompress: compress });
            let (dir, three) = run(&s, ExtractOptions { lanes: 3, decompress: compress });
            assert_eq!(one.unwrap(), three.unwrap());
            let t5 = crate::io::local::RealLocalFs.read_all(&dir.path().join("x/db/t5.ibd")).unwrap();
            assert_eq!(t5, vec![5u8; 2505]);
        }
    }

    #[test]
    fn lanes_refuse_a_cut_stream_and_a_damaged_one_as_one_thread_does() {
        let s = stream(false);
        let o = ExtractOptions { lanes: 2, decompress: false };
        assert!(matches!(run(&s[..s.len() - 3], o).1, Err(ExtractError::CutInsideChunk { .. })));
        let mut bad = s.clone();
        let at = s.len() / 2;
        bad[at] ^= 0xff;
        assert!(run(&bad, o).1.is_err());
        let cut_between = s.len() - xbstream::eof_chunk("innohot_manifest").unwrap().len();
        assert!(matches!(run(&s[..cut_between], o).1, Err(ExtractError::FilesLeftOpen { .. })));
    }
}
