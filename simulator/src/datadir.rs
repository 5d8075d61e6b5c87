//! Builds a realistic datadir: ibdata1 with system pages and a doublewrite
//! area, undo tablespaces, schemas of InnoDB, MyISAM and CSV tables, mysql/,
//! performance_schema/, sys/, reached through a symlink. A MariaDB datadir has
//! full_crc32 pages, Aria tables (`.MAD`/`.MAI`) in mysql/, sys/ and the user
//! schemas, and Aria's control file and log at its top.

use crate::config::{extent_pages, Flavor, SimConfig};
use crate::rng::Rng;
use innohot::copy::NON_INNODB_EXTENSIONS;
use innohot::format::page;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the simulated server keeps things.
#[derive(Debug, Clone)]
pub struct SimPaths {
    pub root: PathBuf,
    /// The real datadir (`mysqldata1/mydata`).
    pub real_datadir: PathBuf,
    /// The symlink the server's `datadir` variable names, as in the reference run.
    pub datadir_link: PathBuf,
}

/// A tablespace as the datadir builder made it.
pub struct SpaceSpec {
    pub id: u32,
    pub path: PathBuf,
    pub rel: PathBuf,
    pub is_system: bool,
    pub pages: Vec<Vec<u8>>,
    pub writable: Vec<u32>,
}

/// A datadir on disk, as the server starts on it.
pub struct Datadir {
    pub paths: SimPaths,
    /// The seed's stream, where the build left it: the server draws on from here.
    pub rng: Rng,
    pub spaces: Vec<SpaceSpec>,
    /// MyISAM `.MYD` and Aria `.MAD` files the workload appends to.
    pub myisam_files: Vec<PathBuf>,
    /// MariaDB: system tables the server writes until BLOCK_COMMIT (a log
    /// and a statistics table), appended to by the workload too.
    pub system_files: Vec<PathBuf>,
    /// Non-InnoDB files (relative to the datadir) a backup must copy.
    pub non_innodb: Vec<PathBuf>,
}

/// FSP flags for a page size. 5.7 stores page_ssize in bits 6-9 (0 = 16 KiB);
/// MariaDB's full_crc32 format sets the marker bit 4 and page_ssize in bits 0-3
/// (0x15 for 16 KiB, as a real 10.11 table has).
pub(crate) fn fsp_flags(flavor: Flavor, page_size: usize, file_per_table: bool) -> u32 {
    let ssize = page_size.trailing_zeros() - 9; // 512 << ssize
    if flavor == Flavor::MariaDb {
        return page::FSP_FLAGS_FCRC32_MARKER | ssize;
    }
    let ssize = if page_size == 16384 { 0 } else { ssize };
    let base = if file_per_table { 0x21 } else { 0 };
    base | (ssize << 6)
}

/// Writes the checksum fields a page gets before it goes to disk: legacy crc32
/// (5.7) or full_crc32 (MariaDB).
pub fn stamp_page(flavor: Flavor, page: &mut [u8]) {
    match flavor {
        Flavor::Mysql57 => page::stamp_legacy_crc32(page),
        Flavor::MariaDb => page::stamp_full_crc32(page),
    }
}

/// Aria's files at the top of a MariaDB datadir.
pub const ARIA_TOP_FILES: [&str; 2] = ["aria_log_control", "aria_log.00000001"];

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
        if cfg.flavor == Flavor::Mysql57 && ty != page::PAGE_TYPE_INDEX {
            // 5.7: only B-tree pages link to neighbours (FIL_NULL when they have none);
            // its other pages start zeroed (fsp_init_file_page) and keep 0 there.
            // MariaDB initialises every page with FIL_NULL in both.
            p[page::FIL_PAGE_PREV..page::FIL_PAGE_NEXT + 4].fill(0);
        }
        let body_end = cfg.page_size - page::FIL_PAGE_END_LSN_OLD_CHKSUM;
        rng.fill(&mut p[page::FIL_PAGE_DATA + 64..body_end]);
        if no == 0 {
            fsp_header(&mut p, space_id, n, flags);
        }
        stamp_page(cfg.flavor, &mut p);
        pages.push(p);
    }
    pages
}

