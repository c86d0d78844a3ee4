//! ethereum-etl `traces.csv`: internal transfers (see [`crate::internal`]).
//!
//! ethereum-etl writes a block's traces together, each transaction's frames
//! together, depth first. The importer reads one transaction's rows at a
//! time, so the rank of every frame is known, and checkpoints only between
//! transactions, so a resumed import never starts inside a call tree.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use csv::ByteRecord;
use tripoint_chain::{Amount, TransferRecord, TransferSink, TxHash};

use crate::internal::{
    block_level_record, internal_records, parse_trace_address, BlockLevel, Frame, FrameKind,
    TxPlace,
};
use crate::parse::{amount, eth_address, parse_timestamp, tx_hash, uint, uint32};
use crate::source::{canonical_source, csv_columns, CsvFile, CsvRow};
use crate::{Batcher, FieldError, ImportOptions, ImportSummary, IngestError};

csv_columns! {
    /// Columns of `traces.csv`.
    Cols {
        block = "block_number",
        hash = "transaction_hash",
        tx_index = "transaction_index",
        from = "from_address",
        to = "to_address",
        value = "value",
        trace_type = "trace_type",
        trace_address = "trace_address",
        ? call_type = "call_type",
        ? error = "error",
        ? status = "status",
        ? timestamp = "block_timestamp",
        ? subtraces = "subtraces",
    }
}

/// One parsed row.
enum TraceRow {
    /// A frame of transaction `hash`.
    Frame {
        block: u64,
        hash: TxHash,
        tx_index: u32,
        timestamp: Option<i64>,
        frame: Frame,
    },
    /// A reward, genesis allocation or DAO-fork move: no transaction.
    BlockLevel {
        block: u64,
        timestamp: Option<i64>,
        from: Option<[u8; 20]>,
        to: [u8; 20],
        value: Amount,
    },
}

fn field<T>(r: Result<T, String>, col: &str) -> Result<T, FieldError> {
    r.map_err(|m| FieldError::new(col, m))
}

fn optional_address(
    rec: &ByteRecord,
    c: usize,
    name: &str,
) -> Result<Option<[u8; 20]>, FieldError> {
    let v = rec[c].trim_ascii();
    if v.is_empty() {
        Ok(None)
    } else {
        field(eth_address(v), name).map(Some)
    }
}

fn parse_row(rec: &ByteRecord, c: &Cols) -> Result<TraceRow, FieldError> {
    let block = field(uint(&rec[c.block]), "block_number")?;
    let timestamp = match c.timestamp.map(|i| rec[i].trim_ascii()) {
        None | Some(b"") => None,
        Some(t) => Some(field(parse_timestamp(t), "block_timestamp")?),
    };
    let trace_type = String::from_utf8_lossy(rec[c.trace_type].trim_ascii()).to_ascii_lowercase();
    let from = optional_address(rec, c.from, "from_address")?;
    let to = optional_address(rec, c.to, "to_address")?;
    let value_field = rec[c.value].trim_ascii();
    let value = || field(amount(value_field), "value");
    let hash_field = rec[c.hash].trim_ascii();
    if hash_field.is_empty() {
        return match trace_type.as_str() {
            "reward" | "genesis" | "daofork" => Ok(TraceRow::BlockLevel {
                block,
                timestamp,
                from: if trace_type == "daofork" {
                    Some(from.ok_or_else(|| FieldError::new("from_address", "empty in a daofork trace"))?)
                } else {
                    None
                },
                to: to.ok_or_else(|| FieldError::new("to_address", format!("empty in a {trace_type} trace")))?,
                value: value()?,
            }),
            _ => Err(FieldError::new(
                "transaction_hash",
                format!("empty in a '{trace_type}' trace (only reward, genesis and daofork traces stand outside a transaction)"),
            )),
        };
    }
    let hash = field(tx_hash(hash_field), "transaction_hash")?;
    let tx_index = field(uint32(&rec[c.tx_index]), "transaction_index")?;
    let trace_address = field(parse_trace_address(&rec[c.trace_address]), "trace_address")?;
    let kind = match trace_type.as_str() {
        "call" => {
            let ct = c
                .call_type
                .map(|i| String::from_utf8_lossy(&rec[i]).into_owned())
                .unwrap_or_default();
            FrameKind::of_call_type(&ct).ok_or_else(|| {
                FieldError::new("call_type", format!("'{ct}' is not call, delegatecall, staticcall or callcode"))
            })?
        }
        "create" => FrameKind::Create,
        "suicide" | "selfdestruct" => FrameKind::SelfDestruct,
        other => {
            return Err(FieldError::new(
                "trace_type",
                format!("'{other}' is not call, create or suicide (nor, without a transaction, reward, genesis or daofork)"),
            ))
        }
    };
    // Delegate and static calls move nothing; ethereum-etl may leave their value empty.
    let value = if kind == FrameKind::NoTransfer && value_field.is_empty() {
        Amount::ZERO
    } else {
        value()?
    };
    let failed_error = c.error.is_some_and(|i| !rec[i].trim_ascii().is_empty());
    let failed_status = match c.status.map(|i| rec[i].trim_ascii()) {
        None | Some(b"") | Some(b"1") => false,
        Some(b"0") => true,
        Some(other) => {
            return Err(FieldError::new(
                "status",
                format!("'{}' is not 0, 1 or empty", String::from_utf8_lossy(other)),
            ))
        }
    };
    let subtraces = match c.subtraces.map(|i| rec[i].trim_ascii()) {
        None | Some(b"") => None,
        Some(n) => Some(field(uint32(n), "subtraces")?),
    };
    Ok(TraceRow::Frame {
        block,
        hash,
        tx_index,
        timestamp,
        frame: Frame {
            trace_address,
            kind,
            from: from.ok_or_else(|| {
                FieldError::new("from_address", format!("empty in a {trace_type} trace"))
            })?,
            to,
            value,
            failed: failed_error || failed_status,
            subtraces,
        },
    })
}

