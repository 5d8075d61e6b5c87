//! Hides a `--password=VALUE` from the process list, as the mysql clients do:
//! the value's bytes in the process's own argv (what `ps` and
//! /proc/PID/cmdline show) are overwritten with `x` right at startup.
//!
//! Rust's std copies argv before `main`; the original array is captured the
//! way std itself captures it on Linux/glibc, from an `.init_array` entry,
//! which the C runtime calls with (argc, argv, envp).

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CAPTURE_ARGV: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) = capture;

#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
extern "C" fn capture(argc: libc::c_int, argv: *mut *mut libc::c_char, _envp: *mut *mut libc::c_char) {
    ARGC.store(argc.max(0) as usize, Ordering::SeqCst);
    ARGV.store(argv, Ordering::SeqCst);
}

/// Where the secret value of a password option starts, if `arg` is one
/// (`--password=VALUE` in every spelling, or the short `-pVALUE`).
pub fn password_value_at(arg: &[u8]) -> Option<usize> {
    if arg.len() > 2 && arg.starts_with(b"-p") {
        return Some(2);
    }
    let name_and_value = arg.strip_prefix(b"--")?;
    let eq = name_and_value.iter().position(|&b| b == b'=')?;
    let name: Vec<u8> = name_and_value[..eq].iter().map(|&b| if b == b'_' { b'-' } else { b }).collect();
    let name = name.strip_prefix(b"loose-").unwrap_or(&name);
    (name == b"password" || name == b"pass").then_some(2 + eq + 1)
}

/// Whether `arg` is a bare `--password` (any spelling), whose value is the next word.
fn is_bare_password_flag(arg: &[u8]) -> bool {
    let Some(name) = arg.strip_prefix(b"--") else { return false };
    let name: Vec<u8> = name.iter().map(|&b| if b == b'_' { b'-' } else { b }).collect();
    let name = name.strip_prefix(b"loose-").unwrap_or(&name);
    name == b"password" || name == b"pass"
}

/// For each argument (argv[1..]), where its secret starts if it holds one: the value of
/// `--password=VALUE` or `-pVALUE`, or the whole word after a bare `--password` (`--password VALUE`).
pub fn secret_starts(args: &[&[u8]]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_value = false;
    for arg in args {
        if next_is_value && !arg.starts_with(b"-") {
            out.push(Some(0));
            next_is_value = false;
            continue;
        }
        next_is_value = is_bare_password_flag(arg);
        out.push(password_value_at(arg));
    }
    out
}

/// Overwrites every password value in the original argv with `x`. Returns how many were hidden.
pub fn hide_passwords() -> usize {
    let argv = ARGV.load(Ordering::SeqCst);
    let argc = ARGC.load(Ordering::SeqCst);
    if argv.is_null() {
        return 0;
    }
    let mut hidden = 0;
    // SAFETY: argv holds argc valid pointers to NUL-terminated strings (the C runtime's
    // contract for the .init_array call).
    let words: Vec<&[u8]> = (1..argc)
        .map(|i| unsafe {
            let p = *argv.add(i);
            if p.is_null() {
                &[][..]
            } else {
                std::ffi::CStr::from_ptr(p).to_bytes()
            }
        })
        .collect();
    let starts = secret_starts(&words);
    for i in 1..argc {
        // SAFETY: as above; the strings are writable process memory and only their value
        // bytes are changed, in place, never their length.
        unsafe {
            let p = *argv.add(i);
            if p.is_null() {
                continue;
            }
            let bytes = std::ffi::CStr::from_ptr(p).to_bytes();
            if let Some(start) = starts[i - 1] {
                let len = bytes.len();
                for j in start..len {
                    *p.add(j) = b'x' as libc::c_char;
                }
                hidden += 1;
            }
        }
    }
    hidden
}

/// A bare `--password` with no terminal to ask on (or none that answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("--password without =VALUE asks on a terminal, and stdin is not one: {}", crate::args::PASSWORD_HOW)]
pub struct NoTerminal;

/// Asks for the password on the terminal without echo (a bare `--password` or `-p`).
pub fn ask_password() -> Result<String, NoTerminal> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(NoTerminal);
    }
    eprint!("Enter password: ");
    let _ = std::io::stderr().flush();
    // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed, then kernel-filled termios.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(0, &mut saved) } == 0;
    if have_tty {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: as above; `quiet` is a valid termios copied from the terminal's.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if have_tty {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    }
    read.map_err(|_| NoTerminal)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_spelling_of_a_password_value() {
        assert_eq!(password_value_at(b"--password=abc"), Some(11));
        assert_eq!(password_value_at(b"--pass=abc"), Some(7));
        assert_eq!(password_value_at(b"--loose_password=abc"), Some(17));
        assert_eq!(password_value_at(b"--password"), None);
        assert_eq!(password_value_at(b"--passwords=abc"), None);
        assert_eq!(password_value_at(b"--user=password"), None);
        assert_eq!(password_value_at(b"-pxyz"), Some(2));
        assert_eq!(password_value_at(b"-p"), None);
        assert_eq!(password_value_at(b"-ubackup"), None);
    }

    #[test]
    fn the_word_after_a_bare_password_is_a_secret_too() {
        let args: [&[u8]; 6] = [b"--user", b"backup", b"--password", b"xyz", b"--loose_pass", b"--slave-info"];
        assert_eq!(secret_starts(&args), [None, None, None, Some(0), None, None]);
        let args: [&[u8]; 3] = [b"--password=a", b"-pb", b"c"];
        assert_eq!(secret_starts(&args), [Some(11), Some(2), None]);
    }
}
