//! Writer threads whose statements a test writes itself, for loads that
//! [`crate::Workload`]'s fixed tables cannot give (a test's own tables,
//! sequences, statements paced or bounded in its own way). The threads, their
//! connections, the stop flag, the count and the retry of deadlocks are
//! written once here.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

/// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: rolled back and tried again.
const RETRYABLE: &[u16] = &[1213, 1205];

/// Running writer threads; dropping them stops and joins them.
pub struct Writers {
    stop: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Result<u64, String>>>,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers").field("threads", &self.threads.len()).field("ops", &self.ops()).finish()
    }
}

impl Writers {
    /// `threads` writers, each on its own connection to `opts` (sessions
    /// with `innodb_lock_wait_timeout = 10, lock_wait_timeout = 60`). Writer
    /// `w` runs the step `make(w)` with n = 0, 1, 2, ... until asked to stop
    /// or until the step returns `Ok(false)` (it is done). A deadlock or lock
    /// wait timeout rolls back and runs the same step again; any other error
    /// ends that writer, and [`Writers::stop`] / [`Writers::wait`] fail with it.
    pub fn start<M, S>(opts: Opts, threads: usize, make: M) -> Writers
    where
        M: Fn(usize) -> S,
        S: FnMut(&mut Conn, u64) -> mysql::Result<bool> + Send + 'static,
    {
        Self::start_at_least(opts, threads, 0, make)
    }

    /// [`Writers::start`], each writer running at least `min_steps` steps even
    /// when asked to stop sooner.
    pub fn start_at_least<M, S>(opts: Opts, threads: usize, min_steps: u64, make: M) -> Writers
    where
        M: Fn(usize) -> S,
        S: FnMut(&mut Conn, u64) -> mysql::Result<bool> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let threads = (0..threads)
            .map(|w| {
                let (opts, stop, ops, step) = (opts.clone(), Arc::clone(&stop), Arc::clone(&ops), make(w));
                std::thread::spawn(move || write_loop(opts, w, min_steps, &stop, &ops, step))
            })
            .collect();
        Writers { stop, ops, threads }
    }

    /// Steps done so far, by all writers.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::SeqCst)
    }

    /// Waits until the writers have done `n` steps (real threads on a real
    /// server: polled); panics after `limit`.
    pub fn wait_for_ops(&self, n: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.ops() < n {
            assert!(Instant::now() < deadline, "the writers did only {} steps in {limit:?}", self.ops());
            assert!(!self.threads.iter().all(|t| t.is_finished()), "the writers ended after {} steps", self.ops());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks the writers to stop, joins them; the steps they did. Panics with
    /// the first writer's error.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.wait()
    }

    /// Waits for the writers to end by themselves; the steps they did. Panics
    /// with the first writer's error.
    pub fn wait(mut self) -> u64 {
        let mut total = 0;
        for h in self.threads.drain(..) {
            match h.join() {
                Ok(Ok(n)) => total += n,
                Ok(Err(e)) => panic!("{e}"),
                Err(_) => panic!("a writer thread panicked"),
            }
        }
        total
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

fn write_loop<S>(
    opts: Opts,
    w: usize,
    min_steps: u64,
    stop: &AtomicBool,
    ops: &AtomicU64,
    mut step: S,
) -> Result<u64, String>
where
    S: FnMut(&mut Conn, u64) -> mysql::Result<bool>,
{
    let mut conn = Conn::new(opts).map_err(|e| format!("writer {w}: connecting: {e}"))?;
    conn.query_drop("SET SESSION innodb_lock_wait_timeout = 10, lock_wait_timeout = 60")
        .map_err(|e| format!("writer {w}: session settings: {e}"))?;
    let mut n = 0;
    while n < min_steps || !stop.load(Ordering::SeqCst) {
        match step(&mut conn, n) {
            Ok(more) => {
                n += 1;
                ops.fetch_add(1, Ordering::SeqCst);
                if !more {
                    break;
                }
            }
            Err(mysql::Error::MySqlError(e)) if RETRYABLE.contains(&e.code) => {
                let _ = conn.query_drop("ROLLBACK");
            }
            Err(e) => return Err(format!("writer {w}, step {n}: {e}")),
        }
    }
    Ok(n)
}