/// Page 0's FSP header fields: space id, size, free limit, flags. The server
/// initialises the free list a whole extent at a time (fsp_fill_free_list), so
/// the free limit is a multiple of the extent, at least one extent.
pub(crate) fn fsp_header(p: &mut [u8], space_id: u32, n: u32, flags: u32) {
    let extent = page::layout_from_flags(flags).map_or(64, |l| extent_pages(l.logical_size));
    put_u32(p, page::FSP_SPACE_ID, space_id);
    put_u32(p, page::FSP_SPACE_ID + 4, 0);
    put_u32(p, page::FSP_SIZE, n);
    put_u32(p, page::FSP_FREE_LIMIT, (n / extent).max(1) * extent);
    put_u32(p, page::FSP_SPACE_FLAGS, flags);
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

/// The user schemas, in the order a configuration's `schemas` takes them.
pub(crate) const USER_SCHEMAS: [&str; 4] = ["shop", "crm", "ledger", "events"];

/// The first bytes of the simulated files (the rest is random: the engine copies them,
/// it never parses them).
const FRM_MAGIC: [u8; 4] = [0xFE, 0x01, 0x0A, 0x0C];
const MYISAM_INDEX_MAGIC: [u8; 4] = [0xFE, 0xFE, 0x07, 0x01];
const ARIA_INDEX_MAGIC: [u8; 4] = [0xFF, 0xFF, 0xFF, 0xFF];
const CSV_META_MAGIC: [u8; 2] = [0xFE, 0x01];

/// Builds the datadir for a configuration under `root`; the seed fixes every byte.
pub fn build(cfg: &SimConfig, root: &Path) -> std::io::Result<Datadir> {
    let real_datadir = root.join("mysqldata1").join("mydata");
    let link_dir = root.join("home");
    fs::create_dir_all(&real_datadir)?;
    fs::create_dir_all(&link_dir)?;
    let datadir_link = link_dir.join("mydata");
    std::os::unix::fs::symlink(&real_datadir, &datadir_link)?;
    let mut b = Builder {
        cfg,
        root,
        rng: Rng::new(cfg.seed),
        remote_root: crate::mount::remote_dir(root),
        real_datadir,
        spaces: Vec::new(),
        myisam: Vec::new(),
        system: Vec::new(),
        next_id: 1,
    };
    b.system_tablespace()?;
    b.undo_tablespaces()?;
    b.mysql_schema()?;
    b.performance_schema()?;
    b.sys_schema()?;
    for s in 0..cfg.schemas {
        b.user_schema(s)?;
    }
    let Builder { rng, real_datadir, spaces, myisam, system, .. } = b;
    let non_innodb = snapshot_non_innodb(&real_datadir, cfg.flavor).into_keys().collect();
    let paths = SimPaths { root: root.to_path_buf(), real_datadir, datadir_link };
    Ok(Datadir { paths, rng, spaces, myisam_files: myisam, system_files: system, non_innodb })
}

/// A datadir being built: the seed's stream, drawn on in a fixed order, and the
/// tablespaces and appendable files made so far.
struct Builder<'a> {
    cfg: &'a SimConfig,
    root: &'a Path,
    rng: Rng,
    real_datadir: PathBuf,
    /// Where DATA DIRECTORY tables live (see `mount`).
    remote_root: PathBuf,
    spaces: Vec<SpaceSpec>,
    /// MyISAM `.MYD` and Aria `.MAD` files the workload appends to.
    myisam: Vec<PathBuf>,
    /// Files written until BLOCK_COMMIT (see `Datadir::system_files`).
    system: Vec<PathBuf>,
    /// The next file-per-table space id.
    next_id: u32,
}

