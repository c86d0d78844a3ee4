//! Generic "one transfer per row" CSV exports (Dune, spreadsheets) with a
//! column mapping given on the command line.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use csv::ByteRecord;
use tripoint_chain::{
    parse_decimal_units, Address, Asset, Chain, Position, TransferRecord, TransferSink,
};

use crate::parse::{
    amount, eth_address, parse_timestamp, row_digest, synthetic_tx_hash, tx_hash, uint, uint32,
};
use crate::source::{canonical_source, CsvFile};
use crate::{Batcher, FieldError, ImportOptions, ImportSummary, IngestError};

/// Which CSV column holds which field: `from=..,to=..,amount=..,time=..`
/// required; `hash=..`, `block=..`, `log_index=..` optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub from: String,
    pub to: String,
    pub amount: String,
    pub time: String,
    pub hash: Option<String>,
    pub block: Option<String>,
    pub log_index: Option<String>,
}

impl FromStr for ColumnMap {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut m: HashMap<&str, String> = HashMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| IngestError::BadMapping(format!("'{part}' is not field=column")))?;
            let k = k.trim();
            if !["from", "to", "amount", "time", "hash", "block", "log_index"].contains(&k) {
                return Err(IngestError::BadMapping(format!(
                    "unknown field '{k}' (known: from, to, amount, time, hash, block, log_index)"
                )));
            }
            if m.insert(k, v.trim().to_string()).is_some() {
                return Err(IngestError::BadMapping(format!("field '{k}' mapped twice")));
            }
        }
        let mut need = |k: &str| {
            m.remove(k).ok_or_else(|| {
                IngestError::BadMapping(format!("missing required field '{k}=<column>'"))
            })
        };
        Ok(ColumnMap {
            from: need("from")?,
            to: need("to")?,
            amount: need("amount")?,
            time: need("time")?,
            hash: m.remove("hash"),
            block: m.remove("block"),
            log_index: m.remove("log_index"),
        })
    }
}

/// How amounts are written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountUnit {
    /// Whole ether as decimal text (18 decimals).
    Eth,
    /// Integer wei.
    Wei,
    /// Whole bitcoin as decimal text (8 decimals).
    Btc,
    /// Integer satoshi.
    Sat,
}

impl AmountUnit {
    pub fn decimals(self) -> u8 {
        match self {
            AmountUnit::Eth => 18,
            AmountUnit::Btc => 8,
            AmountUnit::Wei | AmountUnit::Sat => 0,
        }
    }
}

