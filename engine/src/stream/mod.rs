//! Backups as a stream (issue 22): writing one ([`StreamTarget`], with
//! mariabackup's marker files for what a stream cannot take back), and
//! reading an xbstream back into files ([`Extractor`]), with stricter checks than the peers' `mbstream -x`: a
//! stream cut inside a chunk, or ended before a file's end chunk, is refused
//! by name, never taken for a complete backup.

pub mod check;
pub mod compress;
mod extract;
mod lanes;
pub mod markers;
mod sink;

pub use check::{Completeness, IncompleteStream};
pub use extract::{ExtractError, ExtractReport, Extractor};
pub use lanes::{extract, ExtractOptions};
pub use markers::{parse_manifest, Manifest};
pub use sink::{StreamOptions, StreamSummary, StreamTarget, CHUNK_LIMIT, MANIFEST, STREAM_HEAD};