impl Builder<'_> {
    fn mariadb(&self) -> bool {
        self.cfg.flavor == Flavor::MariaDb
    }

    /// ibdata1: system pages, the doublewrite area (never valid), undo pages.
    fn system_tablespace(&mut self) -> std::io::Result<()> {
        let cfg = self.cfg;
        let e = extent_pages(cfg.page_size);
        let mut sys = tablespace_pages(
            &mut self.rng,
            cfg,
            0,
            cfg.ibdata_pages,
            fsp_flags(cfg.flavor, cfg.page_size, false),
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
            stamp_page(cfg.flavor, &mut sys[no]);
        }
        for p in sys.iter_mut().take(3 * e as usize).skip(e as usize) {
            self.rng.fill(p); // doublewrite slots hold copies and half-copies: not pages of this space
        }
        let writable: Vec<u32> = (3..e).chain(3 * e..cfg.ibdata_pages).collect();
        let ibdata = self.real_datadir.join("ibdata1");
        write_pages(&ibdata, &sys)?;
        self.spaces.push(SpaceSpec {
            id: 0,
            path: ibdata,
            rel: PathBuf::from("ibdata1"),
            is_system: true,
            pages: sys,
            writable,
        });
        Ok(())
    }

    /// `undo001`... at the top of the datadir, as many as configured.
    fn undo_tablespaces(&mut self) -> std::io::Result<()> {
        let cfg = self.cfg;
        for n in 1..=cfg.undo_tablespaces {
            let pages_n = self.rng.range(8, 24) as u32;
            let pages = tablespace_pages(
                &mut self.rng,
                cfg,
                self.next_id,
                pages_n,
                fsp_flags(cfg.flavor, cfg.page_size, false),
                page::PAGE_TYPE_UNDO_LOG,
            );
            let name = format!("undo{n:03}");
            let path = self.real_datadir.join(&name);
            write_pages(&path, &pages)?;
            self.spaces.push(SpaceSpec {
                id: self.next_id,
                path,
                rel: PathBuf::from(name),
                is_system: true,
                pages,
                writable: (3..pages_n).collect(),
            });
            self.next_id += 1;
        }
        Ok(())
    }

    /// A file-per-table InnoDB table of 4 pages up to about `max`, and its `.frm`.
    /// A `remote` one is created with DATA DIRECTORY: its file elsewhere, a link
    /// file (`.isl`) in the schema directory.
    fn innodb_table(&mut self, schema: &str, table: &str, max: u32, remote: bool) -> std::io::Result<()> {
        let cfg = self.cfg;
        let pages_n = self.rng.range(4, max.max(5) as u64) as u32;
        let flags = fsp_flags(cfg.flavor, cfg.page_size, true);
        let pages = tablespace_pages(&mut self.rng, cfg, self.next_id, pages_n, flags, page::PAGE_TYPE_INDEX);
        let rel = Path::new(schema).join(format!("{table}.ibd"));
        let schema_dir = self.real_datadir.join(schema);
        let path = if remote {
            let path = self.remote_root.join(&rel);
            fs::create_dir_all(self.remote_root.join(schema))?;
            let name = crate::mount::remote_name(self.root, &path).expect("under the remote directory");
            fs::write(schema_dir.join(format!("{table}.isl")), name)?;
            path
        } else {
            self.real_datadir.join(&rel)
        };
        write_pages(&path, &pages)?;
        self.frm(&schema_dir, table)?;
        self.spaces.push(SpaceSpec {
            id: self.next_id,
            path,
            rel,
            is_system: false,
            pages,
            writable: (3..pages_n).collect(),
        });
        self.next_id += 1;
        Ok(())
    }

    /// mysql/: privilege tables (MyISAM; MariaDB: Aria, and mysql.user a view over
    /// global_priv), CSV logs, InnoDB statistics (MariaDB: and its GTID and
    /// transaction registry tables).
    fn mysql_schema(&mut self) -> std::io::Result<()> {
        let mysql = self.real_datadir.join("mysql");
        fs::create_dir_all(&mysql)?;
        if self.mariadb() {
            for t in ["global_priv", "db", "tables_priv", "proxies_priv", "servers"] {
                self.frm(&mysql, t)?;
                self.aria_files(&mysql, t, 8192, 8000)?;
            }
            fs::write(mysql.join("user.frm"), b"TYPE=VIEW\nquery=select `mysql`.`global_priv`.`Host` AS `Host`\n")?;
        } else {
            for t in ["user", "db", "tables_priv", "proxies_priv"] {
                self.frm(&mysql, t)?;
                self.myisam_files(&mysql, t, 4000)?;
            }
        }
        for t in ["general_log", "slow_log"] {
            self.frm(&mysql, t)?;
            self.csv_files(&mysql, t, b"")?;
        }
        if self.mariadb() {
            // Written until BLOCK_COMMIT, after MyISAM and Aria user tables stop
            // at BLOCK_DDL: the general log and an engine-independent statistics table.
            self.system.push(mysql.join("general_log.CSV"));
            self.frm(&mysql, "table_stats")?;
            let stats = self.aria_files(&mysql, "table_stats", 4000, 4000)?;
            self.system.push(stats);
        }
        self.innodb_table("mysql", "innodb_table_stats", 6, false)?;
        self.innodb_table("mysql", "innodb_index_stats", 6, false)?;
        if self.mariadb() {
            self.innodb_table("mysql", "gtid_slave_pos", 5, false)?;
            self.innodb_table("mysql", "transaction_registry", 5, false)?;
        }
        Ok(())
    }

    /// performance_schema/: its db.opt and (MySQL 5.7) a few `.frm` files.
    fn performance_schema(&mut self) -> std::io::Result<()> {
        let ps = self.real_datadir.join("performance_schema");
        fs::create_dir_all(&ps)?;
        fs::write(ps.join("db.opt"), b"default-character-set=utf8\ndefault-collation=utf8_general_ci\n")?;
        if !self.mariadb() {
            for t in ["accounts", "threads", "events_transactions_summary_by_host_by_event_name"] {
                self.frm(&ps, t)?;
            }
        }
        Ok(())
    }

    /// sys/: a view and sys_config, an InnoDB table (MariaDB: an Aria table, and
    /// Aria's control file and log at the top of the datadir).
    fn sys_schema(&mut self) -> std::io::Result<()> {
        let sysdb = self.real_datadir.join("sys");
        fs::create_dir_all(&sysdb)?;
        fs::write(sysdb.join("db.opt"), b"default-character-set=utf8\ndefault-collation=utf8_general_ci\n")?;
        fs::write(sysdb.join("version.frm"), b"TYPE=VIEW\nquery=select '1.5.1' AS `sys_version`\n")?;
        self.frm(&sysdb, "sys_config")?;
        if self.mariadb() {
            self.aria_files(&sysdb, "sys_config", 8192, 8000)?;
            self.aria_log()?;
        } else {
            // Writes sys_config.frm again, after the table's pages.
            self.innodb_table("sys", "sys_config", 5, false)?;
        }
        Ok(())
    }

    /// Aria's control file (52 bytes) and its transaction log, at the top of the datadir.
    fn aria_log(&mut self) -> std::io::Result<()> {
        let control = random_bytes(&mut self.rng, &[0xFE, 0xFE, 0x0C, 0x01], 48, 48);
        fs::write(self.real_datadir.join(ARIA_TOP_FILES[0]), control)?;
        let log = random_bytes(&mut self.rng, &[0xFE, 0xFE, 0x0C, 0x50], 8000, 16000);
        fs::write(self.real_datadir.join(ARIA_TOP_FILES[1]), log)
    }

    /// User schema number `s`: its InnoDB tables `t0`... (the first schema's last ones
    /// remote), a MyISAM table written until the read lock (MariaDB: and an Aria table,
    /// written until BLOCK_COMMIT, and Aria's log with it), and in the first schema
    /// a CSV table.
    fn user_schema(&mut self, s: u32) -> std::io::Result<()> {
        let cfg = self.cfg;
        let schema = USER_SCHEMAS[s as usize % 4];
        let dir = self.real_datadir.join(schema);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("db.opt"), b"default-character-set=utf8mb4\ndefault-collation=utf8mb4_general_ci\n")?;
        for t in 0..cfg.tables_per_schema {
            let remote = s == 0 && t + cfg.remote_tables >= cfg.tables_per_schema && t > 0;
            self.innodb_table(schema, &format!("t{t}"), cfg.table_pages_max, remote)?;
        }
        self.frm(&dir, "audit")?;
        let myd = self.myisam_files(&dir, "audit", 2000)?;
        self.myisam.push(myd);
        if self.mariadb() {
            self.frm(&dir, "notes")?;
            let mad = self.aria_files(&dir, "notes", 2000, 2000)?;
            self.myisam.push(mad);
        }
        if s == 0 {
            self.frm(&dir, "export")?;
            self.csv_files(&dir, "export", b"1,\"first\"\n2,\"second\"\n")?;
        }
        Ok(())
    }

    /// `table.frm` in `dir`: random bytes after the magic.
    fn frm(&mut self, dir: &Path, table: &str) -> std::io::Result<()> {
        fs::write(dir.join(format!("{table}.frm")), random_bytes(&mut self.rng, &FRM_MAGIC, 600, 8000))
    }

    /// A MyISAM table's data (`.MYD`, returned) and index (`.MYI`) files, of up to `max` bytes.
    fn myisam_files(&mut self, dir: &Path, table: &str, max: u64) -> std::io::Result<PathBuf> {
        let myd = dir.join(format!("{table}.MYD"));
        fs::write(&myd, random_bytes(&mut self.rng, &[], 0, max))?;
        fs::write(dir.join(format!("{table}.MYI")), random_bytes(&mut self.rng, &MYISAM_INDEX_MAGIC, 1000, max))?;
        Ok(myd)
    }

    /// An Aria table's data (`.MAD`, returned) and index (`.MAI`) files.
    fn aria_files(&mut self, dir: &Path, table: &str, data_max: u64, index_max: u64) -> std::io::Result<PathBuf> {
        let mad = dir.join(format!("{table}.MAD"));
        fs::write(&mad, random_bytes(&mut self.rng, &[], 0, data_max))?;
        let mai = random_bytes(&mut self.rng, &ARIA_INDEX_MAGIC, 1000, index_max);
        fs::write(dir.join(format!("{table}.MAI")), mai)?;
        Ok(mad)
    }

    /// A CSV table's data (`.CSV`, these rows) and metadata (`.CSM`) files.
    fn csv_files(&mut self, dir: &Path, table: &str, rows: &[u8]) -> std::io::Result<()> {
        fs::write(dir.join(format!("{table}.CSV")), rows)?;
        fs::write(dir.join(format!("{table}.CSM")), random_bytes(&mut self.rng, &CSV_META_MAGIC, 33, 33))
    }
}

