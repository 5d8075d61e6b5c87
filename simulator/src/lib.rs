//! innohot-simulator: a deterministic, seeded fake server (MySQL 5.7 or
//! MariaDB 10.11, see `config::Flavor`) and the oracle that checks every
//! backup taken of it.
//!
//! One seed fixes everything: the datadir, the server's writes, the order in
//! which server, log copier and orchestrator act, and simulated time. Same
//! seed, same bytes, same trace, same verdict.

pub mod clock;
pub mod config;
pub mod control;
pub mod crash;
pub mod datadir;
pub mod faults;
pub mod incremental;
pub mod mount;
pub mod oracle;
pub mod outcome;
pub mod redo;
pub mod rng;
pub mod run;
pub mod server;
pub mod shrink;
pub mod stamps;
pub mod stream;
pub mod sweep;
pub mod trace;
pub mod truth;

pub use config::SimConfig;
pub use oracle::Verdict;
pub use run::{run, run_seed, verified_backup, Outcome, RunOptions, RunReport};
