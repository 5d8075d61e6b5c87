//! A failed backup's `--json` names the failure's kind (a stable name scripts
//! branch on), beside the sentence for a person; the exit code stays 1.
//! No server is needed: these backups fail before or at the connection.

use std::path::Path;
use std::process::Command;

/// The backup's exit code, stderr, and its `--json` summary from stdout.
fn failed_backup(target: &Path, extra: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_innohot"))
        .env_remove("INNOHOT_PASSWORD")
        .args(["backup", "--no-defaults", "--json", "--user=backup"])
        .arg(format!("--target-dir={}", target.display()))
        .args(extra)
        .output()
        .expect("run innohot");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("--json: {e}: {stdout}\n{stderr}"));
    (out.status.code(), stderr, summary)
}

#[test]
fn an_unreachable_server_is_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("no-server.sock");
    let target = dir.path().join("backup");
    let (code, stderr, summary) = failed_backup(&target, &[&format!("--socket={}", socket.display())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(summary["result"], "failed", "{summary}");
    assert_eq!(summary["exit_code"], 1, "{summary}");
    assert_eq!(summary["error_kind"], "server_unreachable", "{summary}");
    let msg = summary["error"].as_str().expect("the message");
    assert!(msg.contains("nothing listens at socket") && stderr.contains(msg), "{summary}\n{stderr}");
    assert!(!target.exists(), "a refused backup creates nothing");
}

#[test]
fn a_target_that_is_not_empty_is_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("precious"), b"x").unwrap();
    let socket = dir.path().join("no-server.sock");
    let (code, stderr, summary) = failed_backup(&target, &[&format!("--socket={}", socket.display())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(summary["result"], "failed", "{summary}");
    assert_eq!(summary["error_kind"], "target_unusable", "{summary}");
    assert!(summary["error"].as_str().unwrap().contains("is not empty"), "{summary}");
    assert!(target.join("precious").exists());
}
