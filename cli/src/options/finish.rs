//! What is settled once every source of options is merged: settings that depend on
//! several options, and the files some options name.

use super::{BackupArgs, BadOption, Protocol, ReadFile};
use crate::filter::NameFilter;
use innohot::server::mysql::SslMode;
use std::path::PathBuf;
use std::time::Duration;

/// Checks and derives what the merged options say, in the order a user meets the
/// problems: the connection, the partial backup, the lock, the copy, the output.
pub fn finish(out: &mut BackupArgs, innobackupex: bool, read_file: ReadFile) -> Result<(), BadOption> {
    if out.protocol == Some(Protocol::Tcp) {
        // As the clients do: a socket setting (from a shared [client] group, say) gives way.
        out.connect.socket = None;
        out.connect.host.get_or_insert_with(|| "127.0.0.1".to_string());
    }
    check_tls(out)?;
    partial_backup(out, read_file)?;
    if out.force_recovery {
        return Err(force_recovery_on_backup(innobackupex).into());
    }
    let (timeout, threshold, all_queries) = out.lock_wait;
    let (timeout, threshold) = (timeout.unwrap_or(0), threshold.unwrap_or(60));
    let all_queries = all_queries.unwrap_or(true);
    out.options.lock_wait = (timeout > 0).then_some(innohot::backup::LockWait { timeout, threshold, all_queries });
    if out.safe_slave.0 {
        out.safe_slave_backup = Some(Duration::from_secs(out.safe_slave.1.unwrap_or(300)));
    }
    if out.options.copy.range_size < 1 << 20 {
        return Err("--range-size must be at least 1048576 bytes (1 MiB)".into());
    }
    if out.options.copy.chunk_size == 0 {
        return Err("--chunk-size must be at least one page (16384 bytes is the smallest sensible value)".into());
    }
    compression(out)?;
    incremental(out, read_file)?;
    if out.stream && out.json {
        return Err("--json prints to stdout, which --stream=xbstream takes for the backup: leave out one".into());
    }
    if out.stream && out.target_dir.is_some() {
        out.warnings.push("--target-dir is not used with --stream: the backup goes to stdout".into());
    }
    if out.target_dir.is_none() && !out.stream {
        return Err("--target-dir is required: an empty or new directory for the backup (or --stream=xbstream)".into());
    }
    Ok(())
}

/// TLS settings that cannot work are refused before connecting; TLS asked for
/// over a Unix socket is not used, and a warning says so.
fn check_tls(out: &mut BackupArgs) -> Result<(), BadOption> {
    let tls = &out.connect.tls;
    let mode = tls.mode();
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity) && tls.ca.is_none() {
        return Err(format!(
            "--ssl-mode={} needs --ssl-ca=FILE, the CA that signed the server's certificate",
            mode.name()
        )
        .into());
    }
    if tls.cert.is_some() != tls.key.is_some() {
        return Err("--ssl-cert and --ssl-key go together: give both or neither".into());
    }
    if let (Some(socket), Some(port), true) = (&out.connect.socket, out.connect.port, mode.required()) {
        out.warnings.push(format!(
            "--ssl-mode={}: TLS cannot run over the Unix socket {} with innohot: connecting to 127.0.0.1:{port} \
             over TCP with TLS instead (innohot checks that server's @@socket is {})",
            mode.name(),
            socket.display(),
            socket.display()
        ));
    } else if out.connect.socket.is_some() && mode != SslMode::Disabled {
        out.warnings.push(format!(
            "--ssl-mode={}: TLS is not used over the Unix socket (the connection does not leave this host); \
             use --host and --port for a TLS connection",
            mode.name()
        ));
    }
    Ok(())
}

/// mariabackup's refusal of `--innodb-force-recovery` on a backup (its words, which scripts grep;
/// innobackupex's prepare is `--apply-log`).
fn force_recovery_on_backup(innobackupex: bool) -> String {
    let prepare = if innobackupex { "--apply-log" } else { "--prepare" };
    format!(
        "\"--innodb-force-recovery\" should only be used with \"{prepare}\": a backup reads a running server; \
         the option is for prepare's recovery"
    )
}

/// `--incremental-basedir` (its xtrabackup_checkpoints' `to_lsn`, as
/// mariabackup takes it) or `--incremental-lsn`: where the incremental starts.
fn incremental(out: &mut BackupArgs, read_file: ReadFile) -> Result<(), BadOption> {
    // mariabackup's order: the LSN, else the base directory, else the history.
    let (basedir, lsn, history) = std::mem::take(&mut out.incremental);
    if basedir.is_none() && lsn.is_none() {
        out.options.incremental_history = history;
        return Ok(());
    }
    out.options.copy.incremental_from = match (basedir, lsn) {
        (None, None) => None,
        (_, Some(0)) => return Err("--incremental-lsn=0 is no base: take a full backup instead".into()),
        (_, Some(lsn)) => Some(lsn),
        (Some(dir), None) => Some(base_to_lsn(out, &dir, read_file)?),
    };
    Ok(())
}

