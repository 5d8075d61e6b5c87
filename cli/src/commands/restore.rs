//! `innohot copy-back` and `innohot move-back`: a prepared backup put into the server's directories.

use crate::args::RestoreCmd;
use crate::commands::common::usage_error;
use crate::commands::run::{BadValue, CmdFailure, Run};
use innohot::io::local::RealLocalFs;
use innohot::io::Owner;
use innohot::restore::copyback::{self, Mode, Ownership, RestoreOptions};
use innohot::ErrorKind;
use serde_json::{json, Map};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `innohot copy-back` / `move-back`.
pub fn run(cmd: &RestoreCmd, mode: Mode) -> ExitCode {
    let name = if mode == Mode::Copy { "copy-back" } else { "move-back" };
    let run = Run::new(name, &cmd.common, &cmd.target_dir);
    let opts = match options(cmd, mode) {
        Ok(o) => o,
        Err(OptionsError::Usage(msg)) => return usage_error(name, &msg),
        Err(OptionsError::Failed(msg)) => return run.fail(&CmdFailure::refused(ErrorKind::Usage, msg)),
    };
    if let Some(aside) = crate::export::links_left_aside(&cmd.target_dir).first() {
        let why = format!(
            "{} is a DATA DIRECTORY link an interrupted prepare --export moved aside: run innohot prepare --export \
             again (it puts the links back first), or rename it to its name without the suffix",
            aside.display()
        );
        return run.fail(&CmdFailure::refused(ErrorKind::IncompleteBackup, why));
    }
    run.say(&format!("innohot {name}: {} to {}", cmd.target_dir.display(), opts.datadir.display()));
    if cmd.throttle.is_some() {
        run.say(&format!("innohot {name}: note: --throttle is not applied: {name} reads at full speed"));
    }
    let r = match copyback::restore(&RealLocalFs, &cmd.target_dir, &opts) {
        Ok(r) => r,
        Err(e) => return run.fail(&e.into()),
    };
    if let Some(note) = &r.resumed {
        run.say(note);
    }
    for p in &r.remote {
        run.say(&format!("DATA DIRECTORY table restored to {}", p.display()));
    }
    run.say(&format!(
        "{} files ({} bytes copied, {} renamed) in {}; took {:.2} s; start the server on it",
        r.files,
        r.bytes,
        r.renamed,
        opts.datadir.display(),
        run.started_at.elapsed().as_secs_f64()
    ));
    let mut m = Map::new();
    m.insert("datadir".into(), json!(opts.datadir.display().to_string()));
    m.insert("files".into(), json!(r.files));
    m.insert("bytes_copied".into(), json!(r.bytes));
    m.insert("files_renamed".into(), json!(r.renamed));
    m.insert("remote_files".into(), json!(r.remote.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()));
    m.insert("resumed".into(), json!(r.resumed));
    run.done(if mode == Mode::Copy { "copied" } else { "moved" }, m)
}

/// Why the destination cannot be worked out: the command line or the system (exit 1 either way).
enum OptionsError {
    Usage(String),
    Failed(String),
}

impl From<String> for OptionsError {
    fn from(msg: String) -> Self {
        OptionsError::Failed(msg)
    }
}

