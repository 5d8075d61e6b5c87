//! DDL on user tables: CREATE (MariaDB: page 0 written lazily), DROP, RENAME,
//! TRUNCATE, and MySQL 5.7's sorted index builds without redo.

use super::{write_all_at, SimServer, Space};
use crate::config::Flavor;
use crate::datadir::USER_SCHEMAS;
use crate::redo::{FileOp, Mtr, PageChange, PageOp};
use innohot::format::page;
use std::collections::BTreeSet;
use std::path::Path;

impl SimServer {
    /// User tables (not the system schemas), by index in `spaces`.
    pub(super) fn user_tables(&self) -> Vec<usize> {
        let system = ["mysql", "sys", "performance_schema"];
        (0..self.spaces.len())
            .filter(|&i| {
                let s = &self.spaces[i];
                !s.is_system && !system.iter().any(|d| s.rel.starts_with(d))
            })
            .collect()
    }

    pub(super) fn user_schema(&mut self) -> String {
        let n = self.cfg.schemas.max(1) as u64;
        USER_SCHEMAS[self.rng.below(n) as usize % 4].to_string()
    }

    /// CREATE TABLE: the file and its first pages are written directly (as
    /// fil_ibd_create does), then MLOG_FILE_CREATE2 and MLOG_FILE_NAME in one mtr.
    pub(super) fn create_table(&mut self, schema: &str, name: &str) {
        if self.cfg.flavor == Flavor::MariaDb {
            return self.create_table_lazily(schema, name);
        }
        let id = self.next_space_id;
        self.next_space_id += 1;
        let n = self.rng.range(4, self.cfg.table_pages_max.max(5) as u64) as u32;
        let flags = crate::datadir::fsp_flags(self.cfg.flavor, self.cfg.page_size, true);
        let mut cfg = self.cfg.clone();
        cfg.start_lsn = self.log.lsn();
        let mut pages = crate::datadir::tablespace_pages(&mut self.rng, &cfg, id, n, flags, page::PAGE_TYPE_INDEX);
        // No redo describes these pages (only MLOG_FILE_CREATE2 below): they
        // carry the LSN they were written at, as every page a server writes
        // does, never an older one (an incremental backup takes a page by it).
        for p in &mut pages {
            page::set_page_lsn(p, cfg.start_lsn);
            crate::datadir::stamp_page(self.cfg.flavor, p);
        }
        let rel = Path::new(schema).join(format!("{name}.ibd"));
        let path = self.paths.real_datadir.join(&rel);
        std::fs::write(&path, pages.concat()).expect("simulated CREATE TABLE");
        let frm = crate::datadir::random_bytes(&mut self.rng, &[0xFE, 0x01, 0x0A, 0x0C], 600, 4000);
        self.files.write(&self.paths.real_datadir.join(schema).join(format!("{name}.frm")), &frm);
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("simulated table file");
        for (no, p) in pages.iter().enumerate() {
            self.truth.page_written(id, no as u32, p, self.seq);
        }
        let redo_name = format!("./{}", rel.display());
        // fil_ibd_create's mtr names the new tablespace too: MLOG_FILE_CREATE2, MLOG_FILE_NAME.
        let create = FileOp::Create { space: id, flags, name: redo_name.clone() };
        let named = FileOp::Modify { space: id, name: redo_name.clone() };
        self.note_named(id, self.log.lsn());
        self.log.append(&Mtr { files: vec![create, named], pages: vec![] }, &mut self.truth);
        self.spaces.push(Space {
            id,
            path,
            rel,
            redo_name,
            file,
            newest: vec![0; pages.len()],
            oldest: vec![0; pages.len()],
            writable: (3..n).collect(),
            pages,
            is_system: false,
            freed: BTreeSet::new(),
            page0_pending: false,
        });
        self.truth.ddl.push((self.seq, format!("CREATE {schema}.{name} (space {id})")));
    }

