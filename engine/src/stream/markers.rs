//! What a streamed backup cannot take back, written as mariabackup's marker
//! files, and the stream's manifest.
//!
//! A directory backup removes a dropped table's copy, renames a renamed
//! one and copies a rebuilt one again over the old copy. A stream has already
//! sent those bytes, so at its end it says what to do with them, in the
//! files mariabackup writes for the same events (its `backup_fix_ddl`), which
//! prepare applies before anything else, in this order:
//! - `db/t.del` (empty): `db/t.ibd` was dropped: delete it;
//! - `db/t.ren` holding `db/u` (no `.ibd`, no line break): rename
//!   `db/t.ibd` to `db/u.ibd`;
//! - `db/t.new`: a new copy of `db/t.ibd` (a table created or rebuilt after
//!   its first copy was sent): it replaces `db/t.ibd`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;

/// A dropped table's marker suffix.
pub const DEL_SUFFIX: &str = ".del";
/// A renamed table's marker suffix.
pub const REN_SUFFIX: &str = ".ren";
/// A table copied again: the new copy's suffix.
pub const NEW_SUFFIX: &str = ".new";
const IBD: &str = ".ibd";

/// The stream's bookkeeping: each name of the backup (as a directory backup
/// would have it now) and the stream file holding its bytes.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// Every stream name used so far: a name is sent once.
    used: BTreeSet<String>,
    /// Files being sent: stream name → the backup's name.
    open: BTreeMap<String, String>,
    /// Files complete in the stream: stream name → size and CRC-32.
    sent: BTreeMap<String, (u64, u32)>,
    /// The backup's names of the files sent: name → stream name.
    live: BTreeMap<String, String>,
    /// Files held until `publish` names them.
    held: HashMap<String, Vec<u8>>,
    /// Stream names sent under another name on the wire (`NAME.zst`).
    wire: HashMap<String, String>,
}

fn exists(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("{name} is already in the stream"))
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{name} is not in the stream"))
}

fn cannot_take_back(name: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{name} was already sent and cannot be {what} in a stream (only a table's .ibd can, through \
             mariabackup's .del/.ren/.new marker files); take the backup again, or take it into a directory"
        ),
    )
}

/// `db/t` for `db/t.ibd`: the name mariabackup's markers use.
fn space_name(stream_name: &str) -> Option<&str> {
    table_file(stream_name).map(|(space, _)| space)
}

/// A table's file in the stream: its space name and what follows `.ibd`:
/// `db/t.ibd` → (`db/t`, ``); an incremental's `db/t.ibd.delta` and
/// `db/t.ibd.meta` → (`db/t`, `.delta`), (`db/t`, `.meta`).
fn table_file(stream_name: &str) -> Option<(&str, &str)> {
    [crate::format::delta::DELTA_SUFFIX, crate::format::delta::META_SUFFIX, ""].into_iter().find_map(|rest| {
        let space = stream_name.strip_suffix(rest)?.strip_suffix(IBD)?;
        Some((space, rest))
    })
}

/// A table's file sent again: `db/t.new` for `db/t.ibd`, `db/t.new.delta`
/// for `db/t.ibd.delta` (the name mariabackup's prepare takes a delta of a
/// table created during an incremental backup under).
fn new_name(stream_name: &str) -> Option<String> {
    table_file(stream_name).map(|(space, rest)| format!("{space}{NEW_SUFFIX}{rest}"))
}

impl Ledger {
    fn taken(&self, name: &str) -> bool {
        self.live.contains_key(name) || self.held.contains_key(name) || self.open.values().any(|n| n == name)
    }

