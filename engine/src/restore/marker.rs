//! `innohot_restore_in_progress`: what a copy-back or move-back is doing, written
//! into the datadir (durably) before anything else, removed (durably) after
//! everything else. While it is there the datadir is not a restored datadir, and
//! a re-run of the same command reads it to undo or finish the interrupted one.
//!
//! Text, one record per line, fields separated by tabs (`\`, tab and newline in
//! paths escaped), ending with `end` so that a torn file is recognised:
//!
//! ```text
//! # <what the file is, for a person>
//! mode<TAB>copy|move
//! backup<TAB>/the/backup
//! datadir<TAB>/the/datadir
//! state<TAB>placing|removing-sources
//! dir<TAB>/a/directory/the/restore/creates   (parents first)
//! file<TAB>/from<TAB>/to                      (or link: a rewritten .isl)
//! end
//! ```

use super::copyback::{Item, Mode};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The marker's name in the datadir.
pub const MARKER: &str = "innohot_restore_in_progress";
/// Where `replace_durably` writes the marker's next version first.
pub const MARKER_NEW: &str = ".innohot_restore_in_progress.innohot-new";

/// One restore, as its marker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub mode: Mode,
    pub backup: PathBuf,
    pub datadir: PathBuf,
    /// Every copy is durable; the sources moved across file systems are being removed.
    pub removing_sources: bool,
    /// Directories the restore creates, parents first.
    pub dirs: Vec<PathBuf>,
    pub items: Vec<Item>,
}

impl Marker {
    pub fn path(&self) -> PathBuf {
        self.datadir.join(MARKER)
    }

    pub fn command(&self) -> &'static str {
        match self.mode {
            Mode::Copy => "copy-back",
            Mode::Move => "move-back",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "# innohot {} of this backup into this datadir did not finish: the datadir is incomplete. Run the same \
             command again to undo or finish it; never start a server on it.\n",
            self.command()
        )
        .into_bytes();
        let line = |out: &mut Vec<u8>, fields: &[&[u8]]| {
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                escape(f, out);
            }
            out.push(b'\n');
        };
        let mode: &[u8] = if self.mode == Mode::Move { b"move" } else { b"copy" };
        line(&mut out, &[b"mode", mode]);
        line(&mut out, &[b"backup", bytes(&self.backup)]);
        line(&mut out, &[b"datadir", bytes(&self.datadir)]);
        let state: &[u8] = if self.removing_sources { b"removing-sources" } else { b"placing" };
        line(&mut out, &[b"state", state]);
        for d in &self.dirs {
            line(&mut out, &[b"dir", bytes(d)]);
        }
        for i in &self.items {
            let kind: &[u8] = if i.link_rewritten { b"link" } else { b"file" };
            line(&mut out, &[kind, bytes(&i.from), bytes(&i.to)]);
        }
        line(&mut out, &[b"end"]);
        out
    }

    /// None unless the whole file is there and well formed.
    pub fn decode(text: &[u8]) -> Option<Marker> {
        let mut m = Marker {
            mode: Mode::Copy,
            backup: PathBuf::new(),
            datadir: PathBuf::new(),
            removing_sources: false,
            dirs: vec![],
            items: vec![],
        };
        if !text.ends_with(b"\nend\n") {
            return None;
        }
        let mut ended = false;
        for raw in text.split(|&b| b == b'\n').filter(|l| !l.is_empty() && l[0] != b'#') {
            if ended {
                return None;
            }
            let fields: Vec<Vec<u8>> = raw.split(|&b| b == b'\t').map(unescape).collect::<Option<_>>()?;
            let path = |i: usize| fields.get(i).map(|f| PathBuf::from(std::ffi::OsString::from_vec(f.clone())));
            match (fields[0].as_slice(), fields.len()) {
                (b"mode", 2) => m.mode = if fields[1] == b"move" { Mode::Move } else { Mode::Copy },
                (b"backup", 2) => m.backup = path(1)?,
                (b"datadir", 2) => m.datadir = path(1)?,
                (b"state", 2) => m.removing_sources = fields[1] == b"removing-sources",
                (b"dir", 2) => m.dirs.push(path(1)?),
                (kind @ (b"file" | b"link"), 3) => {
                    m.items.push(Item { from: path(1)?, to: path(2)?, link_rewritten: kind == b"link", size: 0 })
                }
                (b"end", 1) => ended = true,
                _ => return None,
            }
        }
        (ended && !m.datadir.as_os_str().is_empty()).then_some(m)
    }
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn escape(field: &[u8], out: &mut Vec<u8>) {
    for &b in field {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(field.len());
    let mut it = field.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match it.next()? {
            b'\\' => b'\\',
            b't' => b'\t',
            b'n' => b'\n',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_reads_back_and_a_torn_one_does_not() {
        let m = Marker {
            mode: Mode::Move,
            backup: PathBuf::from("/b"),
            datadir: PathBuf::from("/d a\tb"),
            removing_sources: true,
            dirs: vec![PathBuf::from("/d a\tb/x\\y")],
            items: vec![
                Item { from: "/b/t\n.ibd".into(), to: "/d/t\n.ibd".into(), link_rewritten: false, size: 0 },
                Item { from: "/b/r.isl".into(), to: "/d/r.isl".into(), link_rewritten: true, size: 0 },
            ],
        };
        let text = m.encode();
        assert_eq!(Marker::decode(&text), Some(m));
        for cut in 0..text.len() {
            assert_eq!(Marker::decode(&text[..cut]), None, "cut at {cut}");
        }
    }
}