    /// MariaDB's CREATE TABLE: FILE_MODIFY in an mtr of its own, then FILE_CREATE
    /// with INIT_PAGE and the first bytes of every page; the file is created full of
    /// zeros and its pages reach it only when the flusher writes them, page 0 first.
    pub(super) fn create_table_lazily(&mut self, schema: &str, name: &str) {
        let id = self.next_space_id;
        self.next_space_id += 1;
        let n = self.rng.range(4, self.cfg.table_pages_max.max(5) as u64) as u32;
        let psize = self.cfg.page_size;
        let flags = crate::datadir::fsp_flags(self.cfg.flavor, psize, true);
        let rel = Path::new(schema).join(format!("{name}.ibd"));
        let path = self.paths.real_datadir.join(&rel);
        let redo_name = format!("./{}", rel.display());
        self.note_named(id, self.log.lsn());
        let modify = FileOp::Modify { space: id, name: redo_name.clone() };
        self.log.append(&Mtr { files: vec![modify], pages: vec![] }, &mut self.truth);
        let mut changes = Vec::new();
        for p in 0..n {
            let ty = match p {
                0 => page::PAGE_TYPE_FSP_HDR,
                1 => page::PAGE_TYPE_IBUF_BITMAP,
                2 => page::PAGE_TYPE_INODE,
                _ => page::PAGE_TYPE_INDEX,
            };
            let mut ops = vec![
                PageOp::Init,
                PageOp::Write { offset: page::FIL_PAGE_TYPE as u16, data: ty.to_be_bytes().to_vec(), string: false },
            ];
            if p == 0 {
                let mut hdr = vec![0u8; page::FSP_SPACE_FLAGS + 4];
                crate::datadir::fsp_header(&mut hdr, id, n, flags);
                let data = hdr[page::FSP_SPACE_ID..].to_vec();
                ops.push(PageOp::Write { offset: page::FSP_SPACE_ID as u16, data, string: false });
            } else if p >= 3 {
                let mut body = vec![0u8; self.rng.range(8, 64) as usize];
                self.rng.fill(&mut body);
                ops.push(PageOp::Write { offset: (page::FIL_PAGE_DATA + 64) as u16, data: body, string: false });
            }
            changes.extend(ops.into_iter().map(|op| PageChange { space: id, page: p, op }));
        }
        let mtr = Mtr { files: vec![FileOp::Create { space: id, flags, name: redo_name.clone() }], pages: changes };
        let encoded = self.log.encode(&mtr);
        self.make_room(encoded.len);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("simulated CREATE TABLE");
        file.set_len(n as u64 * psize as u64).expect("simulated CREATE TABLE extends the file");
        let zero = vec![0u8; psize];
        for no in 0..n {
            self.truth.page_written(id, no, &zero, self.seq);
        }
        let frm = crate::datadir::random_bytes(&mut self.rng, &[0xFE, 0x01, 0x0A, 0x0C], 600, 4000);
        self.files.write(&self.paths.real_datadir.join(schema).join(format!("{name}.frm")), &frm);
        self.spaces.push(Space {
            id,
            path,
            rel,
            redo_name,
            file,
            pages: vec![zero; n as usize],
            newest: vec![0; n as usize],
            oldest: vec![0; n as usize],
            is_system: false,
            writable: (3..n).collect(),
            freed: BTreeSet::new(),
            page0_pending: true,
        });
        let idx = self.spaces.len() - 1;
        mtr.pages.iter().for_each(|c| self.change_page(idx, c));
        let (start, end) = self.log.append_encoded(encoded, &mut self.truth);
        let s = &mut self.spaces[idx];
        s.newest.fill(end);
        s.oldest.fill(start);
        self.truth.ddl.push((self.seq, format!("CREATE {schema}.{name} (space {id}, pages written later)")));
    }

    pub(super) fn drop_table(&mut self, idx: usize) {
        let s = self.spaces.remove(idx);
        std::fs::remove_file(&s.path).expect("simulated DROP TABLE");
        let in_datadir = self.paths.real_datadir.join(&s.rel);
        self.files.remove(&in_datadir.with_extension("frm"));
        self.files.remove(&in_datadir.with_extension("isl"));
        self.named_spaces.retain(|(id, _)| *id != s.id);
        self.truth.dropped_spaces.push(s.id);
        let delete = FileOp::Delete { space: s.id, name: s.redo_name.clone() };
        self.log.append(&Mtr { files: vec![delete], pages: vec![] }, &mut self.truth);
        self.truth.ddl.push((self.seq, format!("DROP {} (space {})", s.rel.display(), s.id)));
    }

