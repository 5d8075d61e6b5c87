//! The statements of the lock phase. Which steps run, and in what order, is
//! each flavor's choice (`Flavor::lock_steps`); what a step means for the
//! server (what it holds, how it is released) is said once, here.

/// One step of the lock phase. MySQL 5.7 uses the first three (XtraBackup's
/// reference run); MariaDB 10.4+ the BACKUP STAGE steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStep {
    /// `SET SESSION lock_wait_timeout=31536000`
    LongLockWait,
    /// `FLUSH NO_WRITE_TO_BINLOG TABLES`
    FlushTables,
    /// `FLUSH TABLES WITH READ LOCK`
    ReadLock,
    /// `BACKUP STAGE START`
    StageStart,
    /// `BACKUP STAGE FLUSH`
    StageFlush,
    /// `BACKUP STAGE BLOCK_DDL`
    StageBlockDdl,
    /// `BACKUP STAGE BLOCK_COMMIT`
    StageBlockCommit,
}

impl LockStep {
    pub fn statement(self) -> &'static str {
        match self {
            LockStep::LongLockWait => "SET SESSION lock_wait_timeout=31536000",
            LockStep::FlushTables => "FLUSH NO_WRITE_TO_BINLOG TABLES",
            LockStep::ReadLock => "FLUSH TABLES WITH READ LOCK",
            LockStep::StageStart => "BACKUP STAGE START",
            LockStep::StageFlush => "BACKUP STAGE FLUSH",
            LockStep::StageBlockDdl => "BACKUP STAGE BLOCK_DDL",
            LockStep::StageBlockCommit => "BACKUP STAGE BLOCK_COMMIT",
        }
    }

    /// After this step the server holds something for the connection that an
    /// aborted backup must release; session settings and flushes hold nothing.
    pub fn holds_lock(self) -> bool {
        !matches!(self, LockStep::LongLockWait | LockStep::FlushTables)
    }

    /// The statement that releases what this step took, for the one step of
    /// each flavor that opens what the others deepen.
    pub fn release_statement(self) -> Option<&'static str> {
        match self {
            LockStep::ReadLock => Some("UNLOCK TABLES"),
            LockStep::StageStart => Some("BACKUP STAGE END"),
            _ => None,
        }
    }

    /// From this step on commits wait (and with them every InnoDB writer that
    /// commits): the lock time a backup reports starts here. FTWRL blocks
    /// everything at once; BACKUP STAGE blocks commits only from BLOCK_COMMIT.
    pub fn starts_lock_timer(self) -> bool {
        matches!(self, LockStep::ReadLock | LockStep::StageBlockCommit)
    }

    /// From this step on DDL waits (MariaDB: and writes to non-transactional
    /// tables, blocked by FLUSH and drained by BLOCK_DDL): the "DDL blocked"
    /// time starts here.
    pub fn starts_ddl_timer(self) -> bool {
        matches!(self, LockStep::ReadLock | LockStep::StageBlockDdl)
    }
}

/// Where the GTID position of `xtrabackup_binlog_info` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GtidSource {
    /// A column of `SHOW MASTER STATUS` (MySQL 5.7: Executed_Gtid_Set).
    MasterStatusColumn(&'static str),
    /// A query of one value (MariaDB: `SELECT @@gtid_current_pos`).
    Query(&'static str),
}

/// Where the server lists its tablespaces: a query whose rows are (space id,
/// name, data file), read under the lock for the cross-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablespaceDictionary {
    /// MariaDB 10.x: `information_schema.INNODB_SYS_TABLESPACES`.
    MariaDb,
    /// MySQL 5.7: `INNODB_SYS_TABLESPACES` joined with `INNODB_SYS_DATAFILES`.
    Mysql57,
}

impl TablespaceDictionary {
    /// The query; its three columns are the space id, the name and the file.
    pub fn statement(self) -> &'static str {
        match self {
            TablespaceDictionary::MariaDb => {
                "SELECT SPACE, NAME, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES"
            }
            TablespaceDictionary::Mysql57 => {
                "SELECT t.SPACE, t.NAME, d.PATH FROM information_schema.INNODB_SYS_TABLESPACES t \
                 JOIN information_schema.INNODB_SYS_DATAFILES d ON d.SPACE = t.SPACE"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flavor_opens_with_one_releasable_step_and_times_its_blocking_steps() {
        for (steps, timer, ddl_timer) in [
            (
                &[LockStep::LongLockWait, LockStep::FlushTables, LockStep::ReadLock][..],
                LockStep::ReadLock,
                LockStep::ReadLock,
            ),
            (
                &[LockStep::StageStart, LockStep::StageFlush, LockStep::StageBlockDdl, LockStep::StageBlockCommit][..],
                LockStep::StageBlockCommit,
                LockStep::StageBlockDdl,
            ),
        ] {
            let releasable: Vec<_> = steps.iter().filter(|s| s.release_statement().is_some()).collect();
            assert_eq!(releasable.len(), 1, "{steps:?}");
            assert!(releasable[0].holds_lock());
            let timed: Vec<_> = steps.iter().filter(|s| s.starts_lock_timer()).copied().collect();
            assert_eq!(timed, vec![timer]);
            let ddl_timed: Vec<_> = steps.iter().filter(|s| s.starts_ddl_timer()).copied().collect();
            assert_eq!(ddl_timed, vec![ddl_timer]);
        }
        assert!(!LockStep::LongLockWait.holds_lock() && !LockStep::FlushTables.holds_lock());
    }
}
