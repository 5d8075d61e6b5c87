//! `innohot verify`: a backup directory checked without restoring it (see [`innohot::verify`]).

use crate::commands::common::FAILURE;
use std::process::ExitCode;

/// `innohot verify --target-dir DIR`: the report on stdout, exit 0 or 1.
pub fn run(dir: &std::path::Path) -> ExitCode {
    let fs = innohot::io::real::RealSourceFs;
    match innohot::verify::verify(&fs, dir) {
        Ok(r) => {
            for n in &r.notes {
                println!("note: {n}");
            }
            for p in &r.problems {
                println!("problem: {p}");
            }
            println!("{}", innohot::verify::summary(&r, dir));
            if r.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(FAILURE)
            }
        }
        Err(e) => {
            eprintln!("innohot verify: {e}");
            ExitCode::from(FAILURE)
        }
    }
}