    /// One DDL statement on a user table, or a sorted index build that writes
    /// pages without redo (MLOG_INDEX_LOAD), as the configuration allows.
    pub fn ddl(&mut self) {
        self.finish_tear();
        self.flush_log();
        self.ddl_counter += 1;
        let tables = self.user_tables();
        let kind = self.rng.below(if self.cfg.index_loads { 5 } else { 4 });
        if tables.len() <= 2 && (kind == 1 || kind == 3) {
            return; // keep a few tables around
        }
        let victim = tables[self.rng.below(tables.len() as u64) as usize];
        match kind {
            0 => {
                let schema = self.user_schema();
                let name = format!("n{}", self.ddl_counter);
                self.create_table(&schema, &name);
            }
            1 => self.drop_table(victim),
            2 => self.rename_table(victim),
            3 => self.truncate_table(victim),
            _ => self.sorted_index_build(victim),
        }
        self.flush_log();
    }

    /// RENAME TABLE into a user schema (maybe another) as `r<n>`, and its file rename in the redo.
    fn rename_table(&mut self, idx: usize) {
        let schema = self.user_schema();
        let to_rel = Path::new(&schema).join(format!("r{}.ibd", self.ddl_counter));
        let datadir = self.paths.real_datadir.clone();
        let root = self.paths.root.clone();
        let s = &mut self.spaces[idx];
        let (from_here, to_here) = (datadir.join(&s.rel), datadir.join(&to_rel));
        let remote = !s.path.starts_with(&datadir);
        // A DATA DIRECTORY table stays under its data directory, in the new
        // schema's subdirectory as the server moves it; its link file follows.
        let to = if remote {
            let to = crate::mount::remote_dir(&root).join(&to_rel);
            std::fs::create_dir_all(to.parent().expect("a schema dir")).expect("simulated RENAME: dir");
            to
        } else {
            to_here.clone()
        };
        std::fs::rename(&s.path, &to).expect("simulated RENAME TABLE");
        self.files.rename(&from_here.with_extension("frm"), &to_here.with_extension("frm"));
        let new_name = if remote {
            let name = crate::mount::remote_name(&root, &to).expect("a remote table");
            self.files.remove(&from_here.with_extension("isl"));
            self.files.write(&to_here.with_extension("isl"), name.as_bytes());
            name
        } else {
            format!("./{}", to_rel.display())
        };
        let from_name = std::mem::replace(&mut s.redo_name, new_name);
        let rename = FileOp::Rename { space: s.id, from: from_name.clone(), to: s.redo_name.clone() };
        s.path = to;
        s.rel = to_rel;
        let what = format!("RENAME {from_name} TO {} (space {})", s.redo_name, s.id);
        self.log.append(&Mtr { files: vec![rename], pages: vec![] }, &mut self.truth);
        self.truth.ddl.push((self.seq, what));
    }

    /// TRUNCATE as a new tablespace under the same name (8.0 / MariaDB style).
    fn truncate_table(&mut self, idx: usize) {
        let rel = self.spaces[idx].rel.clone();
        let schema = rel.parent().expect("schema dir").display().to_string();
        let name = rel.file_stem().expect("table name").to_string_lossy().to_string();
        self.drop_table(idx);
        self.create_table(&schema, &name);
    }

    /// Bulk index build: new page images straight to disk, no redo for them, only
    /// an MLOG_INDEX_LOAD record (MySQL 5.7).
    pub(super) fn sorted_index_build(&mut self, idx: usize) {
        let s = &mut self.spaces[idx];
        let page_no = s.writable[self.rng.below(s.writable.len() as u64) as usize];
        let psize = self.cfg.page_size;
        let mut image = s.pages[page_no as usize].clone();
        self.rng.fill(&mut image[page::FIL_PAGE_DATA + 64..psize - 8]);
        page::set_page_lsn(&mut image, self.log.lsn());
        page::stamp_legacy_crc32(&mut image);
        write_all_at(&s.file, &image, page_no as u64 * psize as u64);
        s.pages[page_no as usize] = image.clone();
        s.oldest[page_no as usize] = 0;
        let id = s.id;
        self.unflushed_undo.retain(|u| !(u.0 == id && u.1 == page_no));
        self.truth.page_written(id, page_no, &image, self.seq);
        let load = Mtr { files: vec![FileOp::IndexLoad { space: id }], pages: vec![] };
        let (start, _) = self.log.append(&load, &mut self.truth);
        self.truth.index_loads.push(start);
        self.truth.ddl.push((self.seq, format!("sorted index build on space {id}")));
    }
}
