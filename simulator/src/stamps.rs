//! The simulated file system's clock for file times. The server's files are
//! real files, but their real mtime and ctime come from the wall clock, which
//! a simulated run does not follow: the backup compares them with simulated
//! time. So every change the server makes to a non-InnoDB file goes through
//! `FileTimes`, which does it and stamps the file with simulated time, as
//! coarse as the seed's file system tick (a write in the same tick leaves the
//! times as they were, as on a real file system). Size, device, inode and
//! birth time stay the real file's.

use crate::clock::{SimClock, SIM_EPOCH_UNIX};
use crate::rng::Rng;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The times of a file the server has not touched since the datadir was built: a day before the run.
pub const BUILT_NS: i128 = (SIM_EPOCH_UNIX as i128 - 86_400) * 1_000_000_000;

/// The seed's file system timestamp tick: nanosecond-exact, a jiffy, or coarse.
pub fn tick_ns(seed: u64) -> u64 {
    [1, 1_000_000, 4_000_000, 50_000_000][Rng::new(seed ^ 0x71C4_57A3).below(4) as usize]
}

/// The server's changes to non-InnoDB files, and the simulated times they left.
pub struct FileTimes {
    clock: SimClock,
    tick: u64,
    /// The run's directory as the server names it, and with every symlink resolved
    /// (the backup reads the datadir by its canonical path).
    root: PathBuf,
    canonical_root: PathBuf,
    /// (mtime, ctime) in Unix ns, by real path; files not here have `BUILT_NS`.
    times: Mutex<HashMap<PathBuf, (i128, i128)>>,
}

impl FileTimes {
    pub fn new(clock: SimClock, tick: u64, root: &Path) -> Self {
        let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        FileTimes { clock, tick: tick.max(1), root: root.to_path_buf(), canonical_root, times: Mutex::default() }
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Now, as the file system stamps it: the simulated clock cut to the tick.
    fn now(&self) -> i128 {
        let t = self.clock.now_nanos();
        SIM_EPOCH_UNIX as i128 * 1_000_000_000 + (t - t % self.tick) as i128
    }

    fn touch(&self, path: &Path, data_changed: bool) {
        let now = self.now();
        let mut times = self.times.lock().expect("file times");
        let e = times.entry(path.to_path_buf()).or_insert((BUILT_NS, BUILT_NS));
        if data_changed {
            e.0 = now;
        }
        e.1 = now;
    }

    /// (mtime, ctime) of a real path (the server's name for it, or the canonical one).
    pub fn times(&self, path: &Path) -> (i128, i128) {
        let named = match path.strip_prefix(&self.canonical_root) {
            Ok(rest) => self.root.join(rest),
            Err(_) => path.to_path_buf(),
        };
        self.times.lock().expect("file times").get(&named).copied().unwrap_or((BUILT_NS, BUILT_NS))
    }

    /// Creates or replaces a whole file.
    pub fn write(&self, path: &Path, data: &[u8]) {
        self.times.lock().expect("file times").remove(path);
        fs::write(path, data).expect("simulated server write to its temp dir");
        self.touch(path, true);
    }

    /// Appends to a file.
    pub fn append(&self, path: &Path, data: &[u8]) {
        let f = fs::OpenOptions::new().append(true).open(path).expect("simulated append");
        (&f).write_all(data).expect("simulated append");
        self.touch(path, true);
    }

    /// Writes in place (the size stays when the bytes fit).
    pub fn write_at(&self, path: &Path, data: &[u8], offset: u64) {
        let f = fs::OpenOptions::new().write(true).open(path).expect("simulated in-place write");
        f.write_all_at(data, offset).expect("simulated in-place write");
        self.touch(path, true);
    }

    /// rename(2): the data's mtime moves with it, the ctime is now. Missing `from` is fine.
    pub fn rename(&self, from: &Path, to: &Path) {
        if fs::rename(from, to).is_err() {
            return;
        }
        let mut times = self.times.lock().expect("file times");
        let (mtime, _) = times.remove(from).unwrap_or((BUILT_NS, BUILT_NS));
        times.insert(to.to_path_buf(), (mtime, self.now()));
    }

    /// unlink(2); a missing file is fine.
    pub fn remove(&self, path: &Path) {
        let _ = fs::remove_file(path);
        self.times.lock().expect("file times").remove(path);
    }
}
