//! ROW_FORMAT=COMPRESSED index pages under redo. The server applies a row record
//! to a compressed page's uncompressed frame (`block->frame`, built by
//! `page_zip_decompress`) and writes the compressed copy as it goes; the frame is
//! what later records address by offset. Prepare does the same: the first row
//! record for such a page decompresses it into a frame kept here, every later
//! record of the page lands on that frame, and when the log is applied each
//! frame is compressed again into the stored page. A record that carries the
//! whole compressed image (MLOG_ZIP_PAGE_COMPRESS), or that rewrites the page
//! as a file page, drops the frame: the stored page is the truth again.

use super::pages::{self, ApplyError, Rules};
use super::{PageStore, PrepareError};
use crate::format::mysql57::body::PageBody;
use crate::format::mysql57::mlog::Record;
use crate::format::mysql57::page_zip;
use crate::format::page;
use crate::format::Lsn;
use crate::restore::prepare::PageMap;

/// `page_zip_level`'s default: the level frames are compressed with again.
const ZIP_LEVEL: u32 = 6;
/// The FIL header and index page header a compressed page keeps uncompressed.
const PAGE_DATA: usize = 94;

/// The frames of the compressed pages the redo changed through their rows.
#[derive(Default)]
pub(super) struct ZipFrames {
    /// Each frame and the page's field information (compressing needs it).
    frames: PageMap<(Vec<u8>, page_zip::ZipIndex)>,
}

impl ZipFrames {
    /// Whether this record goes to a frame rather than to the stored page.
    /// `zip`: the record's tablespace is ROW_FORMAT=COMPRESSED.
    pub(super) fn takes(&self, rec: &Record, zip: bool) -> bool {
        let Some(id) = rec.page_id() else { return false };
        if !zip {
            return false;
        }
        match rec {
            Record::Page { body, .. } => match body {
                PageBody::ZipCompress { .. }
                | PageBody::InitFilePage { .. }
                | PageBody::UndoInsert { .. }
                | PageBody::UndoEraseEnd
                | PageBody::UndoInit { .. }
                | PageBody::UndoHdrDiscard
                | PageBody::UndoHdrCreate { .. }
                | PageBody::UndoHdrReuse { .. }
                | PageBody::IbufBitmapInit
                | PageBody::Truncate { .. } => false,
                // Byte-exact records for the compressed copy: on the frame once there is one.
                PageBody::ZipWriteHeader { .. }
                | PageBody::ZipWriteNodePtr { .. }
                | PageBody::ZipWriteBlobPtr { .. }
                | PageBody::ZipCompressNoData { .. } => self.frames.contains_key(&id),
                _ => true,
            },
            // A byte write lands on the frame once there is one (the server writes
            // `block->frame`); before, on the stored page (FSP, inode, BLOB pages).
            _ => self.frames.contains_key(&id),
        }
    }

    /// Forgets the frame of a page whose stored copy a record rewrote whole.
    pub(super) fn drop_frame(&mut self, id: (u32, u32)) {
        self.frames.remove(&id);
    }

    /// The frame of a stored compressed page, decompressed on first use.
    pub(super) fn frame(
        &mut self,
        store: &mut dyn PageStore,
        id: (u32, u32),
        lsn: Lsn,
    ) -> Result<&mut Vec<u8>, PrepareError> {
        match self.frames.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(&mut e.into_mut().0),
            std::collections::hash_map::Entry::Vacant(e) => Ok(&mut e.insert(unzip(store, id, lsn)?).0),
        }
    }

    /// Compresses every frame again into its stored page (the FIL fields the
    /// server sets at flush time kept from the stored page); returns their ids.
    pub(super) fn compress_all(
        &mut self,
        store: &mut dyn PageStore,
        end_lsn: Lsn,
    ) -> Result<Vec<(u32, u32)>, PrepareError> {
        let mut done = Vec::with_capacity(self.frames.len());
        let mut frames: Vec<_> = std::mem::take(&mut self.frames).into_iter().collect();
        frames.sort_unstable_by_key(|(id, _)| *id);
        for ((space, page_no), (frame, index)) in frames {
            let bad = |detail: String| PrepareError::BadPage {
                lsn: end_lsn,
                space,
                page: page_no,
                what: "compressing the page again",
                detail,
            };
            let stored = store.page_mut(space, page_no).ok_or(PrepareError::PageMissing {
                lsn: end_lsn,
                space,
                page: page_no,
            })?;
            let image = recompress(&frame, &index, stored.len())
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad(format!("the page's rows no longer fit {} bytes compressed", stored.len())))?;
            keep_flush_fields(stored, &image);
            done.push((space, page_no));
        }
        Ok(done)
    }
}

/// The frame compressed at the server's default level, or at the best one when
/// that does not fit: innohot's deflate packs a few bytes less tightly than the
/// server's zlib, and a page the server filled to the last bytes may need it.
fn recompress(frame: &[u8], index: &page_zip::ZipIndex, zip_size: usize) -> page_zip::Result<Option<Vec<u8>>> {
    match page_zip::compress(frame, index, zip_size, ZIP_LEVEL)? {
        Some(image) => Ok(Some(image)),
        None => page_zip::compress(frame, index, zip_size, 9),
    }
}

/// The frame and field information of a stored compressed page.
fn unzip(store: &mut dyn PageStore, id: (u32, u32), lsn: Lsn) -> Result<(Vec<u8>, page_zip::ZipIndex), PrepareError> {
    let bad = |what: &'static str, detail: String| PrepareError::BadPage { lsn, space: id.0, page: id.1, what, detail };
    let logical =
        logical_size(store, id.0).ok_or_else(|| bad("page 0", "no valid FSP header to tell the page size".into()))?;
    let stored = store.page_mut(id.0, id.1).ok_or(PrepareError::PageMissing { lsn, space: id.0, page: id.1 })?;
    let unzipped =
        page_zip::decompress_full(stored, logical).map_err(|e| bad("decompressing the page", e.to_string()))?;
    Ok((unzipped.frame, unzipped.index))
}