/// Every non-InnoDB file of every schema directory (and MariaDB's Aria files at the
/// top), by path relative to the datadir.
pub fn snapshot_non_innodb(datadir: &Path, flavor: Flavor) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if flavor == Flavor::MariaDb {
        for name in ARIA_TOP_FILES {
            out.insert(PathBuf::from(name), fs::read(datadir.join(name)).expect("simulated Aria file"));
        }
    }
    // What the engine's flavor copies: MariaDB adds Aria's files to MySQL's.
    let extensions = match flavor {
        Flavor::MariaDb => innohot::flavor::Flavor::non_innodb_extensions(&innohot::flavor::MariaDb),
        Flavor::Mysql57 => NON_INNODB_EXTENSIONS,
    };
    let mut schemas: Vec<_> = fs::read_dir(datadir).expect("simulated datadir").flatten().collect();
    schemas.sort_by_key(|e| e.file_name());
    for schema in schemas.into_iter().filter(|e| e.path().is_dir()) {
        for f in fs::read_dir(schema.path()).expect("simulated schema dir").flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            let ext = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or("");
            if extensions.contains(&ext) {
                let rel = Path::new(&schema.file_name()).join(&name);
                out.insert(rel, fs::read(f.path()).expect("simulated file"));
            }
        }
    }
    out
}
