//! bitcoin-etl JSON lines (`transactions.json`): one transaction per line with
//! its inputs (each naming the output it spends) and outputs.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use tripoint_chain::{
    Address, Amount, Asset, Chain, OutPoint, Position, TransferRecord, TransferSink, TxHash,
};

use crate::parse::{parse_timestamp, sha256_hex, tx_hash};
use crate::source::{canonical_source, display_name, open};
use crate::{Batcher, FieldError, ImportOptions, ImportSummary, IngestError};

/// A JSON number or a string holding one (BigQuery exports quote big integers
/// and write timestamps as text).
#[derive(Deserialize)]
#[serde(untagged)]
enum Flex {
    Int(u64),
    Text(String),
}

#[derive(Deserialize)]
struct BtcTx {
    hash: String,
    block_number: Flex,
    block_timestamp: Flex,
    #[serde(default)]
    index: Option<Flex>,
    #[serde(default)]
    inputs: Vec<BtcInput>,
    #[serde(default)]
    outputs: Vec<BtcOutput>,
    #[serde(default)]
    is_coinbase: bool,
}

#[derive(Deserialize)]
struct BtcInput {
    index: u32,
    #[serde(default)]
    spent_transaction_hash: Option<String>,
    #[serde(default)]
    spent_output_index: Option<u32>,
    #[serde(default)]
    addresses: Option<Vec<String>>,
    #[serde(default)]
    value: Option<Flex>,
}

#[derive(Deserialize)]
struct BtcOutput {
    index: u32,
    #[serde(default)]
    addresses: Option<Vec<String>>,
    value: Flex,
}

fn flex_uint(v: &Flex, col: &str) -> Result<u64, FieldError> {
    match v {
        Flex::Int(n) => Ok(*n),
        Flex::Text(s) => crate::parse::uint(s.as_bytes()).map_err(|m| FieldError::new(col, m)),
    }
}

fn flex_time(v: &Flex) -> Result<i64, FieldError> {
    match v {
        Flex::Int(n) => Ok(*n as i64),
        Flex::Text(s) => {
            parse_timestamp(s.as_bytes()).map_err(|m| FieldError::new("block_timestamp", m))
        }
    }
}

/// The graph node holding an output's coins.
///
/// - one address: that address;
/// - several (bare multisig): one node per distinct key set, `multisig` + 40 hex
///   of SHA-256 over the sorted addresses, so reuse of the same multisig links up;
/// - none (non-standard script): a node of its own per output,
///   `nonstandard<tx hash hex><output index>`, so unrelated outputs never merge.
fn holder(
    addresses: &[String],
    tx: &TxHash,
    out_index: u32,
    col: &str,
) -> Result<Address, FieldError> {
    match addresses {
        [one] => Address::parse_btc(one).map_err(|e| FieldError::new(col, e.to_string())),
        [] => {
            let hex: String = tx.0.iter().map(|b| format!("{b:02x}")).collect();
            Ok(Address::Btc(
                format!("nonstandard{hex}{out_index}").into_boxed_str(),
            ))
        }
        many => {
            let mut v: Vec<&str> = many.iter().map(|s| s.trim()).collect();
            v.sort_unstable();
            v.dedup();
            if v.len() == 1 {
                return holder(&[v[0].to_string()], tx, out_index, col);
            }
            let digest = sha256_hex(v.join(",").as_bytes());
            Ok(Address::Btc(
                format!("multisig{}", &digest[..40]).into_boxed_str(),
            ))
        }
    }
}

fn tx_records(tx: &BtcTx, out: &mut Vec<TransferRecord>) -> Result<u64, FieldError> {
    let hash = tx_hash(tx.hash.as_bytes()).map_err(|m| FieldError::new("hash", m))?;
    let block = flex_uint(&tx.block_number, "block_number")?;
    let timestamp = flex_time(&tx.block_timestamp)?;
    let tx_index = match &tx.index {
        Some(v) => u32::try_from(flex_uint(v, "index")?)
            .map_err(|_| FieldError::new("index", "does not fit in 32 bits"))?,
        None => 0,
    };
    let node = Address::Tx(hash);
    let mut no_value = 0;
    let base = |position, from, to, amount| TransferRecord {
        chain: Chain::Bitcoin,
        block,
        timestamp,
        tx_hash: hash,
        tx_index,
        position,
        from,
        to,
        asset: Asset::Native(Chain::Bitcoin),
        amount,
    };
    for (i, inp) in tx.inputs.iter().enumerate() {
        let col = |f: &str| format!("inputs[{i}].{f}");
        // Coinbase inputs spend nothing: new coins simply appear on the tx's outputs.
        let (Some(spent), Some(spent_index)) =
            (&inp.spent_transaction_hash, inp.spent_output_index)
        else {
            if tx.is_coinbase || inp.spent_transaction_hash.is_none() {
                no_value += 1;
                continue;
            }
            return Err(FieldError::new(&col("spent_output_index"), "missing"));
        };
        if tx.is_coinbase || spent.is_empty() {
            no_value += 1;
            continue;
        }
        let spent = tx_hash(spent.as_bytes())
            .map_err(|m| FieldError::new(&col("spent_transaction_hash"), m))?;
        let value = match &inp.value {
            Some(v) => flex_uint(v, &col("value"))?,
            None => return Err(FieldError::new(&col("value"), "missing")),
        };
        let spender = holder(
            inp.addresses.as_deref().unwrap_or(&[]),
            &spent,
            spent_index,
            &col("addresses"),
        )?;
        out.push(base(
            Position::Input {
                index: inp.index,
                spends: OutPoint {
                    tx: spent,
                    index: spent_index,
                },
            },
            spender,
            node.clone(),
            Amount::from(value),
        ));
    }
    for (i, o) in tx.outputs.iter().enumerate() {
        let col = |f: &str| format!("outputs[{i}].{f}");
        let value = flex_uint(&o.value, &col("value"))?;
        let addrs = o.addresses.as_deref().unwrap_or(&[]);
        if addrs.is_empty() && value == 0 {
            // OP_RETURN and similar: carries data, not coins.
            no_value += 1;
            continue;
        }
        let receiver = holder(addrs, &hash, o.index, &col("addresses"))?;
        out.push(base(
            Position::Output(o.index),
            node.clone(),
            receiver,
            Amount::from(value),
        ));
    }
    Ok(no_value)
}

/// Import bitcoin-etl `transactions.json` (JSON lines, optionally gzipped).
/// The cursor counts non-empty lines consumed.
pub fn import_bitcoin_etl<S: TransferSink>(
    path: &Path,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let name = display_name(path);
    let mut reader =
        std::io::BufReader::with_capacity(1 << 20, open(path, opts.bytes_read.clone())?);
    let mut b = Batcher::new(sink, canonical_source(path)?, name.clone(), opts);
    let mut buf = Vec::new();
    let mut records = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| IngestError::Io {
                file: name.clone(),
                source: e,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        if buf.trim_ascii().is_empty() {
            continue;
        }
        if b.skip_resumed() {
            continue;
        }
        let tx: BtcTx = match serde_json::from_slice(&buf) {
            Ok(t) => t,
            Err(e) => {
                b.bad_line(line, format!("not a bitcoin-etl transaction: {e}"))?;
                continue;
            }
        };
        records.clear();
        match tx_records(&tx, &mut records) {
            Ok(no_value) => {
                b.summary.no_value_rows += no_value;
                for r in records.drain(..) {
                    b.push(r)?;
                }
                b.row_done()?;
            }
            Err(e) => b.bad_row(line, e)?,
        }
    }
    b.finish()
}
