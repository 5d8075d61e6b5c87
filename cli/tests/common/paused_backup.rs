//! `innohot backup` paused before its lock (`--debug-pause-before-lock-ms`),
//! with something done to the server during the pause. Shared by
//! real_restore.rs and real_page_compressed.rs.

use innohot_testbeds::LocalServer;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;

/// `innohot backup` of `src` into `target` that pauses `pause_ms` before its lock and
/// runs `meanwhile` during the pause; whether it completed, and its log.
pub fn backup_with_pause(src: &LocalServer, target: &Path, pause_ms: u64, meanwhile: impl FnOnce()) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_innohot"))
        .args([
            "backup".to_string(),
            format!("--target-dir={}", target.display()),
            format!("--socket={}", src.socket().display()),
            "--user=root".into(),
            format!("--debug-pause-before-lock-ms={pause_ms}"),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut log: Vec<String> = lines.by_ref().take_while(|l| !l.contains("pausing")).collect();
    meanwhile();
    log.extend(lines);
    let ok = child.wait().unwrap().success() && log.last().is_some_and(|l| l.ends_with("completed OK!"));
    (ok, log.join("\n"))
}