    /// Opens the backup's file `name`: the stream name its bytes go under.
    /// A table's `.ibd` sent before (and since dropped or renamed away) is
    /// sent again as mariabackup's `.new`.
    pub(super) fn open(&mut self, name: &str) -> io::Result<String> {
        if self.taken(name) {
            return Err(exists(name));
        }
        let stream_name = match (self.used.contains(name), new_name(name)) {
            (false, _) => name.to_string(),
            (true, Some(new)) => new,
            (true, None) => return Err(cannot_take_back(name, "written again")),
        };
        if !self.used.insert(stream_name.clone()) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{name} was created again a second time during the backup, and a stream carries at most two \
                     copies of a table; take the backup again"
                ),
            ));
        }
        self.open.insert(stream_name.clone(), name.to_string());
        Ok(stream_name)
    }

    /// The file sent as `stream_name` (as `wire` on the wire, `size` bytes
    /// there whose CRC-32 is `crc`) is complete in the stream.
    pub(super) fn sent(&mut self, stream_name: &str, wire: &str, size: u64, crc: u32) {
        if wire != stream_name {
            self.wire.insert(stream_name.to_string(), wire.to_string());
        }
        if let Some(name) = self.open.remove(stream_name) {
            self.live.insert(name, stream_name.to_string());
        }
        self.sent.insert(stream_name.to_string(), (size, crc));
    }

    /// A closed file held back (its final name comes with `publish`).
    pub(super) fn hold(&mut self, stream_name: &str, contents: Vec<u8>) -> io::Result<()> {
        let name = self.open.remove(stream_name).unwrap_or_else(|| stream_name.to_string());
        self.used.remove(stream_name);
        self.held.insert(name, contents);
        Ok(())
    }

    pub(super) fn remove(&mut self, name: &str) -> io::Result<()> {
        if self.held.remove(name).is_some() {
            return Ok(());
        }
        let Some(stream_name) = self.live.get(name) else {
            return Err(not_found(name));
        };
        if space_name(stream_name).is_none() {
            return Err(cannot_take_back(name, "removed"));
        }
        self.live.remove(name);
        Ok(())
    }

    /// Renames `from` to `to`; never replaces. A held file's contents are
    /// returned: the caller sends them under `to`.
    pub(super) fn rename(&mut self, from: &str, to: &str) -> io::Result<Option<Vec<u8>>> {
        if self.taken(to) {
            return Err(exists(to));
        }
        if let Some(contents) = self.held.remove(from) {
            return Ok(Some(contents));
        }
        let Some(stream_name) = self.live.get(from) else {
            return Err(not_found(from));
        };
        if space_name(stream_name).is_none() {
            return Err(cannot_take_back(from, "renamed"));
        }
        let stream_name = self.live.remove(from).expect("looked up above");
        self.live.insert(to.to_string(), stream_name);
        Ok(None)
    }

    pub(super) fn open_files(&self) -> Vec<String> {
        self.open.keys().cloned().collect()
    }

    pub(super) fn sent_count(&self) -> usize {
        self.sent.len()
    }

    /// The marker files (name, contents) that make the stream's files the
    /// backup's as they stand now, less those already sent.
    pub(super) fn take_markers(&mut self) -> Vec<(String, Vec<u8>)> {
        let now_as: HashMap<&str, &str> = self.live.iter().map(|(n, s)| (s.as_str(), n.as_str())).collect();
        // By marker name: an incremental's delta and meta of one table say the same.
        let mut markers = BTreeMap::new();
        for stream_name in self.sent.keys() {
            let Some((space, rest)) = table_file(stream_name) else { continue };
            match now_as.get(stream_name.as_str()) {
                Some(name) if *name == stream_name => {}
                Some(_) if planted_skip_ren_marker() => {}
                Some(name) => {
                    let to = space_name(name).unwrap_or(name);
                    markers.insert(format!("{space}{REN_SUFFIX}"), to.as_bytes().to_vec());
                }
                // A rebuilt table's `.new` replaces the old copy by itself.
                None if self.sent.contains_key(&format!("{space}{NEW_SUFFIX}{rest}")) => {}
                None => {
                    markers.insert(format!("{space}{DEL_SUFFIX}"), Vec::new());
                }
            }
        }
        // Those sent by an earlier call.
        markers.into_iter().filter(|(name, _)| !self.used.contains(name)).collect()
    }
}

/// Test builds only: `planted::SKIP_REN_MARKER` leaves the `.ren` markers out.
fn planted_skip_ren_marker() -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::SKIP_REN_MARKER.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    false
}

/// The manifest's text: `facts` as `key = value` lines, then one
/// `file = SIZE CRC32 NAME` line per file sent, by name.
pub(super) fn manifest(ledger: &Ledger, facts: &[(&str, String)]) -> String {
    let mut text = String::from(
        "# innohot_manifest: every file of this stream, its size in bytes and CRC-32 (zlib's, hex).\n\
         # It is sent last and only when the backup completed.\nformat = 1\n",
    );
    for (k, v) in facts {
        text.push_str(&format!("{k} = {v}\n"));
    }
    for (name, (size, crc)) in &ledger.sent {
        let name = ledger.wire.get(name).unwrap_or(name);
        text.push_str(&format!("file = {size} {crc:08x} {name}\n"));
    }
    text
}

/// A manifest read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub facts: Vec<(String, String)>,
    /// Name → size and CRC-32.
    pub files: BTreeMap<String, (u64, u32)>,
}