/// The destination directories from the flags and the server's option file.
fn options(cmd: &RestoreCmd, mode: Mode) -> Result<RestoreOptions, OptionsError> {
    let settings = match &cmd.defaults_file {
        Some(f) => server_settings(f, cmd.defaults_group_suffix.as_deref(), &|p: &PathBuf| {
            crate::optfile::read_option_file(p)
        })?,
        None => Default::default(),
    };
    let datadir = cmd.datadir.clone().or_else(|| settings.get("datadir").map(PathBuf::from)).ok_or_else(|| {
        OptionsError::Usage(match &cmd.defaults_file {
            None => "--datadir is missing: give --datadir=DIR, the server's datadir (missing or empty), or a \
                     --defaults-file whose [mysqld] group names datadir"
                .to_string(),
            Some(f) => format!(
                "--datadir is missing and {} names no datadir in [mysqld], [server], [mariadb] or [mariadbd]: give \
                 --datadir=DIR",
                f.display()
            ),
        })
    })?;
    let datadir = absolute(&datadir)?;
    let shown = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    // An empty --innodb-data-home-dir= (mariabackup's tests give one) is the datadir, over the file's.
    let given = [
        ("innodb_data_home_dir", cmd.innodb_data_home_dir.clone()),
        ("innodb_undo_directory", shown(&cmd.innodb_undo_directory)),
        ("innodb_log_group_home_dir", shown(&cmd.innodb_log_group_home_dir)),
        ("aria_log_dir_path", shown(&cmd.aria_log_dir_path)),
    ];
    let dir = |key: &str| {
        let flag = given.iter().find(|(k, _)| *k == key).and_then(|(_, v)| v.clone());
        let v = flag.or_else(|| settings.get(key).cloned())?;
        (!v.is_empty()).then(|| datadir.join(v.trim_start_matches("./")))
    };
    let ownership = match &cmd.chown {
        Some(spec) => Ownership::Set(owner(spec).map_err(|e| OptionsError::Usage(e.to_string()))?),
        None => Ownership::Keep,
    };
    let data_files = match cmd.innodb_data_file_path.as_ref().or(settings.get("innodb_data_file_path")) {
        None => Vec::new(),
        Some(spec) => innohot::copy::parse_data_file_path(spec)
            .map_err(|e| OptionsError::Usage(format!("--innodb-data-file-path: {e}")))?
            .into_iter()
            .map(|f| PathBuf::from(f.name))
            .collect(),
    };
    Ok(RestoreOptions {
        data_files,
        data_home_dir: dir("innodb_data_home_dir"),
        undo_dir: dir("innodb_undo_directory"),
        log_dir: dir("innodb_log_group_home_dir"),
        aria_log_dir: dir("aria_log_dir_path"),
        datadir,
        remote_inside_datadir: cmd.remote_tablespaces_inside_datadir,
        ownership,
        mode,
    })
}

fn absolute(p: &Path) -> Result<PathBuf, OptionsError> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir().map(|d| d.join(p)).map_err(|e| OptionsError::Failed(format!("the current directory: {e}")))
}

/// The server's directory settings from its groups ([mysqld], [server],
/// [mariadb], [mariadbd], ...) and the backup tool's ([xtrabackup],
/// [mariabackup], [innohot]), later ones winning, in `path` and what it includes.
/// An option file that cannot be read or parsed is bad input (optfile words it).
fn server_settings(
    path: &Path,
    suffix: Option<&str>,
    read: crate::optfile::ReadFile,
) -> Result<std::collections::BTreeMap<String, String>, OptionsError> {
    let mut out = std::collections::BTreeMap::new();
    for o in crate::optfile::read_options(path, suffix, read).map_err(|e| OptionsError::Usage(e.to_string()))? {
        if o.kind == crate::optfile::GroupKind::Client {
            continue;
        }
        let key = o.name.replace('-', "_");
        if [
            "datadir",
            "innodb_data_home_dir",
            "innodb_data_file_path",
            "innodb_undo_directory",
            "innodb_log_group_home_dir",
            "aria_log_dir_path",
        ]
        .contains(&key.as_str())
        {
            if let Some(v) = o.value.filter(|v| !v.is_empty()) {
                out.insert(key, v);
            }
        }
    }
    Ok(out)
}

/// USER, USER:GROUP or UID:GID.
fn owner(spec: &str) -> Result<Owner, BadValue> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, user_gid) = match user.parse::<u32>() {
        Ok(uid) => (uid, None),
        Err(_) => {
            let c = std::ffi::CString::new(user).map_err(|_| BadValue::ChownUserName(spec.into()))?;
            // SAFETY: getpwnam returns a pointer into static storage or NULL; read at once.
            let pw = unsafe { libc::getpwnam(c.as_ptr()) };
            if pw.is_null() {
                return Err(BadValue::ChownNoUser(user.into()));
            }
            unsafe { ((*pw).pw_uid, Some((*pw).pw_gid)) }
        }
    };
    let gid = match group {
        None => user_gid.ok_or_else(|| BadValue::ChownNoGroup(spec.into()))?,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let c = std::ffi::CString::new(g).map_err(|_| BadValue::ChownGroupName(spec.into()))?;
                // SAFETY: as getpwnam above.
                let gr = unsafe { libc::getgrnam(c.as_ptr()) };
                if gr.is_null() {
                    return Err(BadValue::ChownNoSuchGroup(g.into()));
                }
                unsafe { (*gr).gr_gid }
            }
        },
    };
    Ok(Owner { uid, gid })
}
