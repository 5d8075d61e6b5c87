//! Files in memory, for tests that step the engine by hand: one shared byte
//! vector that a test (the "server") keeps writing while the engine reads
//! it, or that the engine writes and the test inspects.

use super::{Clock, ManualClock};
use super::{SourceFile, TargetFile};
use crate::copy::{CopyStep, FileCopier};
use crate::error::Result;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A file's bytes, shared between the test and the engine.
#[derive(Debug, Clone, Default)]
pub struct MemFile {
    data: Arc<Mutex<Vec<u8>>>,
    syncs: Arc<AtomicUsize>,
}

impl MemFile {
    pub fn with(bytes: Vec<u8>) -> Self {
        Self::over(Arc::new(Mutex::new(bytes)))
    }
    /// A file over bytes the test already shares (and keeps writing).
    pub fn over(data: Arc<Mutex<Vec<u8>>>) -> Self {
        MemFile { data, syncs: Arc::default() }
    }
    pub fn bytes(&self) -> Vec<u8> {
        self.data.lock().expect("mem file").clone()
    }
    /// Replaces the whole content (a server rewriting the file).
    pub fn set(&self, bytes: Vec<u8>) {
        *self.data.lock().expect("mem file") = bytes;
    }
    /// Writes `data` at `offset`, growing the file as needed.
    pub fn write(&self, offset: usize, data: &[u8]) {
        let mut v = self.data.lock().expect("mem file");
        if v.len() < offset + data.len() {
            v.resize(offset + data.len(), 0);
        }
        v[offset..offset + data.len()].copy_from_slice(data);
    }
    /// How many times the engine made it durable.
    pub fn syncs(&self) -> usize {
        self.syncs.load(Ordering::SeqCst)
    }
}

impl SourceFile for MemFile {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = self.data.lock().expect("mem file");
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.data.lock().expect("mem file").len() as u64)
    }
    fn try_clone(&self) -> io::Result<Option<Box<dyn SourceFile>>> {
        Ok(Some(Box::new(self.clone())))
    }
}

impl TargetFile for MemFile {
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.write(offset as usize, data);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Steps a copier to its end on a hand-stepped clock (a retry waits on that
/// clock, never on the wall); returns the bytes copied and the retries seen.
pub fn copy_to_end(mut copier: FileCopier, clock: &ManualClock) -> (Result<u64>, u32) {
    let mut retries = 0;
    loop {
        match copier.step() {
            Ok(CopyStep::Copied { .. }) => {}
            Ok(CopyStep::RetryAt(t)) => {
                retries += 1;
                clock.sleep(t.saturating_sub(clock.now()));
            }
            Ok(CopyStep::Done { bytes, .. }) => return (Ok(bytes), retries),
            Err(e) => return (Err(e), retries),
        }
    }
}
