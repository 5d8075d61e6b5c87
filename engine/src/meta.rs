//! The metadata files users' scripts and `--prepare` read (docs/FORMATS.md §7).
//! Pure text builders; the orchestrator writes them durably.

use crate::format::Lsn;
use crate::server::{BinlogPos, ReplicaStatus, ServerVars};

pub const CHECKPOINTS_FILE: &str = "xtrabackup_checkpoints";
/// Where phase 20 makes the checkpoints file durable; phase 25 publishes it
/// under its real name, so a backup killed in between never looks complete.
pub const CHECKPOINTS_PENDING: &str = "xtrabackup_checkpoints.pending";
pub const BINLOG_INFO_FILE: &str = "xtrabackup_binlog_info";
pub const INFO_FILE: &str = "xtrabackup_info";
pub const SLAVE_INFO_FILE: &str = "xtrabackup_slave_info";
pub const BACKUP_MY_CNF: &str = "backup-my.cnf";
/// Left in the target by a backup that failed or was interrupted: its first
/// line names the reason; such a directory is never a usable backup.
pub const FAILED_MARKER: &str = "innohot_backup_failed";
/// The lock file `innohot prepare` holds in the backup while it runs (removed when
/// it ends; a killed prepare leaves it, holding nothing). Like every `innohot_*`
/// file it never goes to a datadir.
pub const PREPARE_LOCK: &str = "innohot_prepare.lock";

