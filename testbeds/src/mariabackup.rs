//! Running the reference tool, `mariabackup`, against a [`LocalServer`].

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::tail_of_file;
use crate::{io_err, Binaries, Error, LocalServer, Result};

/// `mariabackup --backup --target-dir=TARGET --socket=S --user=root` (no
/// password: the harness's root has none). Its output goes to `log`.
/// Returns the wall time.
pub fn backup(server: &LocalServer, target: &Path, log: &Path) -> Result<Duration> {
    let b = server.binaries();
    let args = vec![
        "--backup".to_string(),
        format!("--target-dir={}", target.display()),
        format!("--socket={}", server.socket().display()),
        "--user=root".to_string(),
    ];
    run(b, "mariabackup --backup", &args, log)
}

/// `mariabackup --prepare --target-dir=TARGET`. Returns the wall time.
pub fn prepare(binaries: &Binaries, target: &Path, log: &Path) -> Result<Duration> {
    let args = vec!["--prepare".to_string(), format!("--target-dir={}", target.display())];
    run(binaries, "mariabackup --prepare", &args, log)
}

fn run(b: &Binaries, what: &str, args: &[String], log: &Path) -> Result<Duration> {
    let out = std::fs::File::create(log).map_err(io_err(format!("creating {}", log.display())))?;
    let err = out.try_clone().map_err(io_err("dup of log file"))?;
    let t0 = Instant::now();
    let status = Command::new(&b.mariabackup)
        .arg("--no-defaults")
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(io_err(format!("running {}", b.mariabackup.display())))?;
    let took = t0.elapsed();
    if !status.success() {
        return Err(Error::Command {
            what: what.to_string(),
            detail: format!("{status}; {} ends with:\n{}", log.display(), tail_of_file(log, 30)),
        });
    }
    Ok(took)
}
