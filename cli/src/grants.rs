//! The backup user's privileges, checked before the backup starts (MariaDB), as mariabackup
//! checks them and in its words: `Error: missing required privilege RELOAD on *.*`, then the
//! user's `SHOW GRANTS` (without any password hash). What the backup cannot do without is an
//! error and nothing is copied; what mariabackup asks for but innohot does without (PROCESS,
//! for the LSNs it then reads from `SHOW GLOBAL STATUS`) is a warning.

/// How much a missing privilege matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A global privilege the backup asks for, and what for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub privilege: &'static str,
    pub level: Level,
    pub why: &'static str,
    /// Privileges that do instead (SUPER for BINLOG MONITOR).
    pub or: &'static [&'static str],
}

/// What this backup's options ask of the server (MariaDB 10.5+'s privilege names).
/// `log_bin`: the server writes a binary log, whose position the backup records.
pub fn needs(no_lock: bool, lock_wait: bool, slave_info: bool, safe_slave_backup: bool, log_bin: bool) -> Vec<Need> {
    let mut out = Vec::new();
    let need = |privilege, level, why| Need { privilege, level, why, or: &[] };
    if !no_lock {
        out.push(need("RELOAD", Level::Error, "BACKUP STAGE and FLUSH take the backup's lock"));
        out.push(if lock_wait {
            need("PROCESS", Level::Error, "--ftwrl-wait-timeout must see every session's queries")
        } else {
            need(
                "PROCESS",
                Level::Warning,
                "for SHOW ENGINE INNODB STATUS; innohot reads the same LSNs from SHOW GLOBAL STATUS without it",
            )
        });
    }
    if log_bin {
        let why = "SHOW MASTER STATUS: the binlog position xtrabackup_binlog_info records";
        out.push(Need { or: &["SUPER"], ..need("BINLOG MONITOR", Level::Error, why) });
    }
    if safe_slave_backup {
        out.push(need("REPLICATION SLAVE ADMIN", Level::Error, "--safe-slave-backup stops and starts the SQL thread"));
    }
    if slave_info || safe_slave_backup {
        out.push(need("SLAVE MONITOR", Level::Error, "SHOW SLAVE STATUS (--slave-info, --safe-slave-backup)"));
    }
    out
}

/// Whether the `SHOW GRANTS` lines give `privilege` on `*.*` (by name, or ALL PRIVILEGES).
pub fn has_global(grants: &[String], privilege: &str) -> bool {
    grants.iter().any(|g| {
        let Some(rest) = g.strip_prefix("GRANT ") else { return false };
        let Some((privileges, after)) = rest.split_once(" ON ") else { return false };
        if !after.trim_start().starts_with("*.*") {
            return false;
        }
        privileges.split(',').map(str::trim).any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL")
    })
}

/// A grant as it may be shown: without `IDENTIFIED BY PASSWORD '...'` or `IDENTIFIED VIA ...`.
fn shown(grant: &str) -> &str {
    grant.split(" IDENTIFIED ").next().unwrap_or(grant).trim_end()
}

/// The lines to log, and, when an error-level privilege is missing, why the backup cannot run.
pub fn check(grants: &[String], needs: &[Need]) -> (Vec<String>, Option<String>) {
    let mut lines = Vec::new();
    let mut fatal = Vec::new();
    let lacks = |n: &&Need| !has_global(grants, n.privilege) && !n.or.iter().any(|p| has_global(grants, p));
    for n in needs.iter().filter(lacks) {
        let level = if n.level == Level::Error { "Error" } else { "Warning" };
        lines.push(format!("{level}: missing required privilege {} on *.* ({})", n.privilege, n.why));
        if n.level == Level::Error {
            fatal.push(n.privilege);
        }
    }
    if fatal.is_empty() {
        return (lines, None);
    }
    lines.push("Current privileges, as reported by 'SHOW GRANTS':".to_string());
    lines.extend(grants.iter().map(|g| format!("  {}", shown(g))));
    let list = fatal.join(", ");
    let why = format!(
        "the backup user lacks privileges the backup needs ({list}): grant them (GRANT {list} ON *.* TO the backup \
         user){}",
        if fatal.contains(&"RELOAD") {
            ", or back up without a lock (--no-lock: only InnoDB tables, no DDL)"
        } else {
            ""
        }
    );
    (lines, Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::commands::common::strings as g;

    #[test]
    fn global_privileges_from_show_grants() {
        let grants = g(&[
            "GRANT RELOAD, PROCESS ON *.* TO `backup`@`localhost` IDENTIFIED BY PASSWORD '*3F0A'",
            "GRANT SELECT, SLAVE MONITOR ON `db`.* TO `backup`@`localhost`",
            "GRANT `role1` TO `backup`@`localhost`",
        ]);
        assert!(has_global(&grants, "RELOAD") && has_global(&grants, "PROCESS"));
        assert!(!has_global(&grants, "SLAVE MONITOR"), "only on *.*");
        assert!(!has_global(&grants, "REPLICATION SLAVE ADMIN"));
        let root = g(&["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]);
        assert!(has_global(&root, "SLAVE MONITOR"));
    }

    #[test]
    fn missing_privileges_in_mariabackups_words_without_the_password_hash() {
        let usage = g(&["GRANT USAGE ON *.* TO `backup`@`localhost` IDENTIFIED BY PASSWORD '*3F0A'"]);
        assert!(check(&usage, &needs(true, false, false, false, false)).0.is_empty(), "--no-lock needs nothing");
        let (lines, fatal) = check(&usage, &needs(false, false, false, false, false));
        let text = lines.join("\n");
        assert!(text.contains("Error: missing required privilege RELOAD on *.*"), "{text}");
        assert!(text.contains("Warning: missing required privilege PROCESS on *.*"), "{text}");
        assert!(text.contains("  GRANT USAGE ON *.* TO `backup`@`localhost`") && !text.contains("3F0A"), "{text}");
        assert!(fatal.unwrap().contains("(RELOAD)"));
        let (lines, fatal) = check(&usage, &needs(false, true, false, false, false));
        assert!(lines[1].contains("Error: missing required privilege PROCESS"));
        assert!(fatal.unwrap().contains("RELOAD, PROCESS"));
        let reload = g(&["GRANT RELOAD, PROCESS ON *.* TO `backup`@`localhost`"]);
        assert_eq!(check(&reload, &needs(false, false, false, false, false)), (vec![], None));
        let (lines, fatal) = check(&reload, &needs(false, false, false, true, false));
        assert_eq!(lines.len(), 2 + 2, "{lines:?}");
        assert!(fatal.unwrap().contains("REPLICATION SLAVE ADMIN, SLAVE MONITOR"));
        let (lines, _) = check(&reload, &needs(false, false, true, false, false));
        assert!(lines[0].contains("missing required privilege SLAVE MONITOR"));
        let (lines, fatal) = check(&usage, &needs(true, false, false, false, true));
        assert!(lines[0].contains("Error: missing required privilege BINLOG MONITOR") && fatal.is_some());
        let sup = g(&["GRANT SUPER ON *.* TO `backup`@`localhost`"]);
        assert_eq!(check(&sup, &needs(true, false, false, false, true)), (vec![], None), "SUPER does too");
    }
}