/// Block timestamps from `transactions.csv` (for traces files without a
/// `block_timestamp` column). Rows that do not parse are left to the
/// transactions import, which reports them.
fn block_times(transactions: &Path) -> Result<HashMap<u64, i64>, IngestError> {
    let mut csv = CsvFile::open(transactions, None)?;
    let (cb, ct) = (csv.col("block_number")?, csv.col("block_timestamp")?);
    let mut times = HashMap::new();
    let mut rec = ByteRecord::new();
    let mut last = None;
    loop {
        match csv.next(&mut rec)? {
            CsvRow::End => return Ok(times),
            CsvRow::Malformed(..) => {}
            CsvRow::Row(_) => {
                let Ok(b) = uint(&rec[cb]) else { continue };
                if last == Some(b) {
                    continue;
                }
                if let Ok(t) = parse_timestamp(&rec[ct]) {
                    times.insert(b, t);
                    last = Some(b);
                }
            }
        }
    }
}

/// The rows of one transaction (or one block-level row) being assembled.
#[derive(Default)]
struct Group {
    key: Option<(u64, TxHash)>,
    tx_index: u32,
    timestamp: Option<i64>,
    frames: Vec<Frame>,
    /// Physical line of each frame, for errors.
    lines: Vec<u64>,
    /// Rows of the group, bad ones included.
    rows: u64,
    /// First bad row of the group (skipped with `--skip-bad-rows`).
    bad: Option<(u64, FieldError)>,
}

struct Importer<'a, 'b, S: TransferSink> {
    b: Batcher<'a, S>,
    times: Option<HashMap<u64, i64>>,
    transactions: &'b Path,
    out: Vec<TransferRecord>,
    /// Transactions finished in the current block (their rows must be together).
    done_in_block: HashSet<TxHash>,
    last_block: Option<u64>,
    /// Block-level entries of the current block so far.
    block_level_in_block: u32,
}

impl<S: TransferSink> Importer<'_, '_, S> {
    fn timestamp(&mut self, block: u64, given: Option<i64>) -> Result<i64, FieldError> {
        if let Some(t) = given {
            return Ok(t);
        }
        if self.times.is_none() {
            self.times = Some(block_times(self.transactions).map_err(|e| {
                FieldError::new("block_number", format!("reading block timestamps: {e}"))
            })?);
        }
        self.times
            .as_ref()
            .and_then(|m| m.get(&block).copied())
            .ok_or_else(|| {
                FieldError::new(
                    "block_number",
                    format!("no transaction of block {block} in the transactions file gives its timestamp (or add a block_timestamp column)"),
                )
            })
    }