/// Reads back what these builders write: the `key = value` lines of
/// xtrabackup_checkpoints, xtrabackup_info and backup-my.cnf (comments and
/// `[group]` lines skipped, surrounding double quotes taken off a value).
pub fn key_values(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// `xtrabackup_checkpoints` of a full backup.
pub fn checkpoints(to_lsn: Lsn, last_lsn: Lsn) -> String {
    checkpoints_from(None, to_lsn, last_lsn)
}

/// `xtrabackup_checkpoints` of a full backup, or of an incremental one from
/// `from_lsn` (its base's `to_lsn`).
pub fn checkpoints_from(from_lsn: Option<Lsn>, to_lsn: Lsn, last_lsn: Lsn) -> String {
    format!(
        "{}to_lsn = {to_lsn}\nlast_lsn = {last_lsn}\ncompact = 0\nrecover_binlog_info = 0\n",
        checkpoints_head(from_lsn)
    )
}

/// The first two lines of `xtrabackup_checkpoints`: what the backup is and where it starts.
pub fn checkpoints_head(from_lsn: Option<Lsn>) -> String {
    match from_lsn {
        None => "backup_type = full-backuped\nfrom_lsn = 0\n".to_string(),
        Some(from) => format!("backup_type = incremental\nfrom_lsn = {from}\n"),
    }
}

/// `xtrabackup_binlog_info`: file, position and (when there is one) the GTID set.
pub fn binlog_info(pos: &BinlogPos) -> String {
    if pos.gtid.is_empty() {
        format!("{}\t{}\n", pos.file, pos.position)
    } else {
        format!("{}\t{}\t{}\n", pos.file, pos.position, pos.gtid)
    }
}

/// The `binlog_pos` value of `xtrabackup_info`, also printed in the report.
pub fn binlog_pos_text(pos: &BinlogPos) -> String {
    let mut s = format!("filename '{}', position '{}'", pos.file, pos.position);
    if !pos.gtid.is_empty() {
        s.push_str(&format!(", GTID of the last change '{}'", pos.gtid));
    }
    s
}

/// What mariabackup 10.11 logs when `--slave-info` finds no replication connection (then no
/// `xtrabackup_slave_info` is written and the backup goes on).
pub const NOT_A_REPLICA: &str = "Failed to get master binlog coordinates from SHOW SLAVE STATUS.This means that the \
                                 server is not a replication slave. Ignoring the --slave-info option";

/// `--galera-info`: the Galera node's state under the lock, `UUID:SEQNO`.
pub const GALERA_INFO_FILE: &str = "xtrabackup_galera_info";

/// What mariabackup 10.11 logs when `--galera-info` finds no Galera state
/// (then no `xtrabackup_galera_info` is written and the backup goes on).
pub const NOT_A_GALERA_NODE: &str = "Warning: failed to get master wsrep state from SHOW STATUS.";

/// `--slave-info`: the text of `xtrabackup_slave_info` (statements that point a clone of this
/// replica at its masters) and the log line, as mariabackup 10.11 writes them; None when the
/// server has no replication connection. A connection replicates by GTID when `@@gtid_slave_pos`
/// is set and its Using_Gtid is not `No`; otherwise by the master's file and executed position.
pub fn slave_info(status: &ReplicaStatus) -> Option<(String, String)> {
    if status.connections.is_empty() {
        return None;
    }
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
    let by_gtid = |using: &str| !status.gtid_slave_pos.is_empty() && !using.starts_with("No");
    let any_gtid = status.connections.iter().any(|c| by_gtid(&c.using_gtid));
    let (mut file, mut log) = (String::new(), Vec::new());
    if any_gtid {
        file.push_str(&format!("SET GLOBAL gtid_slave_pos = '{}';\n", quote(&status.gtid_slave_pos)));
        log.push(format!("gtid_slave_pos '{}'", status.gtid_slave_pos));
    }
    for c in &status.connections {
        let change = match c.name.as_str() {
            "" => "CHANGE MASTER TO".to_string(),
            name => format!("CHANGE MASTER '{}' TO", quote(name)),
        };
        if by_gtid(&c.using_gtid) {
            file.push_str(&format!("{change} master_use_gtid = slave_pos;\n"));
            log.push(format!("master '{}' master_use_gtid = slave_pos", c.name));
        } else {
            let (f, p) = (&c.master_file, &c.master_position);
            file.push_str(&format!("{change} MASTER_LOG_FILE='{}', MASTER_LOG_POS={};\n", quote(f), quote(p)));
            log.push(format!("master '{}' filename '{f}' position '{p}'", c.name));
        }
    }
    Some((file, format!("MySQL slave binlog position: {}", log.join("; "))))
}

/// The history table's columns (mariabackup's and XtraBackup's `--history`).
pub const HISTORY_COLUMNS: &str = "uuid VARCHAR(40) NOT NULL PRIMARY KEY, name VARCHAR(255) DEFAULT NULL, \
     tool_name VARCHAR(255) DEFAULT NULL, tool_command TEXT DEFAULT NULL, tool_version VARCHAR(255) DEFAULT NULL, \
     ibbackup_version VARCHAR(255) DEFAULT NULL, server_version VARCHAR(255) DEFAULT NULL, \
     start_time TIMESTAMP NULL DEFAULT NULL, end_time TIMESTAMP NULL DEFAULT NULL, \
     lock_time BIGINT UNSIGNED DEFAULT NULL, binlog_pos VARCHAR(128) DEFAULT NULL, \
     innodb_from_lsn BIGINT UNSIGNED DEFAULT NULL, innodb_to_lsn BIGINT UNSIGNED DEFAULT NULL, \
     partial ENUM('Y','N') DEFAULT NULL, incremental ENUM('Y','N') DEFAULT NULL, \
     format ENUM('file','tar','mbstream') DEFAULT NULL, compressed ENUM('Y','N') DEFAULT NULL";

/// Everything `xtrabackup_info` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub uuid: String,
    /// `--history=NAME`'s name (empty without one).
    pub name: String,
    /// The command line with passwords masked (see `mask_secrets`).
    pub tool_command: String,
    pub tool_name: String,
    pub tool_version: String,
    pub server_version: String,
    pub start_unix: u64,
    pub end_unix: u64,
    /// Seconds the read lock was held.
    pub lock_seconds: u64,
    pub binlog: Option<BinlogPos>,
    pub from_lsn: Lsn,
    pub to_lsn: Lsn,
    /// Some tables only (`--databases`, `--tables`, ...).
    pub partial: bool,
    /// Written as an xbstream (`--stream=xbstream`) rather than into a directory.
    pub streamed: bool,
    /// Its files compressed (`--compress=zstd`).
    pub compressed: bool,
}

impl BackupInfo {
    /// An incremental backup starts from its base's LSN; a full one from 0.
    pub fn incremental(&self) -> bool {
        self.from_lsn != 0
    }

    /// The `format` mariabackup records (xtrabackup_info and the history
    /// table, whose column takes 'file', 'tar' or 'mbstream'): `file` or
    /// `mbstream` for an xbstream.
    pub fn format(&self) -> &'static str {
        if self.streamed {
            "mbstream"
        } else {
            "file"
        }
    }
}

pub fn info(i: &BackupInfo) -> String {
    let binlog = i.binlog.as_ref().map(binlog_pos_text).unwrap_or_default();
    format!(
        "uuid = {}\nname = {}\ntool_name = {}\ntool_command = {}\ntool_version = {}\nibbackup_version = {}\n\
         server_version = {}\nstart_time = {}\nend_time = {}\nlock_time = {}\nbinlog_pos = {}\n\
         innodb_from_lsn = {}\ninnodb_to_lsn = {}\npartial = {}\nincremental = {}\nformat = {}\n\
         compact = N\ncompressed = {}\nencrypted = N\n",
        i.uuid,
        i.name,
        i.tool_name,
        i.tool_command,
        i.tool_version,
        i.tool_version,
        i.server_version,
        crate::timefmt::iso(i.start_unix),
        crate::timefmt::iso(i.end_unix),
        i.lock_seconds,
        binlog,
        i.from_lsn,
        i.to_lsn,
        if i.partial { "Y" } else { "N" },
        if i.incremental() { "Y" } else { "N" },
        i.format(),
        // XtraBackup's words.
        if i.compressed { "compressed" } else { "N" },
    )
}