/// Reads a manifest's text; None when it is not one.
pub fn parse_manifest(text: &str) -> Option<Manifest> {
    let mut m = Manifest::default();
    let mut format = None;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (k, v) = line.split_once(" = ")?;
        match k {
            "format" => format = Some(v.to_string()),
            "file" => {
                let mut parts = v.splitn(3, ' ');
                let size = parts.next()?.parse().ok()?;
                let crc = u32::from_str_radix(parts.next()?, 16).ok()?;
                m.files.insert(parts.next()?.to_string(), (size, crc));
            }
            _ => m.facts.push((k.to_string(), v.to_string())),
        }
    }
    (format.as_deref() == Some("1")).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(l: &mut Ledger, name: &str) -> String {
        let s = l.open(name).unwrap();
        l.sent(&s, &s, 1, 0);
        s
    }

    fn markers(l: &mut Ledger) -> Vec<(String, String)> {
        l.take_markers().into_iter().map(|(n, c)| (n, String::from_utf8(c).unwrap())).collect()
    }

    #[test]
    fn an_incremental_tables_delta_and_meta_make_one_marker_and_a_new_copy_keeps_its_suffix() {
        let mut l = Ledger::default();
        for f in ["db/r.ibd.delta", "db/r.ibd.meta", "db/d.ibd.delta", "db/d.ibd.meta", "db/n.ibd.delta"] {
            send(&mut l, f);
        }
        for f in ["db/r.ibd.delta", "db/r.ibd.meta"] {
            l.rename(f, &f.replace("db/r", "db/r2")).unwrap();
        }
        for f in ["db/d.ibd.delta", "db/d.ibd.meta"] {
            l.remove(f).unwrap();
        }
        l.remove("db/n.ibd.delta").unwrap();
        assert_eq!(send(&mut l, "db/n.ibd.delta"), "db/n.new.delta");
        assert_eq!(
            markers(&mut l),
            vec![("db/d.del".to_string(), String::new()), ("db/r.ren".to_string(), "db/r2".to_string())]
        );
    }

    #[test]
    fn a_dropped_table_gets_a_del_marker() {
        let mut l = Ledger::default();
        send(&mut l, "db/t.ibd");
        send(&mut l, "db/u.ibd");
        l.remove("db/t.ibd").unwrap();
        assert_eq!(markers(&mut l), [("db/t.del".to_string(), String::new())]);
    }

    #[test]
    fn a_renamed_table_through_a_temporary_name_gets_one_ren_marker() {
        let mut l = Ledger::default();
        send(&mut l, "db/t.ibd");
        l.rename("db/t.ibd", "db/t.ibd.innohot-rename").unwrap();
        l.rename("db/t.ibd.innohot-rename", "other/u.ibd").unwrap();
        assert_eq!(markers(&mut l), [("db/t.ren".to_string(), "other/u".to_string())]);
    }

    #[test]
    fn a_rebuilt_table_is_sent_again_as_new_and_needs_no_del() {
        let mut l = Ledger::default();
        send(&mut l, "db/t.ibd");
        l.remove("db/t.ibd").unwrap();
        assert_eq!(send(&mut l, "db/t.ibd"), "db/t.new");
        assert_eq!(markers(&mut l), []);
    }

    #[test]
    fn swapped_tables_get_two_ren_markers() {
        let mut l = Ledger::default();
        send(&mut l, "db/a.ibd");
        send(&mut l, "db/b.ibd");
        l.rename("db/a.ibd", "db/a.ibd.tmp").unwrap();
        l.rename("db/b.ibd", "db/b.ibd.tmp").unwrap();
        l.rename("db/a.ibd.tmp", "db/b.ibd").unwrap();
        l.rename("db/b.ibd.tmp", "db/a.ibd").unwrap();
        assert_eq!(
            markers(&mut l),
            [("db/a.ren".to_string(), "db/b".to_string()), ("db/b.ren".to_string(), "db/a".to_string())]
        );
    }

    #[test]
    fn names_are_never_replaced_and_other_files_are_never_taken_back() {
        let mut l = Ledger::default();
        send(&mut l, "db/a.ibd");
        send(&mut l, "db/b.ibd");
        send(&mut l, "db/t.frm");
        assert_eq!(l.open("db/a.ibd").unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(l.rename("db/a.ibd", "db/b.ibd").unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(l.remove("db/t.frm").unwrap_err().kind(), io::ErrorKind::Unsupported);
        assert_eq!(l.remove("db/nothing.ibd").unwrap_err().kind(), io::ErrorKind::NotFound);
        l.remove("db/a.ibd").unwrap();
        assert_eq!(send(&mut l, "db/a.ibd"), "db/a.new");
        // Its marker would delete the first copy but leave the second to replace it.
        assert_eq!(l.remove("db/a.ibd").unwrap_err().kind(), io::ErrorKind::Unsupported);
    }

    #[test]
    fn a_held_file_is_sent_under_the_name_it_is_published_as() {
        let mut l = Ledger::default();
        let s = l.open("x.pending").unwrap();
        l.hold(&s, b"abc".to_vec()).unwrap();
        assert_eq!(l.rename("x.pending", "x").unwrap(), Some(b"abc".to_vec()));
        let s = l.open("x").unwrap();
        assert_eq!(s, "x");
        l.sent(&s, &s, 3, 7);
        assert_eq!(l.sent.keys().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn a_manifest_reads_back() {
        let mut l = Ledger::default();
        let s = l.open("db/t.ibd").unwrap();
        l.sent(&s, &s, 65536, 0xdeadbeef);
        let text = manifest(&l, &[("to_lsn", "42".into())]);
        let m = parse_manifest(&text).unwrap();
        assert_eq!(m.facts, [("to_lsn".to_string(), "42".to_string())]);
        assert_eq!(m.files["db/t.ibd"], (65536, 0xdeadbeef));
        assert_eq!(parse_manifest("file = 1 2 x\n"), None);
    }
}
