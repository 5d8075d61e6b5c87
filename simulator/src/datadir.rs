//! Builds a realistic MySQL 5.7 datadir: ibdata1 with system pages and a
//! doublewrite area, undo tablespaces, schemas of InnoDB, MyISAM and CSV
//! tables, mysql/, performance_schema/, sys/, reached through a symlink.

use crate::config::{extent_pages, SimConfig};
use crate::rng::Rng;
use crate::server::{SimPaths, SimServer, SpaceSpec};
use innohot::copy::NON_INNODB_EXTENSIONS;
use innohot::format::page;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// FSP flags for a page size: 5.7 stores page_ssize in bits 6-9 (0 = 16 KiB).
pub(crate) fn fsp_flags(page_size: usize, file_per_table: bool) -> u32 {
    let ssize = match page_size {
        16384 => 0,
        n => n.trailing_zeros() - 9, // 512 << ssize
    };
    let base = if file_per_table { 0x21 } else { 0 };
    base | (ssize << 6)
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// One tablespace's pages: 0 FSP_HDR, 1 IBUF_BITMAP, 2 INODE, then `body_type` pages.
pub(crate) fn tablespace_pages(
    rng: &mut Rng,
    cfg: &SimConfig,
    space_id: u32,
    n: u32,
    flags: u32,
    body_type: u16,
) -> Vec<Vec<u8>> {
    let mut pages = Vec::with_capacity(n as usize);
    for no in 0..n {
        let lsn = cfg.start_lsn.saturating_sub(rng.range(0, 1 << 20)).max(8192);
        let ty = match no {
            0 => page::PAGE_TYPE_FSP_HDR,
            1 => page::PAGE_TYPE_IBUF_BITMAP,
            2 => page::PAGE_TYPE_INODE,
            _ => body_type,
        };
        let mut p = page::new_page(cfg.page_size, space_id, no, ty, lsn);
        let body_end = cfg.page_size - page::FIL_PAGE_END_LSN_OLD_CHKSUM;
        rng.fill(&mut p[page::FIL_PAGE_DATA + 64..body_end]);
        if no == 0 {
            put_u32(&mut p, page::FSP_SPACE_ID, space_id);
            put_u32(&mut p, page::FSP_SPACE_ID + 4, 0);
            put_u32(&mut p, page::FSP_SIZE, n);
            put_u32(&mut p, page::FSP_SIZE + 4, n);
            put_u32(&mut p, page::FSP_SPACE_FLAGS, flags);
        }
        page::stamp_legacy_crc32(&mut p);
        pages.push(p);
    }
    pages
}

fn write_pages(path: &Path, pages: &[Vec<u8>]) -> std::io::Result<()> {
    fs::write(path, pages.concat())
}

pub(crate) fn random_bytes(rng: &mut Rng, prefix: &[u8], lo: u64, hi: u64) -> Vec<u8> {
    let mut v = prefix.to_vec();
    let mut rest = vec![0u8; rng.range(lo, hi) as usize];
    rng.fill(&mut rest);
    v.extend(rest);
    v
}

pub fn build(cfg: SimConfig, root: &Path) -> std::io::Result<SimServer> {
    let mut rng = Rng::new(cfg.seed);
    let real_datadir = root.join("mysqldata1").join("mydata");
    let link_dir = root.join("home");
    fs::create_dir_all(&real_datadir)?;
    fs::create_dir_all(&link_dir)?;
    let datadir_link = link_dir.join("mydata");
    std::os::unix::fs::symlink(&real_datadir, &datadir_link)?;
    let frm = |rng: &mut Rng| random_bytes(rng, &[0xFE, 0x01, 0x0A, 0x0C], 600, 8000);
    let mut spaces: Vec<SpaceSpec> = Vec::new();
    let mut myisam = Vec::new();

    // ibdata1: system pages, the doublewrite area (never valid), undo pages.
    let e = extent_pages(cfg.page_size);
    let mut sys = tablespace_pages(
        &mut rng,
        &cfg,
        0,
        cfg.ibdata_pages,
        fsp_flags(cfg.page_size, false),
        page::PAGE_TYPE_UNDO_LOG,
    );
    for (no, ty) in [
        (3, page::PAGE_TYPE_SYS),
        (4, page::PAGE_TYPE_INDEX),
        (5, page::PAGE_TYPE_TRX_SYS),
        (6, page::PAGE_TYPE_SYS),
        (7, page::PAGE_TYPE_SYS),
    ] {
        sys[no][page::FIL_PAGE_TYPE..page::FIL_PAGE_TYPE + 2].copy_from_slice(&ty.to_be_bytes());
        page::stamp_legacy_crc32(&mut sys[no]);
    }
    for p in sys.iter_mut().take(3 * e as usize).skip(e as usize) {
        rng.fill(p); // doublewrite slots hold copies and half-copies: not pages of this space
    }
    let writable: Vec<u32> = (3..e).chain(3 * e..cfg.ibdata_pages).collect();
    let ibdata = real_datadir.join("ibdata1");
    write_pages(&ibdata, &sys)?;
    spaces.push(SpaceSpec {
        id: 0,
        path: ibdata,
        rel: PathBuf::from("ibdata1"),
        is_system: true,
        pages: sys,
        writable,
    });

    let mut next_id = 1;
    for n in 1..=cfg.undo_tablespaces {
        let pages_n = rng.range(8, 24) as u32;
        let pages = tablespace_pages(
            &mut rng,
            &cfg,
            next_id,
            pages_n,
            fsp_flags(cfg.page_size, false),
            page::PAGE_TYPE_UNDO_LOG,
        );
        let name = format!("undo{n:03}");
        let path = real_datadir.join(&name);
        write_pages(&path, &pages)?;
        spaces.push(SpaceSpec {
            id: next_id,
            path,
            rel: PathBuf::from(name),
            is_system: true,
            pages,
            writable: (3..pages_n).collect(),
        });
        next_id += 1;
    }

    let remote_root = crate::mount::remote_dir(root);
    let mut innodb_table = |rng: &mut Rng,
                            schema: &str,
                            table: &str,
                            max: u32,
                            remote: bool,
                            spaces: &mut Vec<SpaceSpec>|
     -> std::io::Result<()> {
        let pages_n = rng.range(4, max.max(5) as u64) as u32;
        let pages =
            tablespace_pages(rng, &cfg, next_id, pages_n, fsp_flags(cfg.page_size, true), page::PAGE_TYPE_INDEX);
        let rel = Path::new(schema).join(format!("{table}.ibd"));
        let path = if remote {
            // CREATE TABLE ... DATA DIRECTORY: the file elsewhere, a link file here.
            let path = remote_root.join(&rel);
            fs::create_dir_all(remote_root.join(schema))?;
            let name = crate::mount::remote_name(root, &path).expect("under the remote directory");
            fs::write(real_datadir.join(schema).join(format!("{table}.isl")), name)?;
            path
        } else {
            real_datadir.join(&rel)
        };
        write_pages(&path, &pages)?;
        fs::write(real_datadir.join(schema).join(format!("{table}.frm")), frm(rng))?;
        spaces.push(SpaceSpec { id: next_id, path, rel, is_system: false, pages, writable: (3..pages_n).collect() });
        next_id += 1;
        Ok(())
    };

    // mysql/: MyISAM privilege tables, InnoDB statistics tables, CSV logs.
    let mysql = real_datadir.join("mysql");
    fs::create_dir_all(&mysql)?;
    for t in ["user", "db", "tables_priv", "proxies_priv"] {
        fs::write(mysql.join(format!("{t}.frm")), frm(&mut rng))?;
        fs::write(mysql.join(format!("{t}.MYD")), random_bytes(&mut rng, &[], 0, 4000))?;
        fs::write(mysql.join(format!("{t}.MYI")), random_bytes(&mut rng, &[0xFE, 0xFE, 0x07, 0x01], 1000, 4000))?;
    }
    for t in ["general_log", "slow_log"] {
        fs::write(mysql.join(format!("{t}.frm")), frm(&mut rng))?;
        fs::write(mysql.join(format!("{t}.CSV")), b"")?;
        fs::write(mysql.join(format!("{t}.CSM")), random_bytes(&mut rng, &[0xFE, 0x01], 33, 33))?;
    }
    innodb_table(&mut rng, "mysql", "innodb_table_stats", 6, false, &mut spaces)?;
    innodb_table(&mut rng, "mysql", "innodb_index_stats", 6, false, &mut spaces)?;

    let ps = real_datadir.join("performance_schema");
    fs::create_dir_all(&ps)?;
    fs::write(ps.join("db.opt"), b"default-character-set=utf8\ndefault-collation=utf8_general_ci\n")?;
    for t in ["accounts", "threads", "events_transactions_summary_by_host_by_event_name"] {
        fs::write(ps.join(format!("{t}.frm")), frm(&mut rng))?;
    }
    let sysdb = real_datadir.join("sys");
    fs::create_dir_all(&sysdb)?;
    fs::write(sysdb.join("db.opt"), b"default-character-set=utf8\ndefault-collation=utf8_general_ci\n")?;
    fs::write(sysdb.join("version.frm"), b"TYPE=VIEW\nquery=select '1.5.1' AS `sys_version`\n")?;
    fs::write(sysdb.join("sys_config.frm"), frm(&mut rng))?;
    innodb_table(&mut rng, "sys", "sys_config", 5, false, &mut spaces)?;

    for s in 0..cfg.schemas {
        let schema = ["shop", "crm", "ledger", "events"][s as usize % 4];
        let dir = real_datadir.join(schema);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("db.opt"), b"default-character-set=utf8mb4\ndefault-collation=utf8mb4_general_ci\n")?;
        for t in 0..cfg.tables_per_schema {
            let remote = s == 0 && t + cfg.remote_tables >= cfg.tables_per_schema && t > 0;
            innodb_table(&mut rng, schema, &format!("t{t}"), cfg.table_pages_max, remote, &mut spaces)?;
        }
        // One MyISAM table per schema, written until the read lock.
        fs::write(dir.join("audit.frm"), frm(&mut rng))?;
        let myd = dir.join("audit.MYD");
        fs::write(&myd, random_bytes(&mut rng, &[], 0, 2000))?;
        fs::write(dir.join("audit.MYI"), random_bytes(&mut rng, &[0xFE, 0xFE, 0x07, 0x01], 1000, 2000))?;
        myisam.push(myd);
        if s == 0 {
            fs::write(dir.join("export.frm"), frm(&mut rng))?;
            fs::write(dir.join("export.CSV"), b"1,\"first\"\n2,\"second\"\n")?;
            fs::write(dir.join("export.CSM"), random_bytes(&mut rng, &[0xFE, 0x01], 33, 33))?;
        }
    }
    let non_innodb = snapshot_non_innodb(&real_datadir).into_keys().collect();
    let paths = SimPaths { root: root.to_path_buf(), real_datadir, datadir_link };
    SimServer::assemble(cfg, paths, rng, spaces, myisam, non_innodb)
}

/// Every non-InnoDB file of every schema directory, by path relative to the datadir.
pub fn snapshot_non_innodb(datadir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut schemas: Vec<_> = fs::read_dir(datadir).expect("simulated datadir").flatten().collect();
    schemas.sort_by_key(|e| e.file_name());
    for schema in schemas.into_iter().filter(|e| e.path().is_dir()) {
        for f in fs::read_dir(schema.path()).expect("simulated schema dir").flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            let ext = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or("");
            if NON_INNODB_EXTENSIONS.contains(&ext) {
                let rel = Path::new(&schema.file_name()).join(&name);
                out.insert(rel, fs::read(f.path()).expect("simulated file"));
            }
        }
    }
    out
}
