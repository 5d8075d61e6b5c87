//! `innohot backup --stream=xbstream`: the backup's target is stdout
//! (engine's [`StreamTarget`]); everything the user reads goes to stderr.

use innohot::backup::Summary;
use innohot::stream::compress::Compression;
use innohot::stream::{StreamOptions, StreamTarget};
use innohot::ErrorKind;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::sync::Arc;

/// Why the stream on stdout could not be opened or ended.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(
        "--stream=xbstream writes the backup to stdout, which is a terminal: redirect it to a file \
         or pipe it (innohot backup --stream=xbstream ... | mbstream -x -C DIR)"
    )]
    Terminal,
    #[error("stdout: {0}")]
    Stdout(std::io::Error),
    #[error("{LABEL}: {0}")]
    Open(std::io::Error),
    #[error("the backup completed, but ending its stream failed: {0}")]
    Finish(std::io::Error),
}

impl StreamError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StreamError::Terminal => ErrorKind::Usage,
            StreamError::Stdout(e) | StreamError::Open(e) | StreamError::Finish(e) => ErrorKind::of_io(e),
        }
    }
}

/// How the stream is named in messages and in the run's report.
pub const LABEL: &str = "xbstream on stdout";

/// The stream on stdout, its head file already sent. Refused when stdout is a
/// terminal: the backup is binary and belongs in a pipe or a file.
pub fn open_stdout(compress: Option<Compression>) -> Result<Arc<StreamTarget>, StreamError> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return Err(StreamError::Terminal);
    }
    // Its own descriptor, unbuffered by Rust's line-buffered Stdout; chunks are up to 10 MiB.
    let fd = stdout.as_fd().try_clone_to_owned().map_err(StreamError::Stdout)?;
    let out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::from(fd));
    let head = format!(
        "innohot {} backup stream\nIts last file is {}: a stream without it is not a complete backup.\n",
        env!("CARGO_PKG_VERSION"),
        innohot::stream::MANIFEST
    );
    let options = StreamOptions { compress, ..StreamOptions::default() };
    StreamTarget::with_options(Box::new(out), LABEL, &head, options).map(Arc::new).map_err(StreamError::Open)
}

/// Ends a completed backup's stream with its markers and manifest.
pub fn finish(stream: &StreamTarget, s: &Summary) -> Result<(), StreamError> {
    let facts = [
        ("innohot_version", env!("CARGO_PKG_VERSION").to_string()),
        ("from_lsn", "0".to_string()),
        ("to_lsn", s.to_lsn.to_string()),
        ("last_lsn", s.last_lsn.to_string()),
    ];
    stream.finish(&facts).map(|_| ()).map_err(StreamError::Finish)
}

/// `--extra-lsndir` for a stream: the metadata files as the stream carried them.
pub fn write_lsn_files(stream: &StreamTarget, extra: &std::path::Path) -> std::io::Result<()> {
    crate::target::write_lsn_files(extra, &|name| {
        stream.kept(name).ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{name} not kept")))
    })
}
