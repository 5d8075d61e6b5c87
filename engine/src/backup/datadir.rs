//! Phase 4 with `--datadir`: the server's files are read at a path other
//! than the `@@datadir` it reports (a container's bind mount, a mount point
//! of another name). Before anything is copied, the directory must prove it
//! is this server's: its first system tablespace file holds space id 0 on
//! page 0, and the checkpoint in its redo log header lies between the last
//! checkpoint the server reports and its current LSN (a datadir of another
//! server, or a stale copy of this one, is refused).

use std::path::PathBuf;

use super::stage::{Connected, Detected};
use super::Backup;
use crate::copy::{parse_data_file_path, server_dir};
use crate::error::{BackupError, Result};
use crate::events::Phase;
use crate::format::Lsn;
use crate::io::ReadPolicy;

const PLAIN: ReadPolicy = ReadPolicy { direct: false, fadvise: false };
/// FIL_PAGE_SPACE_ID and FSP_SPACE_ID (FIL_PAGE_DATA + 0) on page 0.
const FIL_PAGE_SPACE_ID: usize = 34;
const FSP_SPACE_ID: usize = 38;
/// Reads of the redo header before one behind the server's checkpoint counts.
const CHECKPOINT_READS: u32 = 3;

impl Backup {
    /// The given directory, once it proved it is this server's.
    pub(super) fn locate_given_datadir(
        &mut self,
        phase: Phase,
        detected: Detected,
        server: PathBuf,
        given: PathBuf,
    ) -> Result<Connected> {
        let refuse =
            |reason: String| BackupError::NotServerDatadir { given: given.clone(), server: server.clone(), reason };
        let dir = self.svc.fs.canonicalize(&given).map_err(|e| refuse(format!("it cannot be resolved: {e}")))?;
        let conn = Connected { vars: detected.vars, flavor: detected.flavor, datadir: dir.clone() };

        // The system tablespace: innodb_data_file_path's first file, space id 0.
        let files = parse_data_file_path(conn.vars.require("innodb_data_file_path")?)?;
        let home = server_dir(&dir, conn.vars.get("innodb_data_home_dir"));
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

        // The redo log: its newest checkpoint lies between the server's last
        // checkpoint (read first) and the server's current LSN (read last).
        let (cp_lsn, server_checkpoint, server_lsn) = self.given_datadir_checkpoints(&conn, refuse)?;
        if cp_lsn > server_lsn {
            return Err(refuse(format!(
                "its redo log's checkpoint LSN {cp_lsn} is ahead of the server's current LSN {server_lsn}, so those \
                 files were written by another server"
            )));
        }
        if cp_lsn < server_checkpoint {
            return Err(refuse(format!(
                "its redo log's checkpoint LSN {cp_lsn} is behind the checkpoint the server reports having written \
                 ({server_checkpoint}), so those files are an older copy or another server's"
            )));
        }
        self.note(
            phase,
            format!(
                "datadir {} read at {} (--datadir): system tablespace {} has space id 0, server checkpoint \
                 {server_checkpoint} <= redo checkpoint LSN {cp_lsn} <= server LSN {server_lsn}",
                server.display(),
                dir.display(),
                files[0].name,
            ),
        );
        Ok(conn)
    }

    /// (checkpoint in the given directory's redo header, the server's last
    /// checkpoint, the server's LSN). The server may report a checkpoint a
    /// moment before its header write is visible, so a header behind it is
    /// read again a few times before the caller calls it foreign.
    fn given_datadir_checkpoints(
        &mut self,
        conn: &Connected,
        refuse: impl Fn(String) -> BackupError,
    ) -> Result<(Lsn, Lsn, Lsn)> {
        let mut attempt = 0;
        loop {
            let server_checkpoint = self.svc.server.last_checkpoint_lsn()?;
            let cp = {
                let ctx = self.redo_context(conn);
                let log = conn.flavor.open_redo_log(&ctx).map_err(|e| refuse(format!("its redo log: {e}")))?;
                log.read_checkpoint(&ctx).map_err(|e| refuse(format!("its redo log: {e}")))?
            };
            let server_lsn = self.svc.server.current_lsn()?;
            attempt += 1;
            if cp.lsn >= server_checkpoint || attempt == CHECKPOINT_READS {
                return Ok((cp.lsn, server_checkpoint, server_lsn));
            }
        }
    }
}