impl FromStr for AmountUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "eth" => Ok(AmountUnit::Eth),
            "wei" => Ok(AmountUnit::Wei),
            "btc" => Ok(AmountUnit::Btc),
            "sat" | "satoshi" => Ok(AmountUnit::Sat),
            _ => Err(format!("unknown amount unit '{s}' (eth, wei, btc, sat)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TransfersCsvOptions {
    pub map: ColumnMap,
    pub chain: Chain,
    pub asset: Asset,
    /// Decimal places of the amount text: amounts are `text × 10^decimals` base units.
    pub decimals: u8,
}

struct Cols {
    from: usize,
    to: usize,
    amount: usize,
    time: usize,
    hash: Option<usize>,
    block: Option<usize>,
    log_index: Option<usize>,
}

fn parse_row(
    rec: &ByteRecord,
    c: &Cols,
    o: &TransfersCsvOptions,
    csv: &CsvFile,
    row: u64,
    synthetic: Option<tripoint_chain::TxHash>,
) -> Result<TransferRecord, FieldError> {
    let name = |i: usize| csv.column_name(i).to_string();
    let addr = |i: usize| -> Result<Address, FieldError> {
        match o.chain {
            Chain::Ethereum => eth_address(&rec[i])
                .map(Address::Eth)
                .map_err(|m| FieldError::new(&name(i), m)),
            Chain::Bitcoin => Address::parse_btc(&String::from_utf8_lossy(&rec[i]))
                .map_err(|e| FieldError::new(&name(i), e.to_string())),
        }
    };
    let from = addr(c.from)?;
    let to = addr(c.to)?;
    let value = if o.decimals == 0 {
        amount(&rec[c.amount])
    } else {
        parse_decimal_units(&String::from_utf8_lossy(&rec[c.amount]), o.decimals)
            .map_err(|e| e.to_string())
    }
    .map_err(|m| FieldError::new(&name(c.amount), m))?;
    let timestamp = parse_timestamp(&rec[c.time]).map_err(|m| FieldError::new(&name(c.time), m))?;
    let block = match c.block {
        Some(i) => uint(&rec[i]).map_err(|m| FieldError::new(&name(i), m))?,
        // No block column: the timestamp orders the rows instead.
        None => {
            u64::try_from(timestamp).map_err(|_| FieldError::new(&name(c.time), "before 1970"))?
        }
    };
    let tx_hash = match (c.hash, synthetic) {
        (Some(i), _) => tx_hash(&rec[i]).map_err(|m| FieldError::new(&name(i), m))?,
        (None, Some(h)) => h,
        (None, None) => return Err(FieldError::new("hash", "no hash column is mapped")),
    };
    let position = match (c.log_index, &o.asset) {
        (Some(i), _) => Position::Log(uint32(&rec[i]).map_err(|m| FieldError::new(&name(i), m))?),
        (None, Asset::Native(_)) => Position::NativeValue,
        (None, Asset::Token(_)) => Position::Log(0),
    };
    Ok(TransferRecord {
        chain: o.chain,
        block,
        timestamp,
        tx_hash,
        tx_index: u32::try_from(row).unwrap_or(u32::MAX),
        position,
        from,
        to,
        asset: o.asset.clone(),
        amount: value,
    })
}

/// Import a generic transfers CSV. Rows without a mapped hash get
/// [`synthetic_tx_hash`] (file base name + raw row + occurrence among identical
/// rows), so importing the same file again appends nothing.
pub fn import_transfers_csv<S: TransferSink>(
    path: &Path,
    o: &TransfersCsvOptions,
    sink: &mut S,
    opts: &ImportOptions,
) -> Result<ImportSummary, IngestError> {
    let mut csv = CsvFile::open(path, opts.bytes_read.clone())?;
    let c = Cols {
        from: csv.col(&o.map.from)?,
        to: csv.col(&o.map.to)?,
        amount: csv.col(&o.map.amount)?,
        time: csv.col(&o.map.time)?,
        hash: o.map.hash.as_deref().map(|h| csv.col(h)).transpose()?,
        block: o.map.block.as_deref().map(|h| csv.col(h)).transpose()?,
        log_index: o.map.log_index.as_deref().map(|h| csv.col(h)).transpose()?,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut b = Batcher::new(sink, canonical_source(path)?, csv.name.clone(), opts);
    let mut occurrences: HashMap<[u8; 32], u32> = HashMap::new();
    let mut rec = ByteRecord::new();
    while let Some(line) = b.next_row(&mut csv, &mut rec)? {
        // Occurrences must be counted on resumed rows too, or the hashes would shift.
        let synthetic = if c.hash.is_none() {
            let fields: Vec<&[u8]> = rec.iter().collect();
            let n = occurrences.entry(row_digest(&fields)).or_insert(0);
            let h = synthetic_tx_hash(&file_name, &fields, *n);
            *n += 1;
            Some(h)
        } else {
            None
        };
        if b.skip_resumed() {
            continue;
        }
        // Every row so far was consumed exactly once, so the count is this row's index.
        match parse_row(&rec, &c, o, &csv, b.consumed, synthetic) {
            Ok(r) => {
                b.push(r)?;
                b.row_done()?;
            }
            Err(e) => b.bad_row(line, e)?,
        }
    }
    b.finish()
}
