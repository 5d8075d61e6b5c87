//! The seed (XtraBackup 2.4 on MySQL 5.7.17, docs/BACKUP-PHASES.md) checked on
//! a real MySQL 5.7 server: a backup of it walks the reference run's phases
//! in the reference order (the phase trace, volatile values redacted, is an
//! insta snapshot beside the simulator's), and its metadata files have every
//! key the simulated seed backup's have (snapshots/sim_seed1_metadata.snap).
//! Needs INNOHOT_MYSQL57_TARBALL / _BASEDIR (and XtraBackup 2.4's, which the
//! testbed asks for too); prints why it skips otherwise.

use innohot_testbeds::{innohot, mysql57_or_skip, BackupKind, Run, ServerBuilder, Workload, WorkloadConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every run of digits as `#` (what the trace's notes already went through).
fn digits_hidden(s: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The trace with this run's paths named, and each run of file copies (their
/// number and names depend on the server's version and schema) folded into
/// one line per phase and lane.
fn redact(trace: &str, paths: &[(&Path, &str)]) -> String {
    let mut text = trace.to_string();
    for (p, name) in paths {
        let p = p.display().to_string();
        text = text.replace(&p, name).replace(&digits_hidden(&p), name);
    }
    let mut out: Vec<String> = Vec::new();
    // Whether the copier's MLOG_INDEX_LOAD scan meets a record type its
    // decoder does not know depends on the redo the server happened to write
    // (seen on 5.7.41: type 24); printed, not part of the phase snapshot.
    // The pace's notes (`--throttle=auto`) depend on the server's load and the
    // copy's length: printed too.
    for line in text.lines().filter(|l| {
        let noted = l.contains("redo record decoding stopped") || l.contains("] pace: ");
        if noted {
            eprintln!("note left out of the snapshot: {l}");
        }
        !noted
    }) {
        let (head, what) = line.split_at(line.find("] ").map(|i| i + 2).unwrap_or(0));
        let what = if what.starts_with("copy ") || what.starts_with("done ") || what.starts_with("Copying ") {
            "[file copies]".to_string()
        } else {
            digits_hidden(what)
        };
        let line = format!("{head}{what}");
        if out.last() != Some(&line) {
            out.push(line);
        }
    }
    out.join("\n")
}

/// Keys (`key = value` or `key=value`) of each `==> file <==` section.
fn keys_by_file(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut file = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("==> ").and_then(|l| l.strip_suffix(" <==")) {
            file = name.to_string();
            out.entry(file.clone()).or_default();
        } else if let Some((k, _)) = line.split_once('=').filter(|_| !file.is_empty() && !line.starts_with('#')) {
            out.get_mut(&file).expect("section").insert(k.trim().to_string());
        }
    }
    out
}

#[test]
fn a_real_5_7_backup_follows_the_seed_phases_and_writes_every_seed_key() {
    let Some(b) = mysql57_or_skip() else { return };
    let src = ServerBuilder::new(b.clone())
        .innodb_log_file_size("48M")
        .option("--gtid-mode=ON")
        .option("--enforce-gtid-consistency")
        .start()
        .expect("start MySQL 5.7");
    let cfg = WorkloadConfig { schema: "seed".into(), tables_per_engine: 2, aria: false, ..WorkloadConfig::default() };
    Workload::setup(&mut src.conn().unwrap(), &cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let trace_file = dir.path().join("trace.txt");
    let mut cmd = innohot!().backup_command(&src, &target, &[]);
    Run::of(cmd.env("INNOHOT_DEBUG_TRACE_FILE", &trace_file)).assert_backup_completed(&target, BackupKind::Full);
    let trace = std::fs::read_to_string(&trace_file).expect("the trace file");

    // The phases begin in the reference run's order: 1 to 25, 13 being the
    // log copier's passes during the copy.
    let begun: Vec<u8> =
        trace.lines().filter(|l| l.ends_with("] begin")).map(|l| l[..2].parse().expect("a phase number")).collect();
    let expected: Vec<u8> = (1..=25).filter(|&n| n != 13).collect();
    assert_eq!(begun, expected, "phases began out of order:\n{trace}");
    assert!(trace.trim_end().ends_with("completed OK!"), "{trace}");

    let datadir = src.datadir().to_path_buf();
    let basedir = b.basedir.clone().expect("a 5.7 basedir");
    let text = redact(
        &trace,
        &[(&target, "<backup>"), (&datadir, "<datadir>"), (src.socket(), "<socket>"), (&basedir, "<basedir>")],
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("mysql57_real_phase_trace", text));

    // Every key of every metadata file the simulated seed backup writes.
    let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots/sim_seed1_metadata.snap"))
        .expect("the simulator's metadata snapshot");
    for (file, keys) in keys_by_file(&seed) {
        let ours = std::fs::read_to_string(target.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let ours = keys_by_file(&format!("==> {file} <==\n{ours}")).remove(&file).unwrap_or_default();
        let missing: Vec<&String> = keys.difference(&ours).collect();
        assert!(missing.is_empty(), "{file} of the real backup lacks the seed's keys {missing:?}");
    }
}