/// `backup-my.cnf` for a MySQL 5.7 backup: what prepare needs to read the copy.
/// Undo tablespaces are copied to the backup's root, hence `./`.
pub fn backup_my_cnf_57(vars: &ServerVars) -> String {
    let v = |name: &str, default: &str| vars.get(name).unwrap_or(default).to_string();
    format!(
        "# This options file was generated by innohot.\n\n# The MySQL server\n[mysqld]\n\
         innodb_checksum_algorithm={}\ninnodb_log_checksum_algorithm={}\ninnodb_data_file_path={}\n\
         innodb_log_files_in_group={}\ninnodb_log_file_size={}\ninnodb_page_size={}\n\
         innodb_undo_directory=./\ninnodb_undo_tablespaces={}\nserver_id={}\nredo_log_version=1\n",
        v("innodb_checksum_algorithm", "crc32"),
        v("innodb_log_checksum_algorithm", "crc32"),
        v("innodb_data_file_path", "ibdata1:12M:autoextend"),
        v("innodb_log_files_in_group", "2"),
        v("innodb_log_file_size", "50331648"),
        v("innodb_page_size", "16384"),
        v("innodb_undo_tablespaces", "0"),
        v("server_id", "0"),
    )
}

/// `backup-my.cnf` for a MariaDB 10.8+ backup: mariabackup 10.11's keys (what
/// `--prepare` reads), with the server's real checksum algorithm (mariabackup
/// writes crc32 even for a full_crc32 server; page 0's flags decide anyway).
pub fn backup_my_cnf_mariadb(vars: &ServerVars) -> String {
    let v = |name: &str, default: &str| vars.get(name).unwrap_or(default).to_string();
    format!(
        "# This options file was generated by innohot.\n\n# The server\n[mysqld]\n\
         innodb_checksum_algorithm={}\ninnodb_data_file_path={}\ninnodb_log_file_size={}\n\
         innodb_page_size={}\ninnodb_undo_directory=./\ninnodb_undo_tablespaces={}\n\
         innodb_compression_level={}\n",
        v("innodb_checksum_algorithm", "full_crc32"),
        v("innodb_data_file_path", "ibdata1:12M:autoextend"),
        v("innodb_log_file_size", "100663296"),
        v("innodb_page_size", "16384"),
        v("innodb_undo_tablespaces", "0"),
        v("innodb_compression_level", "6"),
    )
}

/// The lines that make prepare load the server's plugins, as mariabackup
/// writes them: the directory, then `name=library` pairs without the
/// shared-library suffix (prepare may run on another system).
pub fn plugin_lines(plugin_dir: &str, plugins: &[&crate::server::ServerPlugin]) -> String {
    let load: Vec<String> = plugins
        .iter()
        .map(|p| {
            let library = p.library.trim_end_matches(".so").trim_end_matches(".dll");
            format!("{}={library}", p.name)
        })
        .collect();
    format!("plugin_dir=\"{plugin_dir}\"\nplugin_load={}\n", load.join(";"))
}

/// Replaces the value of every password option with "xxxxxxxx" (`--password=s`,
/// `--password s`, `-ps`, `-p s` is NOT a password in MySQL clients, so left alone).
pub fn mask_secrets(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for a in args {
        if mask_next {
            out.push("xxxxxxxx".to_string());
            mask_next = false;
            continue;
        }
        if let Some((flag, _)) = a.split_once('=').filter(|(f, _)| is_password_flag(f)) {
            out.push(format!("{flag}=xxxxxxxx"));
        } else if is_password_flag(a) {
            out.push(a.clone());
            mask_next = true;
        } else if a.starts_with("-p") && a.len() > 2 && !a.starts_with("--") {
            out.push("-pxxxxxxxx".to_string());
        } else {
            out.push(a.clone());
        }
    }
    out.join(" ")
}

