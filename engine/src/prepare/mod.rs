//! Applying a backup's copied redo to its pages, per redo format: [`mysql57`]
//! (`xtrabackup_logfile`) and [`mariadb`] (`ib_logfile0`). Pure: pages come and
//! go through [`PageStore`], so the simulator's oracle and the on-disk prepare
//! share the same code.

pub mod mariadb;
pub mod mysql57;

/// Where the pages live while redo is applied.
pub trait PageStore {
    /// The page, or None when no tablespace with this id is in the backup.
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]>;
    /// Whether a tablespace with this id is in the backup (its page 0 is there).
    fn holds_space(&mut self, space: u32) -> bool {
        self.page_mut(space, 0).is_some()
    }
}