/// Writes `image` over `stored`, keeping what the server writes only when it
/// flushes the page (checksum, page number, LSN, flush LSN, space id).
fn keep_flush_fields(stored: &mut [u8], image: &[u8]) {
    let kept: Vec<u8> = stored[..PAGE_DATA].to_vec();
    stored.copy_from_slice(image);
    for range in [0..8, page::FIL_PAGE_LSN..page::FIL_PAGE_LSN + 8, 26..38] {
        stored[range.clone()].copy_from_slice(&kept[range]);
    }
}

/// innodb_page_size, from page 0's FSP flags.
fn logical_size(store: &mut dyn PageStore, space: u32) -> Option<usize> {
    let page0 = store.page_mut(space, 0)?;
    page::layout_from_page0(page0).ok().map(|l| l.logical_size)
}

/// Applies a record to a compressed page's frame. `rest`: the mtr's records after
/// this one (an insert followed on its page by MLOG_ZIP_PAGE_COMPRESS_NO_DATA
/// went in as on an uncompressed page).
pub(super) fn apply(frame: &mut [u8], rec: &Record, rest: &[Record]) -> Result<(), ApplyError> {
    let size = frame.len();
    let mut put = |offset: u16, bytes: &[u8]| -> Result<(), ApplyError> {
        let o = usize::from(offset);
        frame
            .get_mut(o..o + bytes.len())
            .ok_or_else(|| ApplyError::from(format!("a write at {o} leaves the {size}-byte frame")))?
            .copy_from_slice(bytes);
        Ok(())
    };
    match rec {
        Record::WriteN { offset, width, value, .. } => put(*offset, &value.to_be_bytes()[4 - usize::from(*width)..]),
        Record::Write8 { offset, value, .. } => put(*offset, &value.to_be_bytes()),
        Record::WriteString { offset, data, .. } => put(*offset, data),
        Record::Page { body, .. } => {
            pages::apply_to_frame(frame, body, Rules::Zip { insert_plain: insert_plain(rec, rest) })
        }
        _ => Err(ApplyError::from("a record without a page body on a compressed page".to_string())),
    }
}

/// Whether an insert went in as on an uncompressed page: the compressed page had
/// no room for it, so the server compressed the page again right after, and the
/// next record for the page in the mtr is MLOG_ZIP_PAGE_COMPRESS_NO_DATA.
fn insert_plain(rec: &Record, rest: &[Record]) -> bool {
    let Record::Page { body: PageBody::Insert { .. }, .. } = rec else { return false };
    let id = rec.page_id();
    rest.iter()
        .find(|r| r.page_id() == id)
        .is_some_and(|r| matches!(r, Record::Page { body: PageBody::ZipCompressNoData { .. }, .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mysql57::body::{IndexDesc, InsertBody};

    fn page_rec(page: u32, body: PageBody) -> Record {
        Record::Page { space: 5, page, body }
    }

    #[test]
    fn an_insert_is_plain_only_when_its_pages_next_record_compresses_it_again() {
        let ix = IndexDesc { n_uniq: 1, fields: vec![0x8004] };
        let insert = page_rec(
            3,
            PageBody::Insert { index: Some(ix.clone()), cursor: 99, ins: InsertBody { info: None, data: vec![] } },
        );
        let no_data = |page| page_rec(page, PageBody::ZipCompressNoData { index: ix.clone(), level: 6 });
        let other = Record::WriteN { space: 5, page: 3, offset: 60, width: 2, value: 1 };
        assert!(insert_plain(&insert, &[no_data(3)]));
        assert!(insert_plain(&insert, &[no_data(4), no_data(3)]), "another page's records in between");
        assert!(!insert_plain(&insert, &[]));
        assert!(!insert_plain(&insert, &[no_data(4)]));
        assert!(!insert_plain(&insert, &[other, no_data(3)]), "only the page's next record counts");
        assert!(!insert_plain(&no_data(3), &[no_data(3)]), "not an insert");
    }

    #[test]
    fn row_records_go_to_frames_and_whole_page_records_to_the_stored_page() {
        let mut frames = ZipFrames::default();
        let delete = page_rec(3, PageBody::Delete { index: None, offset: 120 });
        let header = page_rec(3, PageBody::ZipWriteHeader { offset: 40, data: vec![1] });
        let write = Record::WriteN { space: 5, page: 3, offset: 60, width: 2, value: 1 };
        let image = page_rec(3, PageBody::ZipCompress { prev_next: [0; 8], data: vec![], trailer: vec![] });
        assert!(frames.takes(&delete, true) && !frames.takes(&delete, false));
        assert!(!frames.takes(&header, true) && !frames.takes(&write, true), "no frame yet: the stored page");
        assert!(!frames.takes(&image, true));
        let index = page_zip::ZipIndex {
            fields: vec![],
            n_nullable: 0,
            trx_id_col: None,
            leaf: true,
            spatial: false,
            raw: vec![],
        };
        frames.frames.insert((5, 3), (vec![0; 16384], index));
        assert!(frames.takes(&header, true) && frames.takes(&write, true), "the frame once there is one");
        assert!(!frames.takes(&image, true), "a compressed image always replaces the stored page");
        frames.drop_frame((5, 3));
        assert!(!frames.takes(&header, true));
    }
}
