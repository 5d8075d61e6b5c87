//! Phase 4 with `--datadir`: the server's files are read at a path other
//! than the `@@datadir` it reports (a container's bind mount, a mount point
//! of another name). Before anything is copied, the directory must prove it
//! is this server's: its first system tablespace file holds space id 0 on
//! page 0, and the checkpoint in its redo log header is not ahead of the
//! server's current LSN (a datadir of another, busier server, or a stale
//! copy written after this one, is refused).

use std::path::PathBuf;

use super::{Backup, Next};
use crate::copy::{parse_data_file_path, server_dir};
use crate::error::{BackupError, Result};
use crate::events::Phase;
use crate::io::ReadPolicy;

const PLAIN: ReadPolicy = ReadPolicy { direct: false, fadvise: false };
/// FIL_PAGE_SPACE_ID and FSP_SPACE_ID (FIL_PAGE_DATA + 0) on page 0.
const FIL_PAGE_SPACE_ID: usize = 34;
const FSP_SPACE_ID: usize = 38;

impl Backup {
    pub(super) fn locate_given_datadir(&mut self, phase: Phase, server: PathBuf, given: PathBuf) -> Result<Next> {
        let refuse =
            |reason: String| BackupError::NotServerDatadir { given: given.clone(), server: server.clone(), reason };
        let dir = self.svc.fs.canonicalize(&given).map_err(|e| refuse(format!("it cannot be resolved: {e}")))?;
        self.datadir = dir.clone();

        // The system tablespace: innodb_data_file_path's first file, space id 0.
        let files = parse_data_file_path(self.vars.require("innodb_data_file_path")?)?;
        let home = server_dir(&dir, self.vars.get("innodb_data_home_dir"));
        let first = home.join(&files[0].name);
        let mut f = self
            .svc
            .fs
            .open(&first, PLAIN)
            .map_err(|e| refuse(format!("the system tablespace {} cannot be opened: {e}", first.display())))?;
        let mut page = [0u8; 64];
        let n = f.read_at(&mut page, 0).map_err(|e| refuse(format!("reading {}: {e}", first.display())))?;
        if n < page.len() {
            return Err(refuse(format!("{} is too short for an InnoDB system tablespace", first.display())));
        }
        let be32 = |at: usize| u32::from_be_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
        if be32(FIL_PAGE_SPACE_ID) != 0 || be32(FSP_SPACE_ID) != 0 {
            return Err(refuse(format!(
                "page 0 of {} holds space id {} (header) / {} (FSP), not the system tablespace's 0",
                first.display(),
                be32(FIL_PAGE_SPACE_ID),
                be32(FSP_SPACE_ID)
            )));
        }

        // The redo log: its newest checkpoint cannot be ahead of the server.
        let log =
            self.flavor().open_redo_log(&self.redo_context()).map_err(|e| refuse(format!("its redo log: {e}")))?;
        let cp = log.read_checkpoint(&self.redo_context()).map_err(|e| refuse(format!("its redo log: {e}")))?;
        let server_lsn = self.svc.server.current_lsn()?;
        if cp.lsn > server_lsn {
            return Err(refuse(format!(
                "its redo log's checkpoint LSN {} is ahead of the server's current LSN {server_lsn}, so those files \
                 were written by another server",
                cp.lsn
            )));
        }
        self.note(
            phase,
            format!(
                "datadir {} read at {} (--datadir): system tablespace {} has space id 0, redo checkpoint LSN {} <= \
                 server LSN {server_lsn}",
                server.display(),
                dir.display(),
                files[0].name,
                cp.lsn
            ),
        );
        self.advance(Phase::ServerFacts)
    }
}
