//! Renders a run's events as the phase trace the snapshots hold: one line per
//! event, paths made relative, consecutive log-copier passes folded.

use innohot::events::{Event, EventKind, Phase, Role};
use std::path::Path;

fn redact(s: &str, root: &Path) -> String {
    let target = root.join("backup");
    s.replace(&target.display().to_string(), "<backup>")
        .replace(&root.join("mysqldata1").join("mydata").display().to_string(), "<datadir>")
        .replace(&root.display().to_string(), "<sim>")
}

/// One line per event; volatile values (paths, LSNs, bytes, times) kept out
/// when `stable` is set, so that the snapshot reads like the phase list.
pub fn render(events: &[Event], root: &Path, stable: bool) -> String {
    let mut out = String::new();
    let mut polls = 0u64;
    let flush_polls = |out: &mut String, polls: &mut u64| {
        if *polls > 0 {
            let what = if stable { "copy passes".to_string() } else { format!("{polls} copy passes") };
            out.push_str(&format!("13 {:<20} [{:<6}] {what}\n", Phase::LogFollows.name(), "log"));
            *polls = 0;
        }
    };
    for e in events {
        if e.role == Role::LogCopier && e.phase == Phase::LogFollows {
            polls += 1;
            continue;
        }
        let what = match &e.kind {
            EventKind::PhaseStarted => String::from("begin"),
            EventKind::Note(n) if stable => {
                let n = redact(n, root);
                // Numbers in notes vary with the seed: keep the words only.
                hide_numbers(&n)
            }
            EventKind::Note(n) => redact(n, root),
            EventKind::ToolLine(n) => redact(n, root),
            EventKind::Statement(s) => format!("sql: {s}"),
            EventKind::CopyStarted { source, target } => {
                format!("copy {} -> {}", redact(source, root), redact(target, root))
            }
            EventKind::CopyDone { target, bytes } if stable => {
                let _ = bytes;
                format!("done {}", redact(target, root))
            }
            EventKind::CopyDone { target, bytes } => format!("done {} ({bytes} bytes)", redact(target, root)),
            EventKind::PageRetry { file, page, attempt, .. } if !stable => {
                format!("re-read {} page {page} (attempt {attempt})", redact(file, root))
            }
            EventKind::PageRetry { .. } => continue,
            EventKind::LogScanned { lsn, .. } if !stable => format!("log scanned up to ({lsn})"),
            EventKind::LogScanned { .. } => "log scanned".into(),
            EventKind::Written { file, bytes } if !stable => format!("wrote {file} ({bytes} bytes)"),
            EventKind::Written { file, .. } => format!("wrote {file}"),
            EventKind::Completed => "completed OK!".into(),
        };
        // The orchestrator's own events (phase 13 included: MySQL 5.7's copy
        // before the lock) end a run of folded passes.
        flush_polls(&mut out, &mut polls);
        out.push_str(&format!("{:02} {:<20} [{:<6}] {}\n", e.phase.number(), e.phase.name(), e.role.to_string(), what));
    }
    flush_polls(&mut out, &mut polls);
    out
}

/// Every run of digits becomes `#`, and every quoted value (`'...'`) becomes `'#'`.
///
/// A quote opens a value only where a word cannot continue (at the start or
/// after a space or punctuation) and only if a closing quote follows; any other
/// `'` is an apostrophe ("simulator's") and stays, so the words around it do too.
fn hide_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_number = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens = c == '\'' && (i == 0 || !chars[i - 1].is_alphanumeric());
        if let Some(len) = chars[i + 1..].iter().position(|&q| q == '\'').filter(|_| opens) {
            out.push_str("'#'");
            in_number = false;
            i += len + 2;
            continue;
        }
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hide_numbers;

    #[test]
    fn numbers_and_quoted_values_are_hidden() {
        assert_eq!(
            hide_numbers("checkpoint no 7 at LSN 8192 (group offset 2048)"),
            "checkpoint no # at LSN # (group offset #)"
        );
        assert_eq!(
            hide_numbers("MySQL binlog position: filename 'mysql-bin.000002', position '1333398'"),
            "MySQL binlog position: filename '#', position '#'"
        );
        assert_eq!(
            hide_numbers("The latest check point (for incremental): '127612851'"),
            "The latest check point (for incremental): '#'"
        );
    }

    /// An apostrophe is not a quote: the words after it must survive.
    #[test]
    fn an_apostrophe_keeps_the_rest_of_the_line() {
        assert_eq!(
            hide_numbers("options from the simulator's seed: chunk 1048576 bytes, log poll every 1 ms"),
            "options from the simulator's seed: chunk # bytes, log poll every # ms"
        );
        assert_eq!(hide_numbers("the server's 'x' and 'y'"), "the server's '#' and '#'");
        // A quote that never closes hides nothing.
        assert_eq!(hide_numbers("an 'open quote 42"), "an 'open quote #");
    }
}