/// `--password`, `--pass`, in any spelling the option parser takes (`_` for `-`, `loose-`).
fn is_password_flag(f: &str) -> bool {
    let Some(name) = f.strip_prefix("--") else { return false };
    let name = name.replace('_', "-");
    matches!(name.strip_prefix("loose-").unwrap_or(&name), "password" | "pass")
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_values_reads_back_the_checkpoints_file_and_backup_my_cnf() {
        let kv = super::key_values(&super::checkpoints(100, 120));
        assert_eq!(
            (kv["backup_type"].as_str(), kv["to_lsn"].as_str(), kv["last_lsn"].as_str()),
            ("full-backuped", "100", "120")
        );
        let cnf = super::key_values(
            "# made by innohot\n[mysqld]\ninnodb_page_size=16384\ninnodb_data_file_path = \"ibdata1:12M\"\n",
        );
        assert_eq!(cnf.len(), 2, "{cnf:?}");
        assert_eq!(cnf["innodb_data_file_path"], "ibdata1:12M");
    }

    use super::*;

    #[test]
    fn checkpoints_file_matches_the_reference_run_byte_count() {
        // The reference run's file (to_lsn 127612851, last_lsn 127612893) was 117 bytes.
        let text = checkpoints(127_612_851, 127_612_893);
        assert_eq!(text.len(), 117);
        assert!(text.starts_with("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 127612851\n"));
    }

    #[test]
    fn slave_info_as_mariabackup_writes_it() {
        use crate::server::ReplicaConnection;
        let conn = |name: &str, file: &str, pos: &str, using: &str| ReplicaConnection {
            name: name.into(),
            master_file: file.into(),
            master_position: pos.into(),
            using_gtid: using.into(),
        };
        assert_eq!(slave_info(&ReplicaStatus::default()), None);
        // rpl_slave_info: file and position (Using_Gtid No, or no gtid_slave_pos).
        let one = ReplicaStatus {
            connections: vec![conn("", "master-bin.000001", "1234", "No")],
            gtid_slave_pos: "0-1-2".into(),
        };
        let (file, log) = slave_info(&one).unwrap();
        assert_eq!(file, "CHANGE MASTER TO MASTER_LOG_FILE='master-bin.000001', MASTER_LOG_POS=1234;\n");
        assert_eq!(log, "MySQL slave binlog position: master '' filename 'master-bin.000001' position '1234'");
        // slave_info_norpl's multi-source case, line for line.
        let many = ReplicaStatus {
            connections: vec![
                conn("", "", "0", "Slave_Pos"),
                conn("master2", "", "0", "Slave_Pos"),
                conn("master3", "", "0", "Slave_Pos"),
                conn("master4", "", "0", "No"),
                conn("master5", "", "0", "Slave_Pos"),
            ],
            gtid_slave_pos: "1-1-1,2-2-2".into(),
        };
        let (file, log) = slave_info(&many).unwrap();
        assert_eq!(
            file,
            "SET GLOBAL gtid_slave_pos = '1-1-1,2-2-2';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n\
             CHANGE MASTER 'master2' TO master_use_gtid = slave_pos;\nCHANGE MASTER 'master3' TO master_use_gtid = slave_pos;\n\
             CHANGE MASTER 'master4' TO MASTER_LOG_FILE='', MASTER_LOG_POS=0;\n\
             CHANGE MASTER 'master5' TO master_use_gtid = slave_pos;\n"
        );
        assert_eq!(
            log,
            "MySQL slave binlog position: gtid_slave_pos '1-1-1,2-2-2'; master '' master_use_gtid = slave_pos; \
             master 'master2' master_use_gtid = slave_pos; master 'master3' master_use_gtid = slave_pos; \
             master 'master4' filename '' position '0'; master 'master5' master_use_gtid = slave_pos"
        );
        // Without gtid_slave_pos every connection is written by file and position.
        let empty_pos = ReplicaStatus { gtid_slave_pos: String::new(), ..many };
        assert!(!slave_info(&empty_pos).unwrap().0.contains("gtid"));
    }

    #[test]
    fn binlog_info_with_and_without_gtid() {
        let mut p = BinlogPos { file: "mysql-bin.000002".into(), position: 1_333_398, gtid: String::new() };
        assert_eq!(binlog_info(&p), "mysql-bin.000002\t1333398\n");
        p.gtid = "6b1cb79c-0000:1-3546".into();
        assert_eq!(binlog_info(&p), "mysql-bin.000002\t1333398\t6b1cb79c-0000:1-3546\n");
        assert_eq!(
            binlog_pos_text(&p),
            "filename 'mysql-bin.000002', position '1333398', GTID of the last change '6b1cb79c-0000:1-3546'"
        );
    }

    #[test]
    fn passwords_never_survive_masking() {
        let args: Vec<String> = [
            "backup",
            "--password=letsg0",
            "--user=admin",
            "--password",
            "s3cret",
            "-phunter2",
            "-p",
            "--loose_pass=pw2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let masked = mask_secrets(&args);
        for secret in ["letsg0", "s3cret", "hunter2", "pw2"] {
            assert!(!masked.contains(secret), "{secret} leaked into {masked}");
        }
        assert_eq!(
            masked,
            "backup --password=xxxxxxxx --user=admin --password xxxxxxxx -pxxxxxxxx -p --loose_pass=xxxxxxxx"
        );
    }
}
