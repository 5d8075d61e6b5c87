//! What the server says about itself: `SHOW VARIABLES` (per flavor), the GTID
//! position, and the tablespaces its dictionary lists.

use super::SimServer;
use crate::config::Flavor;
use std::collections::BTreeMap;

impl SimServer {
    /// `Executed_Gtid_Set` (5.7) or `@@gtid_current_pos` (MariaDB: domain-server-sequence).
    pub fn gtid_set(&self) -> String {
        match self.cfg.flavor {
            Flavor::Mysql57 => format!("{}:1-{}", self.binlog.server_uuid, self.binlog.gtid_next - 1),
            Flavor::MariaDb => format!("0-1-{}", self.binlog.gtid_next - 1),
        }
    }
    /// What `information_schema` lists: every file-per-table tablespace, by
    /// the name the dictionary gives it (`schema/table`).
    pub fn dictionary(&self) -> Vec<innohot::server::ServerTablespace> {
        self.spaces
            .iter()
            .filter(|s| !s.is_system)
            .map(|s| innohot::server::ServerTablespace {
                space_id: s.id,
                name: s.rel.with_extension("").display().to_string(),
                path: s.redo_name.clone(),
            })
            .collect()
    }

    /// `SHOW VARIABLES` as the engine needs it.
    pub fn variables(&self) -> BTreeMap<String, String> {
        let c = &self.cfg;
        let ibdata_mb = (c.ibdata_pages as u64 * c.page_size as u64) >> 20;
        let ibdata = if (c.ibdata_pages as u64 * c.page_size as u64).is_multiple_of(1 << 20) {
            format!("ibdata1:{ibdata_mb}M:autoextend")
        } else {
            format!("ibdata1:{}K:autoextend", (c.ibdata_pages as u64 * c.page_size as u64) >> 10)
        };
        let mut vars = vec![
            ("datadir", format!("{}/", self.paths.datadir_link.display())),
            ("innodb_data_home_dir", String::new()),
            ("innodb_data_file_path", ibdata),
            ("innodb_log_group_home_dir", "./".into()),
            ("innodb_page_size", c.page_size.to_string()),
            ("innodb_undo_directory", "./".into()),
            ("innodb_undo_tablespaces", c.undo_tablespaces.to_string()),
            ("log_bin", "ON".into()),
            ("server_id", "1".into()),
        ];
        vars.extend(self.log.variables());
        match c.flavor {
            Flavor::Mysql57 => vars.extend([
                ("version", "5.7.17-sim-log".to_string()),
                ("innodb_checksum_algorithm", "crc32".into()),
                ("gtid_mode", "ON".into()),
                ("server_uuid", self.binlog.server_uuid.clone()),
            ]),
            Flavor::MariaDb => vars.extend([
                ("version", "10.11.19-MariaDB-log".to_string()),
                ("innodb_checksum_algorithm", "full_crc32".into()),
                ("innodb_compression_level", "6".into()),
                ("gtid_current_pos", self.gtid_set()),
            ]),
        }
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}
