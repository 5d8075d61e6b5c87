//! `innohot extract`: an xbstream (mariabackup's `--stream=xbstream`) from
//! stdin or a file into a new or empty directory, through the engine's
//! checked [`Extractor`](innohot::stream::Extractor).

use crate::commands::common::{now_unix, FAILURE};
use crate::target;
use innohot::stream::{Completeness, MANIFEST, STREAM_HEAD};
use innohot::timefmt::log_label;
use std::path::Path;
use std::process::ExitCode;

/// `innohot extract`: an xbstream into files, every chunk checked.
pub fn run(cmd: &crate::args::ExtractCmd) -> ExitCode {
    use innohot::io::real::RealTargetDir;
    use innohot::stream::ExtractOptions;
    use std::io::Read;
    let fail = |msg: String| {
        eprintln!("{} innohot extract: {msg}", log_label(now_unix()));
        ExitCode::from(FAILURE)
    };
    if let Err(e) = target::check_before(&cmd.target_dir) {
        return fail(e.to_string());
    }
    let target = match RealTargetDir::create(&cmd.target_dir, false) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", cmd.target_dir.display())),
    };
    let mut input: Box<dyn Read> = if cmd.stream.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&cmd.stream) {
            Ok(f) => Box::new(f),
            Err(e) => return fail(format!("{}: {e}", cmd.stream.display())),
        }
    };
    let options = ExtractOptions { lanes: cmd.parallel.into(), decompress: cmd.decompress };
    let report = match innohot::stream::extract(&target, &mut *input, options) {
        Ok(r) => r,
        Err(e) => return fail_marked(&cmd.target_dir, e.to_string()),
    };
    let manifest = report
        .files
        .contains_key(MANIFEST)
        .then(|| std::fs::read_to_string(cmd.target_dir.join(MANIFEST)).unwrap_or_default());
    let checked = match innohot::stream::check::check(&report, manifest.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail_marked(&cmd.target_dir, e.to_string()),
    };
    if let Err(e) = innohot::io::TargetDir::sync_dir(&target, Path::new("")) {
        return fail(format!("syncing {}: {e}", cmd.target_dir.display()));
    }
    let bytes: u64 = report.files.values().sum();
    eprintln!(
        "{} innohot extract: {} files, {bytes} bytes, from {} bytes of stream into {}{}",
        log_label(now_unix()),
        report.files.len(),
        report.stream_bytes,
        cmd.target_dir.display(),
        if report.skipped_chunks > 0 {
            format!(" ({} ignorable chunks skipped)", report.skipped_chunks)
        } else {
            String::new()
        }
    );
    match checked {
        Completeness::Whole(m) => eprintln!(
            "{} innohot extract: every file matches {MANIFEST} ({} files{})",
            log_label(now_unix()),
            m.files.len(),
            m.facts.iter().find(|(k, _)| k == "to_lsn").map(|(_, v)| format!(", to_lsn {v}")).unwrap_or_default()
        ),
        Completeness::NotInnohot => eprintln!(
            "{} innohot extract: note: not an innohot stream (no {STREAM_HEAD}): every chunk's CRC-32 was checked, \
             but only the writer's exit status says whether its backup completed",
            log_label(now_unix())
        ),
    }
    eprintln!("{} completed OK!", log_label(now_unix()));
    ExitCode::SUCCESS
}

/// A failure once files were extracted: the directory is marked, so that
/// prepare and copy-back refuse it.
fn fail_marked(dir: &Path, msg: String) -> ExitCode {
    let marker = target::mark_failed(dir, "extract", &msg, &innohot::timefmt::iso(now_unix()));
    let left = marker.map(|m| format!(" ({} says so in {})", dir.display(), m.display())).unwrap_or_default();
    eprintln!("{} innohot extract: {msg}{left}", log_label(now_unix()));
    ExitCode::from(FAILURE)
}
