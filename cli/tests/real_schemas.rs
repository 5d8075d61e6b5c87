//! Real schemas (issue 7): one round trip per InnoDB storage feature on real
//! MariaDB 10.11 servers. Each round trip: `innohot backup` while writer
//! threads change the feature's tables, `mariabackup --prepare`, restore
//! into a fresh datadir with `mariabackup --copy-back` (the source's DATA
//! DIRECTORY directories renamed aside first, so nothing can be read from
//! them), a server started on it with the source's options, the source's
//! binlog replayed from `xtrabackup_binlog_info`, then `CHECKSUM TABLE ...
//! EXTENDED` of every user table (system-versioned tables and sequences
//! included) and a few feature probes compared with the source's final
//! state. Features whose server options agree share one source server.
//! Besides: a planted omission (`--debug-skip-tablespace`) and an encrypted
//! tablespace must both fail the backup, naming the table.
//!
//! # Where mariabackup puts DATA DIRECTORY tablespaces (observed, 10.11.19)
//!
//! For `CREATE TABLE d.remote (...) DATA DIRECTORY='/r'` the server keeps
//! `/r/d/remote.ibd` and, in the datadir, `d/remote.isl`, a one-line text
//! file holding the absolute path `/r/d/remote.ibd` (no newline). Partitions
//! alike: `/r2/d/rpart#P#p0.ibd` and `d/rpart#P#p0.isl`.
//!
//! - `mariabackup --backup` copies the remote `.ibd` INTO THE BACKUP'S
//!   SCHEMA DIRECTORY, next to the `.isl`: the backup holds
//!   `d/remote.ibd` and `d/remote.isl` (the `.isl` verbatim, still pointing
//!   at `/r/d/remote.ibd`); `d/rpart#P#p0.ibd` and `d/rpart#P#p0.isl` for a
//!   partition. Nothing outside the target directory is written and no
//!   extra metadata file records the remote path: the `.isl` is the record.
//!   (A tablespace created inside the copied redo range is copied as
//!   `d/remote.new` instead, like any other table, and prepare settles it.)
//! - `mariabackup --prepare` leaves both files where they are.
//! - `mariabackup --copy-back --datadir=NEW` reads each `.isl` of the
//!   backup and copies the `.ibd` to the path written in it, creating the
//!   directories (`/r/d/remote.ibd`); the `.isl` goes to `NEW/d/remote.isl`
//!   unchanged. The restored server then opens the table at the original
//!   remote path. If a file already exists at that path, copy-back fails
//!   (`Can't create file '/r/d/remote.ibd' (errno: 17 "File exists")`), so
//!   a restore on the same machine needs the old remote files moved away.
//!
//! Run: `cargo test -p innohot-cli --test real_schemas` (as root, or a user
//! who can run mariadbd). `INNOHOT_KEEP_SERVER_DIRS=1` keeps the servers'
//! directories for a post-mortem.

#[path = "real_schemas/harness.rs"]
mod harness;

#[path = "real_schemas/formats.rs"]
mod formats;

#[path = "real_schemas/data_directory.rs"]
mod data_directory;

#[path = "real_schemas/features.rs"]
mod features;

#[path = "real_schemas/failures.rs"]
mod failures;