    /// Block order, and each transaction's rows together.
    fn check_order(&mut self, block: u64, hash: Option<&TxHash>) -> Result<(), FieldError> {
        match self.last_block {
            Some(l) if block < l => {
                return Err(FieldError::new(
                    "block_number",
                    format!("block {block} after block {l}: traces must be in block order, each transaction's rows together (as ethereum-etl writes them)"),
                ))
            }
            Some(l) if block == l => {}
            _ => {
                self.done_in_block.clear();
                self.block_level_in_block = 0;
                self.last_block = Some(block);
            }
        }
        if let Some(h) = hash {
            if self.done_in_block.contains(h) {
                return Err(FieldError::new(
                    "transaction_hash",
                    format!("rows of transaction {h} are not together: traces must be in block order, each transaction's rows together (as ethereum-etl writes them)"),
                ));
            }
        }
        Ok(())
    }

    /// Emit a finished transaction's records and count its rows.
    fn flush(&mut self, g: &mut Group) -> Result<(), IngestError> {
        let Some((block, hash)) = g.key.take() else {
            return Ok(());
        };
        self.done_in_block.insert(hash);
        let rows = std::mem::take(&mut g.rows);
        let frames = std::mem::take(&mut g.frames);
        let lines = std::mem::take(&mut g.lines);
        let bad = g.bad.take();
        let result = match bad {
            Some((line, e)) => Err((line, e)),
            None => self
                .timestamp(block, g.timestamp)
                .map_err(|e| (lines[0], e))
                .and_then(|timestamp| {
                    let place = TxPlace {
                        block,
                        timestamp,
                        hash,
                        tx_index: g.tx_index,
                    };
                    self.out.clear();
                    internal_records(&place, &frames, &mut self.out)
                        .map_err(|t| (lines[t.frame], FieldError::new("trace_address", t.message)))
                }),
        };
        match result {
            Ok(counts) => {
                for r in self.out.drain(..) {
                    self.b.summary.internal += 1;
                    self.b.push(r)?;
                }
                self.b.summary.no_value_rows += counts.no_value + counts.top_level;
                self.b.rows_done(rows)
            }
            // A transaction's frames are all or nothing: one bad row drops them all.
            Err((line, e)) if !self.b.opts.skip_bad_rows => Err(IngestError::BadField {
                file: self.b.file.clone(),
                line,
                column: e.column,
                message: e.message,
            }),
            Err(_) => {
                self.b.summary.bad_rows_skipped += rows;
                self.b.rows_done(rows)
            }
        }
    }

    fn block_level(
        &mut self,
        line: u64,
        block: u64,
        timestamp: Option<i64>,
        from: Option<[u8; 20]>,
        to: [u8; 20],
        value: Amount,
    ) -> Result<(), IngestError> {
        let k = self.block_level_in_block;
        self.block_level_in_block += 1;
        let r = self.timestamp(block, timestamp).and_then(|ts| {
            block_level_record(BlockLevel::Reward, block, ts, k, from, to, value)
                .ok_or_else(|| FieldError::new("block_number", "over 2^30 rewards in one block"))
        });
        match r {
            Ok(_) if value == Amount::ZERO => {
                self.b.summary.no_value_rows += 1;
                self.b.rows_done(1)
            }
            Ok(r) => {
                self.b.summary.internal += 1;
                self.b.push(r)?;
                self.b.rows_done(1)
            }
            Err(e) => {
                if self.b.opts.skip_bad_rows {
                    self.b.summary.bad_rows_skipped += 1;
                    self.b.rows_done(1)
                } else {
                    Err(IngestError::BadField {
                        file: self.b.file.clone(),
                        line,
                        column: e.column,
                        message: e.message,
                    })
                }
            }
        }
    }
}

