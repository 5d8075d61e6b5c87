//! How the data files and the redo are copied, and what an incremental copies.

use super::Kind::{Flag, Value};
use super::OptionSpec;
use crate::options::values::{flush_method, max_impact, pacing, parallel};
use innohot::server::HistoryRow;

/// In the order the command line applies them (see `table`).
pub static COPY: &[OptionSpec] = &[
    OptionSpec::new(
        "parallel",
        Value("N"),
        "Data-file copy lanes: files, and ranges of large files, copied at once (default 1)",
        |a, v| {
            a.options.copy.parallel = parallel(v.number()?)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "throttle",
        Value("auto|MIB_PER_S"),
        "How fast the data files are read before the lock: auto (the default) paces the copy by the \
         server's own throughput (see --max-impact) and goes at full speed while the server is idle; N: at \
         most N MiB per second, all lanes together; 0: no limit. Note: xtrabackup's --throttle counts \
         chunks, not MiB",
        |a, v| {
            a.options.copy.pacing = pacing(v.need()?, a.options.copy.pacing)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "max-impact",
        Value("PERCENT"),
        "With --throttle=auto: the share (percent) of its pre-backup row operations per second the server \
         may lose while the data files are copied (default 40)",
        |a, v| {
            a.options.copy.pacing = max_impact(v.number()?, a.options.copy.pacing)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "range-size",
        Value("BYTES"),
        "Files larger than this are copied as ranges of this size on several lanes (default 64 MiB; only \
         with --parallel above 1)",
        |a, v| {
            a.options.copy.range_size = v.number()?;
            Ok(())
        },
    ),
    OptionSpec::new("chunk-size", Value("BYTES"), "Bytes read per data-file chunk (default 1 MiB)", |a, v| {
        a.options.copy.chunk_size = v.number()?;
        Ok(())
    }),
    OptionSpec::new(
        "page-retries",
        Value("N"),
        "Re-reads of a chunk with a torn page before the backup fails (default 10)",
        |a, v| {
            a.options.copy.page_retries = v.number()?;
            Ok(())
        },
    ),
    OptionSpec::new("retry-delay-ms", Value("MS"), "Wait between re-reads of a torn page (default 100)", |a, v| {
        a.options.copy.retry_delay = v.millis()?;
        Ok(())
    }),
    OptionSpec::new(
        "log-poll-ms",
        Value("MS"),
        "Copy new redo exactly this often (default: adaptive, from 2 ms while the server writes up to the \
         time the redo log takes to refill at 256 MiB/s, at most 1 s)",
        |a, v| {
            a.options.log_poll_interval = v.millis()?;
            a.options.log_poll_fixed = true;
            Ok(())
        },
    ),
    OptionSpec::new(
        "innodb-flush-method",
        Value("METHOD"),
        "mariabackup's way to read the data files: O_DIRECT or O_DIRECT_NO_FSYNC read them with O_DIRECT \
         (as --direct), fsync, O_DSYNC, littlesync, nosync through the page cache",
        |a, v| {
            a.options.copy.read_policy.direct = flush_method(v.need()?)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "direct",
        Flag,
        "Read data files with O_DIRECT (the default reads through the page cache with read-ahead and drops \
         each chunk behind the copy)",
        |a, _| {
            a.options.copy.read_policy.direct = true;
            Ok(())
        },
    )
    .conflicts(&["no-direct"]),
    OptionSpec::new(
        "no-direct",
        Flag,
        "Read data files through the page cache (the default; kept for scripts)",
        |a, _| {
            a.options.copy.read_policy.direct = false;
            Ok(())
        },
    ),
    OptionSpec::new("no-fadvise", Flag, "No posix_fadvise on data files", |a, _| {
        a.options.copy.read_policy.fadvise = false;
        Ok(())
    }),
    OptionSpec::new(
        "extra-lsndir",
        Value("DIR"),
        "Also write xtrabackup_checkpoints and xtrabackup_info into DIR (replacing those there)",
        |a, v| {
            a.extra_lsndir = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "incremental-basedir",
        Value("DIR"),
        "An incremental backup over the backup in DIR (or its --extra-lsndir): only the pages changed since \
         its to_lsn are copied, as NAME.delta and NAME.meta",
        |a, v| {
            a.incremental.0 = Some(v.path()?);
            Ok(())
        },
    )
    .conflicts(&["incremental-lsn"]),
    OptionSpec::new(
        "incremental-lsn",
        Value("LSN"),
        "An incremental backup of the pages changed since LSN (the base's to_lsn)",
        |a, v| {
            a.incremental.1 = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "incremental-history-name",
        Value("NAME"),
        "An incremental backup over the newest backup recorded with --history=NAME in the server's history \
         table",
        |a, v| {
            a.incremental.2 = Some(HistoryRow::Name(v.string()?));
            Ok(())
        },
    )
    .conflicts(&["incremental-history-uuid"]),
    OptionSpec::new(
        "incremental-history-uuid",
        Value("UUID"),
        "An incremental backup over the backup whose history row has this uuid",
        |a, v| {
            a.incremental.2 = Some(HistoryRow::Uuid(v.string()?));
            Ok(())
        },
    ),
    no_op!(
        "incremental",
        "innobackupex's flag for an incremental backup: it is one when a base is given \
         (--incremental-basedir, -lsn or -history-name/-uuid)",
    ),
    no_op!(
        "incremental-force-scan",
        "Accepted for mariabackup's scripts: an incremental always reads every page (as mariabackup \
         10.11's does)",
    ),
    OptionSpec::new("log-copy-interval", Value("MS"), "mariabackup's name for --log-poll-ms", |a, v| {
        a.options.log_poll_interval = v.millis()?;
        a.options.log_poll_fixed = true;
        Ok(())
    }),
];