/// The `to_lsn` of the backup in `dir`, and the base's undo tablespaces (from its backup-my.cnf).
fn base_to_lsn(out: &mut BackupArgs, dir: &std::path::Path, read_file: ReadFile) -> Result<u64, BadOption> {
    let file = dir.join(innohot::meta::CHECKPOINTS_FILE);
    let text = read_file(&file).map_err(|e| {
        let what = if dir.is_dir() { "has no readable" } else { "is no directory, so it has no" };
        format!(
            "--incremental-basedir={}: {} {what} {} ({e}): the base must be a completed backup (or its \
             --extra-lsndir)",
            dir.display(),
            dir.display(),
            innohot::meta::CHECKPOINTS_FILE
        )
    })?;
    let cp = innohot::restore::Checkpoints::parse(&text)
        .map_err(|e| format!("--incremental-basedir: {}: {e}", file.display()))?;
    // A base that is only an --extra-lsndir has no backup-my.cnf: nothing to compare.
    let cnf = read_file(&dir.join(innohot::meta::BACKUP_MY_CNF)).unwrap_or_default();
    out.options.incremental_base_undo = cnf
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "innodb_undo_tablespaces")
        .and_then(|(_, v)| v.trim().parse().ok());
    Ok(cp.to_lsn)
}

/// `--compress=zstd`, `--compress-zstd-level`, `--compress-threads` (the
/// command line's win over the option files').
fn compression(out: &mut BackupArgs) -> Result<(), BadOption> {
    let given = std::mem::take(&mut out.compress_given);
    let (level, threads) = (given.level, given.threads);
    // mariabackup's own `compress` (qpress) in an option file: that file serves mariabackup too.
    let algo = match given.file {
        Some(a) if a != "zstd" && given.command_line.is_none() => {
            out.warnings.push(format!(
                "compress{} in an option file ignored: that is mariabackup's qpress; innohot compresses with \
                 --compress=zstd",
                if a.is_empty() { String::new() } else { format!("={a}") }
            ));
            None
        }
        a => a,
    };
    let Some(algo) = given.command_line.or(algo) else {
        if level.is_some() || threads.is_some() {
            out.warnings.push("--compress-zstd-level and --compress-threads do nothing without --compress=zstd".into());
        }
        return Ok(());
    };
    if algo != "zstd" {
        let given = if algo.is_empty() { "--compress".to_string() } else { format!("--compress={algo}") };
        return Err(format!(
            "{given}: innohot compresses with zstd only (mariabackup's --compress is qpress): use --compress=zstd \
             (each file sent as NAME.zst, as XtraBackup 8.0 does)"
        )
        .into());
    }
    if !out.stream {
        return Err("--compress=zstd compresses a stream: add --stream=xbstream (a directory backup is not \
                    compressed)"
            .into());
    }
    let level = level.unwrap_or(1);
    if !(1..=19).contains(&level) {
        return Err(format!("--compress-zstd-level={level}: give 1 (fastest) to 19 (smallest)").into());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.unwrap_or(cores);
    if threads == 0 {
        return Err("--compress-threads=0: give at least 1".into());
    }
    out.compress = Some(innohot::stream::compress::Compression { level, threads });
    Ok(())
}

/// The partial backup's filter from the options (the command line's add to the
/// option files'), with its `--databases-file` and `--tables-file` read.
fn partial_backup(out: &mut BackupArgs, read_file: ReadFile) -> Result<(), BadOption> {
    let (databases_file, tables_file) = std::mem::take(&mut out.filter_files);
    let lines = |option: &str, path: &PathBuf| -> Result<Vec<String>, BadOption> {
        let text = read_file(path).map_err(|e| format!("--{option}={}: {e}", path.display()))?;
        Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
    };
    if let Some(path) = databases_file {
        out.filter.databases.extend(lines("databases-file", &path)?);
    }
    if let Some(path) = tables_file {
        out.filter.table_names.extend(lines("tables-file", &path)?);
    }
    if !out.filter.is_empty() {
        let rule = NameFilter::new(&out.filter)?;
        out.options.filter = innohot::backup::filter::Filter(Some(std::sync::Arc::new(rule)));
    }
    Ok(())
}
