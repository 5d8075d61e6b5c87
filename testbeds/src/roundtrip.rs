//! Pieces of a backup round trip shared by the real-server tests: the
//! binlog position a backup recorded, replaying the source's binlog from it
//! into a restored server, comparing checksums, and waiting until a server
//! has written every dirty page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::{io_err, mariabackup, sql_err, Binaries, Error, LocalServer, Result, ServerBuilder, TestServer};

/// `(file, position)` from a backup's `xtrabackup_binlog_info`
/// (`mysql-bin.000003\t1234[\tgtid]`).
pub fn binlog_info(backup_dir: &Path) -> Result<(String, u64)> {
    let path = backup_dir.join("xtrabackup_binlog_info");
    let text = std::fs::read_to_string(&path).map_err(io_err(format!("reading {}", path.display())))?;
    let mut fields = text.trim_end().split('\t');
    let file = fields.next().filter(|f| !f.is_empty());
    let pos = fields.next().and_then(|p| p.parse::<u64>().ok());
    match (file, pos) {
        (Some(file), Some(pos)) => Ok((file.to_string(), pos)),
        _ => Err(Error::Unexpected { detail: format!("{} holds no `file<TAB>position`: {text:?}", path.display()) }),
    }
}

/// Replays `source`'s binary log from `from` (as [`binlog_info`] gives it)
/// into `restored`: `mariadb-binlog --start-position=POS FILE... | mariadb
/// --binary-mode`. The source's binlog files are read from its datadir, so
/// the source may be stopped already. Either may be any testbed (the
/// client and `mariadb-binlog` of this host are used).
pub fn replay_binlog(source: &impl TestServer, from: &(String, u64), restored: &impl TestServer) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(source.datadir())
        .map_err(io_err(format!("listing {}", source.datadir().display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            n.starts_with("mysql-bin.")
                && n["mysql-bin.".len()..].bytes().all(|c| c.is_ascii_digit())
                && n.as_str() >= from.0.as_str()
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Unexpected {
            detail: format!("no binlog file from {} on in {}", from.0, source.datadir().display()),
        });
    }
    let located = Binaries::locate().ok();
    let binaries = restored.host_binaries().or(source.host_binaries()).or(located.as_ref());
    let client = binaries.and_then(|b| b.client.clone()).unwrap_or_else(|| PathBuf::from("mariadb"));
    let binlog_tool = binaries.and_then(|b| b.binlog_tool.clone()).unwrap_or_else(|| PathBuf::from("mariadb-binlog"));
    let mut dump = Command::new(&binlog_tool)
        .arg("--no-defaults")
        .arg(format!("--start-position={}", from.1))
        .args(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_err(format!("running {} (package mariadb-client, or a MySQL basedir)", binlog_tool.display())))?;
    let dump_out = dump.stdout.take().ok_or_else(|| Error::Unexpected { detail: "no stdout pipe".into() })?;
    let apply = Command::new(&client)
        .arg("--no-defaults")
        .arg("--binary-mode")
        .args(restored.endpoint().client_args())
        .arg("--user=root")
        .stdin(dump_out)
        .output()
        .map_err(io_err(format!("running {}", client.display())))?;
    let dumped = dump.wait_with_output().map_err(io_err("waiting for the binlog dumper"))?;
    // The client first: when it stops on an error, mariadb-binlog only sees SIGPIPE.
    if !apply.status.success() {
        return Err(Error::Command {
            what: format!("replaying the binlog with {}", client.display()),
            detail: format!("{}: {}", apply.status, String::from_utf8_lossy(&apply.stderr)),
        });
    }
    if !dumped.status.success() {
        return Err(Error::Command {
            what: binlog_tool.display().to_string(),
            detail: format!("{}: {}", dumped.status, String::from_utf8_lossy(&dumped.stderr)),
        });
    }
    Ok(())
}

/// Restores a backup into a fresh datadir as a user would:
/// `mariabackup --prepare`, `mariabackup --copy-back --datadir=DATADIR`
/// (DATADIR must be missing or empty), then starts a server on DATADIR with
/// `builder`'s options (give it the source's creation-time settings: page
/// size, undo tablespaces, plugins). The mariabackup logs go to
/// `BACKUP.prepare.log` and `BACKUP.copy-back.log` next to the backup.
pub fn prepare_copy_back_start(builder: ServerBuilder, backup_dir: &Path, datadir: &Path) -> Result<LocalServer> {
    let binaries = builder.binaries().clone();
    mariabackup::prepare(&binaries, backup_dir, &backup_dir.with_extension("prepare.log"))?;
    mariabackup::copy_back(&binaries, backup_dir, datadir, &backup_dir.with_extension("copy-back.log"))?;
    builder.start_on(datadir)
}

