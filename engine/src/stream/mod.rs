//! Backups as a stream (issue 22): reading an xbstream back into files
//! ([`Extractor`]), with stricter checks than the peers' `mbstream -x`: a
//! stream cut inside a chunk, or ended before a file's end chunk, is refused
//! by name, never taken for a complete backup.

mod extract;

pub use extract::{ExtractError, ExtractReport, Extractor};
