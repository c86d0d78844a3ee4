//! Format version 2's required fixed-length binary columns (transaction
//! hashes, Ethereum addresses) encoded straight from their bytes.
//!
//! Through the Arrow writer every value was copied into an arena, wrapped
//! in a reference-counted buffer and copied again by the PLAIN encoder
//! (about 16 % of the export's CPU at 10^7 transfers). A PLAIN page of a
//! REQUIRED column with no dictionary, compression or statistics is the
//! values back to back, so here each page is a slice of the column's bytes.
//! Pages are cut where the `parquet` crate's column writer cuts them, and
//! page headers and chunk metadata come from the crate's own types, so a
//! file is byte for byte the one the crate writes (tested against it).

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeBinaryArray};
use arrow_schema::ArrowError;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType, Type};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder, PageEncodingStats};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::{SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// One column of a row group, as built for its writer.
pub(crate) enum Column {
    /// Written by the `parquet` crate's Arrow column writer.
    Arrow(ArrayRef),
    /// A REQUIRED fixed-length binary column's values back to back,
    /// written by [`encode_fixed`].
    Fixed(Vec<u8>),
}

impl Column {
    /// The column as an Arrow array of `width`-byte values, for the crate's
    /// writer (the reference [`encode_fixed`] is tested against).
    pub(crate) fn into_arrow(self, width: usize) -> Result<ArrayRef, ArrowError> {
        match self {
            Column::Arrow(a) => Ok(a),
            Column::Fixed(bytes) => Ok(Arc::new(FixedSizeBinaryArray::try_from_iter(
                bytes.chunks_exact(width),
            )?)),
        }
    }
}

/// One row group's column chunk, encoded, for [`Self::append_to_row_group`].
pub(crate) struct FixedChunk {
    data: Bytes,
    close: ColumnCloseResult,
}

impl FixedChunk {
    pub(crate) fn append_to_row_group<W: Write + Send>(
        self,
        group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<(), ParquetError> {
        group.append_column(&self.data, self.close)
    }
}

fn unsupported(descr: &ColumnDescPtr, what: &str) -> ParquetError {
    ParquetError::General(format!(
        "column {}: {what}; the direct fixed-length writer handles only REQUIRED, \
         PLAIN, uncompressed columns without dictionary, statistics or bloom filter",
        descr.path()
    ))
}

/// Refuses a column or properties this writer would not encode as the
/// `parquet` crate does (another encoding, compression, statistics, ...).
fn check_plain(descr: &ColumnDescPtr, props: &WriterProperties) -> Result<usize, ParquetError> {
    let path = descr.path();
    if descr.physical_type() != Type::FIXED_LEN_BYTE_ARRAY || descr.type_length() <= 0 {
        return Err(unsupported(descr, "not FIXED_LEN_BYTE_ARRAY"));
    }
    if descr.max_def_level() != 0 || descr.max_rep_level() != 0 {
        return Err(unsupported(descr, "nullable or repeated"));
    }
    let width = descr.type_length() as usize;
    let plain = matches!(props.encoding(path), None | Some(Encoding::PLAIN));
    let checks = [
        (plain, "not PLAIN"),
        (
            props.compression(path) == Compression::UNCOMPRESSED,
            "compressed",
        ),
        (!props.dictionary_enabled(path), "dictionary"),
        (
            props.statistics_enabled(path) == EnabledStatistics::None,
            "statistics",
        ),
        (
            props.bloom_filter_properties(path).is_none(),
            "bloom filter",
        ),
        (
            props.writer_version() == WriterVersion::PARQUET_1_0,
            "data page v2",
        ),
        (
            props.content_defined_chunking().is_none(),
            "content-defined chunking",
        ),
        // The crate writes a mini-batch whole only when it cannot overflow
        // a page; otherwise it cuts pages by bytes, which is not mirrored here.
        (
            width.saturating_mul(props.write_batch_size())
                <= props.column_data_page_size_limit(path),
            "values too wide for a mini-batch",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(unsupported(descr, what)),
        None => Ok(width),
    }
}

/// Row ranges of the data pages of a column chunk fed to the crate's column
/// writer in `slices` (one write per slice): each write is taken in
/// mini-batches of `write_batch_size` values, and a page is closed after
/// the mini-batch that brings it to the row count limit or the page size
/// limit, and at the end of the chunk.
fn page_ranges(
    slices: &[usize],
    width: usize,
    props: &WriterProperties,
    descr: &ColumnDescPtr,
) -> Vec<(usize, usize)> {
    let batch = props.write_batch_size().max(1);
    let row_limit = props.data_page_row_count_limit();
    let byte_limit = props.column_data_page_size_limit(descr.path());
    let mut pages = Vec::new();
    let (mut page_start, mut at) = (0, 0);
    for &len in slices {
        let end = at + len;
        while at < end {
            at += batch.min(end - at);
            let rows = at - page_start;
            if rows >= row_limit || rows * width >= byte_limit {
                pages.push((page_start, at));
                page_start = at;
            }
        }
    }
    if at > page_start {
        pages.push((page_start, at));
    }
    pages
}

/// Encode one row group's REQUIRED fixed-length column (`values`: the
/// values back to back) as the `parquet` crate's column writer would have,
/// fed the same rows in writes of `slices` rows each.
pub(crate) fn encode_fixed(
    descr: &ColumnDescPtr,
    props: &WriterProperties,
    values: Vec<u8>,
    slices: &[usize],
) -> Result<FixedChunk, ParquetError> {
    let width = check_plain(descr, props)?;
    let rows: usize = slices.iter().sum();
    if values.len() != rows * width {
        return Err(ParquetError::General(format!(
            "column {}: {} bytes for {rows} values of {width} bytes",
            descr.path(),
            values.len()
        )));
    }
    let values = Bytes::from(values);
    let mut sink = TrackedWrite::new(Vec::with_capacity(values.len() + (4 << 10)));
    let mut offsets = (!props.offset_index_disabled()).then(OffsetIndexBuilder::new);
    let (mut compressed, mut uncompressed, mut written, mut pages) = (0u64, 0u64, 0u64, 0i32);
    {
        let mut writer = SerializedPageWriter::new(&mut sink);
        for (start, end) in page_ranges(slices, width, props, descr) {
            let n = end - start;
            let page = Page::DataPage {
                buf: values.slice(start * width..end * width),
                num_values: n as u32,
                encoding: Encoding::PLAIN,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            let spec = writer.write_page(CompressedPage::new(page, n * width))?;
            if let Some(o) = offsets.as_mut() {
                o.append_row_count(n as i64);
                o.append_unencoded_byte_array_data_bytes(None);
                o.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
            }
            compressed += spec.compressed_size as u64;
            uncompressed += spec.uncompressed_size as u64;
            written += spec.bytes_written;
            pages += 1;
        }
        writer.close()?;
    }
    // The column writer records RLE (its level encoding) for every column.
    let mut encodings = vec![Encoding::RLE];
    let mut stats = Vec::new();
    if pages > 0 {
        encodings.push(Encoding::PLAIN);
        stats.push(PageEncodingStats {
            page_type: PageType::DATA_PAGE,
            encoding: Encoding::PLAIN,
            count: pages,
        });
    }
    let metadata = ColumnChunkMetaData::builder(descr.clone())
        .set_compression(Compression::UNCOMPRESSED)
        .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
        .set_page_encoding_stats(stats)
        .set_total_compressed_size(compressed as i64)
        .set_total_uncompressed_size(uncompressed as i64)
        .set_num_values(rows as i64)
        .set_data_page_offset(0)
        .set_dictionary_page_offset(None)
        .build()?;
    let data = Bytes::from(sink.into_inner()?);
    Ok(FixedChunk {
        data,
        close: ColumnCloseResult {
            bytes_written: written,
            rows_written: rows as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: offsets.map(OffsetIndexBuilder::build),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::Arc;

    use parquet::arrow::ArrowSchemaConverter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    use tripoint_chain::{Address, TransferGraph};
    use tripoint_gen::{generate_into, GenConfig, RecordSink};
    use tripoint_store::Store;

    use super::encode_fixed;
    use crate::binary::{AddressTable, ADDRESS_TABLE_MAX_BYTES};
    use crate::export::{write_rows_by, ExportOptions, FixedWriter, Table};

    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| {
                let p = e.expect("entry").path();
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                (name, std::fs::read(&p).expect("read"))
            })
            .collect()
    }

    /// The direct writer's files equal the `parquet` crate's byte for byte:
    /// the same pages, page headers, chunk metadata and offset indexes, at
    /// sizes that span several pages, row groups and files, with row groups
    /// that are and are not a whole number of the writer's slices; and so
    /// do they with the addresses read through the dictionary row group by
    /// row group instead of from the address table (the reference runs
    /// without the table and without the direct writer).
    #[test]
    fn direct_fixed_columns_are_the_crates_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store_dir = dir.path().join("store");
        let store = Store::open_or_create(&store_dir).expect("store");
        let mut app = store.appender().expect("appender");
        let cfg = GenConfig {
            seed: 5,
            transfers: 200_000,
            ..Default::default()
        };
        generate_into(&cfg, &mut RecordSink::new(&mut app)).expect("generate");
        app.finish().expect("finish");
        drop(store);
        let store = Store::open(&store_dir).expect("open");
        let total = store.transfer_count();
        for (case, (rows_per_file, row_group_rows)) in
            [(u64::MAX, 128 << 10), (70_000, 30_001), (150_000, 1 << 20)]
                .into_iter()
                .enumerate()
        {
            let opts = ExportOptions {
                rows_per_file,
                row_group_rows,
                format_version: Some(crate::VERSION),
                ..ExportOptions::default()
            };
            let mut written = Vec::new();
            let table = AddressTable::for_rows(&store, 0, total, 2, ADDRESS_TABLE_MAX_BYTES);
            assert!(table.is_some(), "the address table is built");
            for (way, (fixed, table)) in [
                (FixedWriter::Crate, None),
                (FixedWriter::Direct, table.as_ref()),
                (FixedWriter::Direct, None),
            ]
            .into_iter()
            .enumerate()
            {
                let out = dir.path().join(format!("{case}-{way}"));
                std::fs::create_dir_all(out.join("transfers")).expect("mkdir");
                let rows = (0..total).map(|id| (id, None));
                let parts = write_rows_by(
                    &store,
                    &out,
                    Table::Transfers,
                    rows,
                    total,
                    &opts,
                    &mut |_, _| {},
                    fixed,
                    table,
                )
                .expect("export");
                written.push((parts.len(), files(&out.join("transfers"))));
            }
            let by_crate = &written[0];
            assert!(case == 0 || by_crate.0 > 1, "case {case}: several files");
            for (way, direct) in written.iter().enumerate().skip(1) {
                assert_eq!(direct.0, by_crate.0, "case {case}, way {way}: files");
                assert_eq!(
                    direct.1.keys().collect::<Vec<_>>(),
                    by_crate.1.keys().collect::<Vec<_>>()
                );
                for (name, bytes) in &direct.1 {
                    assert!(
                        bytes == &by_crate.1[name],
                        "case {case}, way {way}: {name} differs from the parquet crate's"
                    );
                }
            }
        }
    }

    /// A table for part of a store covers the ids up to the highest one
    /// those rows name (found by the scan), each address's bytes; a whole
    /// store's covers every address without the scan.
    #[test]
    fn the_address_table_covers_the_ids_its_rows_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_or_create(dir.path()).expect("store");
        let mut app = store.appender().expect("appender");
        let cfg = GenConfig {
            seed: 7,
            transfers: 20_000,
            ..Default::default()
        };
        generate_into(&cfg, &mut RecordSink::new(&mut app)).expect("generate");
        app.finish().expect("finish");
        drop(store);
        let store = Store::open(dir.path()).expect("open");
        let (total, all) = (store.transfer_count(), store.address_count());
        assert!(2 * all as u64 <= total, "{all} addresses, {total} rows");
        let whole = AddressTable::for_rows(&store, 0, total, 2, ADDRESS_TABLE_MAX_BYTES)
            .expect("whole table");
        assert_eq!(whole.len(), all);
        let (lo, hi) = (total / 3, total / 3 + 2_000);
        let highest = (lo..hi)
            .flat_map(|id| {
                let row = store.transfer(id);
                [row.src, row.dst]
            })
            .max()
            .expect("rows");
        let part = AddressTable::for_rows(&store, lo, hi, 3, ADDRESS_TABLE_MAX_BYTES)
            .expect("table for part of the rows");
        assert_eq!(part.len(), highest as usize + 1);
        assert!(part.len() < all, "the scan bounds the table");
        for id in [0, highest / 2, highest] {
            let Address::Eth(want) = store.address(id) else {
                panic!("address {id} is not Ethereum")
            };
            assert_eq!(part.address(id), &want[..]);
            assert_eq!(whole.address(id), &want[..]);
        }
        // Few rows naming ids across the store: no table past 4 ids a row.
        let one = store.transfer(lo);
        let one_ids = u64::from(one.src.max(one.dst)) + 1;
        assert_eq!(
            AddressTable::for_rows(&store, lo, lo + 1, 2, ADDRESS_TABLE_MAX_BYTES).is_some(),
            one_ids <= 4
        );
        assert!(AddressTable::for_rows(&store, 0, total, 2, 20).is_none());
    }

    #[test]
    fn a_column_the_direct_writer_would_encode_otherwise_is_refused() {
        let schema = arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("h", arrow_schema::DataType::FixedSizeBinary(4), false),
            arrow_schema::Field::new("n", arrow_schema::DataType::FixedSizeBinary(4), true),
        ]);
        let descr = ArrowSchemaConverter::new()
            .convert(&schema)
            .expect("schema");
        let (h, n) = (descr.column(0), descr.column(1));
        let plain = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
            .build();
        assert!(encode_fixed(&h, &plain, vec![1; 8], &[2]).is_ok());
        let err = encode_fixed(&h, &plain, vec![1; 7], &[2])
            .err()
            .expect("short");
        assert!(err.to_string().contains("7 bytes for 2 values"), "{err}");
        let err = encode_fixed(&n, &plain, vec![1; 8], &[2])
            .err()
            .expect("null");
        assert!(err.to_string().contains("nullable"), "{err}");
        let snappy = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
            .set_compression(Compression::SNAPPY)
            .build();
        let err = encode_fixed(&h, &snappy, vec![1; 8], &[2])
            .err()
            .expect("snappy");
        assert!(err.to_string().contains("compressed"), "{err}");
        let dict = Arc::new(WriterProperties::builder().build());
        let err = encode_fixed(&h, &dict, vec![1; 8], &[2])
            .err()
            .expect("dict");
        assert!(err.to_string().contains("dictionary"), "{err}");
    }
}