/// Prepares a chain of backups in place as a user would with mariabackup:
/// `mariabackup --prepare --target-dir=FULL`, then `mariabackup --prepare
/// --target-dir=FULL --incremental-dir=INC` for each incremental in
/// chain order (each one's base is the one before it). The logs go to
/// `FULL.prepare.log` and `INC.prepare.log` next to each backup. The
/// incrementals are consumed (see [`mariabackup::prepare_incremental`]);
/// FULL then holds the chain's last state, ready for
/// [`mariabackup::copy_back`].
pub fn prepare_chain(binaries: &Binaries, full: &Path, incrementals: &[&Path]) -> Result<()> {
    mariabackup::prepare(binaries, full, &full.with_extension("prepare.log"))?;
    for inc in incrementals {
        mariabackup::prepare_incremental(binaries, full, inc, &inc.with_extension("prepare.log"))?;
    }
    Ok(())
}

/// The tables whose checksums differ between `source` and `restored`, one
/// line each (empty when equal).
pub fn checksum_diff(source: &BTreeMap<String, u64>, restored: &BTreeMap<String, u64>) -> String {
    let mut out = String::new();
    for (t, v) in source {
        match restored.get(t) {
            Some(r) if r == v => {}
            Some(r) => out.push_str(&format!("  {t}: source {v}, restored {r}\n")),
            None => out.push_str(&format!("  {t}: missing from the restored server\n")),
        }
    }
    for t in restored.keys().filter(|t| !source.contains_key(*t)) {
        out.push_str(&format!("  {t}: only in the restored server\n"));
    }
    out
}

/// Panics unless `got` (a restored server's checksums) equals `want` (the
/// source's), naming every table that differs; `what` says which restore.
pub fn assert_same_checksums(want: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>, what: &str) {
    assert!(got == want, "{what}: the restored tables differ from the source's:\n{}", checksum_diff(want, got));
}

/// Have InnoDB write every dirty page (`innodb_max_dirty_pages_pct = 0`)
/// and wait until `Innodb_buffer_pool_pages_dirty` is 0, polling: the page
/// cleaner of a real server needs real time. The previous settings are put
/// back afterwards. Fails after `timeout`.
pub fn flush_dirty_pages(conn: &mut Conn, timeout: Duration) -> Result<()> {
    let (pct, lwm): (f64, f64) = conn
        .query_first("SELECT @@GLOBAL.innodb_max_dirty_pages_pct, @@GLOBAL.innodb_max_dirty_pages_pct_lwm")
        .map_err(sql_err("reading innodb_max_dirty_pages_pct"))?
        .ok_or_else(|| Error::Unexpected { detail: "no innodb_max_dirty_pages_pct".into() })?;
    conn.query_drop("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001, GLOBAL innodb_max_dirty_pages_pct = 0")
        .map_err(sql_err("SET GLOBAL innodb_max_dirty_pages_pct = 0"))?;
    let deadline = Instant::now() + timeout;
    let result = loop {
        let dirty: Option<(String, u64)> = conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            .map_err(sql_err("SHOW GLOBAL STATUS"))?;
        let dirty = dirty.map(|(_, n)| n).unwrap_or(u64::MAX);
        if dirty == 0 {
            break Ok(());
        }
        if Instant::now() >= deadline {
            break Err(Error::Server { detail: format!("{dirty} dirty pages left after {timeout:?}") });
        }
        sleep(Duration::from_millis(50));
    };
    conn.query_drop(format!(
        "SET GLOBAL innodb_max_dirty_pages_pct = {pct}, GLOBAL innodb_max_dirty_pages_pct_lwm = {lwm}"
    ))
    .map_err(sql_err("restoring innodb_max_dirty_pages_pct"))?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_info_reads_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("xtrabackup_binlog_info"), "mysql-bin.000002\t3456\t0-1-9\n").unwrap();
        assert_eq!(binlog_info(dir.path()).unwrap(), ("mysql-bin.000002".to_string(), 3456));
        std::fs::write(dir.path().join("xtrabackup_binlog_info"), "garbage\n").unwrap();
        assert!(binlog_info(dir.path()).is_err());
    }

    #[test]
    fn checksum_diff_names_every_difference() {
        let a: BTreeMap<String, u64> = [("d.a".to_string(), 1), ("d.b".to_string(), 2)].into();
        let b: BTreeMap<String, u64> = [("d.a".to_string(), 1), ("d.c".to_string(), 3)].into();
        assert_eq!(checksum_diff(&a, &a), "");
        let d = checksum_diff(&a, &b);
        assert!(d.contains("d.b: missing") && d.contains("d.c: only in the restored"), "{d}");
        assert!(!d.contains("d.a"), "{d}");
    }
}