/// Import ethereum-etl `traces.csv` (internal transfers, rewards): every
/// transaction's frames by the rules of [`crate::internal`]. Block
/// timestamps come from a `block_timestamp` column if the file has one,
/// otherwise from `transactions` (the same export's `transactions.csv`).
/// Own cursor, checkpointed only between transactions.
pub fn import_ethereum_etl_traces<S: TransferSink>(
    traces: &Path,
    transactions: &Path,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut csv = CsvFile::open(traces, opts.bytes_read.clone())?;
    let c = Cols::find(&csv)?;
    let b = Batcher::new(sink, canonical_source(traces)?, csv.name.clone(), opts);
    let mut imp = Importer {
        b,
        times: None,
        transactions,
        out: Vec::new(),
        done_in_block: HashSet::new(),
        last_block: None,
        block_level_in_block: 0,
    };
    let mut g = Group::default();
    let mut rec = ByteRecord::new();
    loop {
        let line = match csv.next(&mut rec)? {
            CsvRow::End => break,
            CsvRow::Malformed(line, msg) => {
                if imp.b.skip_resumed() {
                    continue;
                }
                // Which transaction it belongs to is unknown: it ends the group.
                imp.flush(&mut g)?;
                imp.b.bad_line(line, msg)?;
                continue;
            }
            CsvRow::Row(line) => line,
        };
        if imp.b.skip_resumed() {
            continue;
        }
        // A row of another transaction (or block-level) ends the group in hand.
        let row = parse_row(&rec, &c).map(|r| {
            let (block, hash) = match &r {
                TraceRow::Frame { block, hash, .. } => (*block, Some(*hash)),
                TraceRow::BlockLevel { block, .. } => (*block, None),
            };
            let other = g.key.is_some_and(|k| (k.0, Some(k.1)) != (block, hash));
            (r, other)
        });
        match row {
            Ok((r, new_group)) => {
                if new_group {
                    imp.flush(&mut g)?;
                }
                match r {
                    TraceRow::Frame {
                        block,
                        hash,
                        tx_index,
                        timestamp,
                        frame,
                    } => {
                        if g.key.is_none() {
                            if let Err(e) = imp.check_order(block, Some(&hash)) {
                                g.key = Some((block, hash));
                                g.rows = 1;
                                g.bad = Some((line, e));
                                imp.flush(&mut g)?;
                                continue;
                            }
                            g.key = Some((block, hash));
                            g.tx_index = tx_index;
                            g.timestamp = timestamp;
                        } else if tx_index != g.tx_index && g.bad.is_none() {
                            g.bad = Some((
                                line,
                                FieldError::new(
                                    "transaction_index",
                                    format!(
                                        "{tx_index}, where the transaction's earlier rows say {}",
                                        g.tx_index
                                    ),
                                ),
                            ));
                        }
                        g.rows += 1;
                        g.frames.push(frame);
                        g.lines.push(line);
                    }
                    TraceRow::BlockLevel {
                        block,
                        timestamp,
                        from,
                        to,
                        value,
                    } => {
                        imp.flush(&mut g)?;
                        match imp.check_order(block, None) {
                            Ok(()) => imp.block_level(line, block, timestamp, from, to, value)?,
                            Err(e) => {
                                g.key = Some((block, TxHash([0; 32])));
                                g.rows = 1;
                                g.bad = Some((line, e));
                                imp.flush(&mut g)?;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                // A row that does not parse: it belongs to the group in hand
                // if it is of the same transaction, else it is a group of its own.
                let same = g.key.is_some_and(|(blk, h)| {
                    uint(&rec[c.block]).ok() == Some(blk) && tx_hash(&rec[c.hash]).ok() == Some(h)
                });
                if !same {
                    imp.flush(&mut g)?;
                    g.key = Some((u64::MAX, TxHash([0xff; 32])));
                }
                g.rows += 1;
                if g.bad.is_none() {
                    g.bad = Some((line, e));
                }
            }
        }
    }
    imp.flush(&mut g)?;
    imp.b.finish()
}

#[cfg(test)]
mod tests {
    use tripoint_chain::{Address, Position};

    use super::*;
    use crate::VecSink;

    fn addr(n: u8) -> String {
        format!("0x{}", format!("{n:02x}").repeat(20))
    }
    fn hash(n: u32) -> String {
        format!("0x{n:064x}")
    }

    const HEADER: &str = "block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status,trace_id\n";

    /// ethereum-etl's column order. Block 100: tx 1 (thief -> forwarder 10,
    /// forwarder -> mule 10, a delegate call, a reverted call with a child);
    /// a block reward. Block 101: tx 2 failed as a whole.
    fn traces_csv() -> String {
        let row = |block: u32,
                   tx: Option<u32>,
                   idx: &str,
                   from: &str,
                   to: &str,
                   value: &str,
                   ty: &str,
                   call: &str,
                   ta: &str,
                   err: &str,
                   status: u8| {
            // Each frame's number of children, as ethereum-etl writes it.
            let subtraces = match (tx, ta) {
                (Some(1), "") => 3,
                (Some(1), "2") | (Some(2), "") => 1,
                _ => 0,
            };
            format!(
                "{block},{},{idx},{from},{to},{value},0x,0x,{ty},{call},,0,0,{subtraces},\"{ta}\",{err},{status},id\n",
                tx.map(hash).unwrap_or_default()
            )
        };
        let frames = [
            (
                100,
                Some(1),
                "0",
                addr(1),
                addr(2),
                "10",
                "call",
                "call",
                "",
                "",
                1,
            ),
            (
                100,
                Some(1),
                "0",
                addr(2),
                addr(3),
                "10",
                "call",
                "call",
                "0",
                "",
                1,
            ),
            (
                100,
                Some(1),
                "0",
                addr(2),
                addr(4),
                "10",
                "call",
                "delegatecall",
                "1",
                "",
                1,
            ),
            (
                100,
                Some(1),
                "0",
                addr(2),
                addr(5),
                "3",
                "call",
                "call",
                "2",
                "Reverted",
                0,
            ),
            (
                100,
                Some(1),
                "0",
                addr(5),
                addr(6),
                "3",
                "call",
                "call",
                "2,0",
                "",
                0,
            ),
            (
                100,
                None,
                "",
                String::new(),
                addr(9),
                "2000000000000000000",
                "reward",
                "",
                "",
                "",
                1,
            ),
            (
                101,
                Some(2),
                "0",
                addr(1),
                addr(2),
                "5",
                "call",
                "call",
                "",
                "Reverted",
                0,
            ),
            (
                101,
                Some(2),
                "0",
                addr(2),
                addr(3),
                "5",
                "call",
                "call",
                "0",
                "",
                0,
            ),
        ];
        let mut s = String::from(HEADER);
        for (block, tx, idx, from, to, value, ty, call, ta, err, status) in frames {
            s += &row(block, tx, idx, &from, &to, value, ty, call, ta, err, status);
        }
        s
    }

    fn transactions_csv() -> String {
        format!(
            "hash,block_number,transaction_index,from_address,to_address,value,block_timestamp\n{},100,0,{},{},10,1700000000\n{},101,0,{},{},5,1700000012\n",
            hash(1), addr(1), addr(2), hash(2), addr(1), addr(2)
        )
    }

    fn files(text: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("traces.csv");
        std::fs::write(&t, text).unwrap();
        let x = dir.path().join("transactions.csv");
        std::fs::write(&x, transactions_csv()).unwrap();
        (dir, t, x)
    }

    #[test]
    fn internal_transfers_rewards_and_reverted_subtrees() {
        let (_d, t, x) = files(&traces_csv());
        let mut sink = VecSink::default();
        let s = import_ethereum_etl_traces(&t, &x, &mut sink, &ImportOptions::default()).unwrap();
        let got: Vec<_> = sink
            .records
            .iter()
            .map(|r| {
                (
                    r.block,
                    r.timestamp,
                    r.tx_index,
                    r.position,
                    r.from.clone(),
                    r.to.clone(),
                    r.amount.as_u128(),
                )
            })
            .collect();
        let a = |n: u8| Address::parse(&addr(n)).unwrap();
        assert_eq!(
            got,
            vec![
                // Only the forward: not the top-level call, not the delegate
                // call, nothing of the reverted call or its child.
                (
                    100,
                    1_700_000_000,
                    0,
                    Position::internal(1).unwrap(),
                    a(2),
                    a(3),
                    10
                ),
                (
                    100,
                    1_700_000_000,
                    u32::MAX - 2,
                    Position::internal(0).unwrap(),
                    Address::Eth(crate::ISSUANCE_SOURCE),
                    a(9),
                    2_000_000_000_000_000_000
                ),
            ]
        );
        assert_eq!(sink.records[0].tx_hash, hash(1).parse().unwrap());
        assert_eq!(
            (s.rows_read, s.transfers, s.internal, s.no_value_rows),
            (8, 2, 2, 6)
        );
        // Re-ingest: every row is behind the cursor, nothing is pushed again.
        let again =
            import_ethereum_etl_traces(&t, &x, &mut sink, &ImportOptions::default()).unwrap();
        assert_eq!((again.rows_resumed, again.transfers), (8, 0));
        assert_eq!(sink.records.len(), 2);
    }

    #[test]
    fn checkpoints_never_split_a_transaction() {
        let (_d, t, x) = files(&traces_csv());
        let mut sink = VecSink::default();
        let opts = ImportOptions {
            checkpoint_every: 1,
            ..ImportOptions::default()
        };
        import_ethereum_etl_traces(&t, &x, &mut sink, &opts).unwrap();
        // Cursors after tx 1 (5 rows), the reward (6), tx 2 (8), the end (8).
        let source = canonical_source(&t).unwrap();
        assert_eq!(sink.cursors[&source], 8);
        assert_eq!(sink.checkpoints, 4);
        // A crash after the first checkpoint resumes at a transaction boundary.
        let mut fresh = VecSink::default();
        fresh.cursors.insert(source, 5);
        let s = import_ethereum_etl_traces(&t, &x, &mut fresh, &opts).unwrap();
        assert_eq!((s.rows_resumed, s.transfers), (5, 1));
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        let cases = [
            // (row to replace (0-based data row), replacement substring, expected line, column)
            (1, ("\"0\"", "\"x\""), 3, "trace_address"),
            (1, (",10,0x", ",1o,0x"), 3, "value"),
            (1, ("\"0\"", "\"1\""), 3, "trace_address"),
            (2, ("delegatecall", "jump"), 4, "call_type"),
            (6, (",101,", ",99,"), 8, "block_number"),
        ];
        for (row, (from, to), line, column) in cases {
            let text: Vec<String> = traces_csv().lines().map(str::to_string).collect();
            let mut text = text.clone();
            text[row + 1] = text[row + 1].replacen(from, to, 1);
            if row == 6 {
                // Block 99 after block 100.
                text[row + 1] = text[row + 1].replacen("101,", "99,", 1);
            }
            let (_d, t, x) = files(&(text.join("\n") + "\n"));
            let mut sink = VecSink::default();
            let e = import_ethereum_etl_traces(&t, &x, &mut sink, &ImportOptions::default())
                .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("traces.csv:{line}: column {column}:")),
                "{from}->{to}: {msg}"
            );
            assert!(
                sink.records.is_empty(),
                "nothing checkpointed before the bad row's transaction? {msg}"
            );
        }
    }

    #[test]
    fn skip_bad_rows_drops_the_whole_transaction() {
        let text = traces_csv().replacen("\"0\"", "\"x\"", 1);
        let (_d, t, x) = files(&text);
        let mut sink = VecSink::default();
        let opts = ImportOptions {
            skip_bad_rows: true,
            ..ImportOptions::default()
        };
        let s = import_ethereum_etl_traces(&t, &x, &mut sink, &opts).unwrap();
        assert_eq!((s.bad_rows_skipped, s.transfers, s.rows_read), (5, 1, 8));
    }

    #[test]
    fn rows_of_a_transaction_apart_are_refused() {
        let all = traces_csv();
        let lines: Vec<&str> = all.lines().collect();
        let error = |order: &[usize]| {
            let text = order
                .iter()
                .map(|&i| lines[i])
                .collect::<Vec<_>>()
                .join("\n")
                + "\n";
            let (_d, t, x) = files(&text);
            import_ethereum_etl_traces(&t, &x, &mut VecSink::default(), &ImportOptions::default())
                .unwrap_err()
                .to_string()
        };
        // tx 1's last frame after the reward: its parent [2] (line 5) lacks
        // the child it declares (subtraces 1) when the reward ends the group.
        let e = error(&[0, 1, 2, 3, 4, 6, 5, 7, 8]);
        assert!(
            e.contains("traces.csv:5: column trace_address: frame [2] of transaction")
                && e.contains("has 1 subtraces, but 0 are present"),
            "{e}"
        );
        // tx 1 whole, then one of its rows again after the reward.
        let e = error(&[0, 1, 2, 3, 4, 5, 6, 2, 7, 8]);
        assert!(
            e.contains("traces.csv:8: column transaction_hash: rows of transaction"),
            "{e}"
        );
    }
}
