//! Address labels: parsers for the label sources tripoint understands. The
//! store persists what they produce (`Store::import_attribution`).
//!
//! Every parser keeps provenance in `Label::source` (`<format>:<file name>`
//! plus the upstream list or attribution where the file gives one). Rows
//! naming addresses of chains the store cannot hold (Monero, Tron, Litecoin…)
//! are skipped and reported, never mislabelled as Bitcoin; malformed rows are
//! errors naming file and line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;
use tripoint_chain::{Actor, Address, Category, Label};

mod etherscan;
mod tagpack;

#[derive(Debug, Error)]
pub enum LabelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Row {
        path: PathBuf,
        line: u64,
        msg: String,
    },
    #[error("{0}: cannot tell the label format; pass --format")]
    UnknownFormat(PathBuf),
}

/// The label sources tripoint reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelFormat {
    /// Header-driven CSV with columns `address,label,category,source`.
    Csv,
    /// `sanctioned_addresses_<ASSET>.txt|json` from 0xB10C's OFAC extractor.
    Ofac0xb10c,
    /// ultrasound.money's `data.csv` (`[date_added,]address,name`).
    OfacEthUltrasound,
    /// Forta labelled datasets: Etherscan malicious labels, phishing scams,
    /// malicious smart contracts.
    Forta,
    /// `dprk_hack_seeds.csv`: curated DPRK-attributed theft addresses.
    DprkHackSeeds,
    /// `ofac-sdn-dprk-digital-currency-addresses.json`.
    OfacDprkCrypto,
    /// GraphSense TagPack (YAML): attribution tags with actor, confidence, lastmod.
    Tagpack,
    /// GraphSense actor pack (YAML): actors with their jurisdictions.
    Actorpack,
    /// Etherscan name tags scraped as JSON (`{address: {name, labels}}`),
    /// accounts or token contracts.
    Etherscan,
}

/// Every format, in the order `--format` lists them.
pub const FORMATS: [LabelFormat; 9] = [
    LabelFormat::Tagpack,
    LabelFormat::Actorpack,
    LabelFormat::Etherscan,
    LabelFormat::Csv,
    LabelFormat::Ofac0xb10c,
    LabelFormat::OfacEthUltrasound,
    LabelFormat::Forta,
    LabelFormat::DprkHackSeeds,
    LabelFormat::OfacDprkCrypto,
];

impl LabelFormat {
    pub fn name(self) -> &'static str {
        match self {
            LabelFormat::Csv => "csv",
            LabelFormat::Ofac0xb10c => "ofac-0xb10c",
            LabelFormat::OfacEthUltrasound => "ofac-eth-ultrasound",
            LabelFormat::Forta => "forta",
            LabelFormat::DprkHackSeeds => "dprk-hack-seeds",
            LabelFormat::OfacDprkCrypto => "ofac-dprk-crypto",
            LabelFormat::Tagpack => "tagpack",
            LabelFormat::Actorpack => "actorpack",
            LabelFormat::Etherscan => "etherscan",
        }
    }

    /// A format by its `--format` name; `ofac` is short for `ofac-0xb10c`.
    pub fn from_name(s: &str) -> Option<LabelFormat> {
        if s == "ofac" {
            return Some(LabelFormat::Ofac0xb10c);
        }
        FORMATS.into_iter().find(|f| f.name() == s)
    }
}

/// A row that was read but not turned into a label, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: u64,
    pub reason: String,
}

/// Result of parsing one label file.
#[derive(Debug, Clone, Default)]
pub struct ParsedLabels {
    pub labels: Vec<Label>,
    /// Actors (from actor packs).
    pub actors: Vec<Actor>,
    pub skipped: Vec<Skipped>,
}

/// Guess the format from the file name, then the header/first bytes.
pub fn detect(path: &Path) -> Option<LabelFormat> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".actorpack.yaml") || name.ends_with(".actorpack.yml") {
        return Some(LabelFormat::Actorpack);
    }
    if name.starts_with("sanctioned_addresses_")
        && (name.ends_with(".txt") || name.ends_with(".json"))
    {
        return Some(LabelFormat::Ofac0xb10c);
    }
    let mut head = String::new();
    BufReader::new(File::open(path).ok()?)
        .take(64 * 1024)
        .read_to_string(&mut head)
        .ok()?;
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        let top = |key: &str| head.lines().any(|l| l.starts_with(key));
        return if top("actors:") {
            Some(LabelFormat::Actorpack)
        } else if top("tags:") {
            Some(LabelFormat::Tagpack)
        } else {
            None
        };
    }
    if name.ends_with(".json") {
        return if head.contains("sdn_entries") {
            Some(LabelFormat::OfacDprkCrypto)
        } else if head.contains("\"labels\"") && head.contains("\"name\"") {
            Some(LabelFormat::Etherscan)
        } else {
            None
        };
    }
    let header: Vec<String> = head
        .lines()
        .next()?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let has = |c: &str| header.iter().any(|h| h == c);
    if has("banned_address") || has("etherscan_tag") || has("contract_address") {
        Some(LabelFormat::Forta)
    } else if has("incident") && has("attribution_to_dprk") {
        Some(LabelFormat::DprkHackSeeds)
    } else if has("address") && has("label") && has("category") && has("source") {
        Some(LabelFormat::Csv)
    } else if has("address") && has("name") {
        Some(LabelFormat::OfacEthUltrasound)
    } else {
        None
    }
}

/// Parse a label file; rows for chains a store cannot hold are dropped.
pub fn parse(format: LabelFormat, path: &Path) -> Result<Vec<Label>, LabelError> {
    parse_with_skips(format, path).map(|p| p.labels)
}

/// Parse a label file, also returning the rows that were skipped and why.
pub fn parse_with_skips(format: LabelFormat, path: &Path) -> Result<ParsedLabels, LabelError> {
    let text = std::fs::read_to_string(path).map_err(|e| LabelError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let newlines = text
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let cx = Cx {
        path,
        file,
        text,
        newlines,
    };
    match format {
        LabelFormat::Csv => cx.generic_csv(),
        LabelFormat::Ofac0xb10c => cx.ofac_0xb10c(),
        LabelFormat::OfacEthUltrasound => cx.ultrasound(),
        LabelFormat::Forta => cx.forta(),
        LabelFormat::DprkHackSeeds => cx.dprk_seeds(),
        LabelFormat::OfacDprkCrypto => cx.ofac_dprk(),
        LabelFormat::Tagpack => cx.tagpack(),
        LabelFormat::Actorpack => cx.actorpack(),
        LabelFormat::Etherscan => cx.etherscan(),
    }
}

struct Cx<'a> {
    path: &'a Path,
    file: String,
    text: String,
    /// Byte offset of every `\n`, for physical line numbers.
    newlines: Vec<usize>,
}

/// One CSV record with header lookup.
struct Rec<'r> {
    rec: &'r csv::StringRecord,
    header: &'r csv::StringRecord,
    line: u64,
}

impl Rec<'_> {
    fn get(&self, col: &str) -> Option<&str> {
        let i = self
            .header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(col))?;
        self.rec.get(i).map(str::trim)
    }
}

/// Is this an EVM-format (`0x` + 40 hex) address?
fn looks_eth(s: &str) -> bool {
    let t = s.trim();
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .or_else(|| t.strip_prefix("\\x"));
    hex.is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Cx<'_> {
    fn err(&self, line: u64, msg: impl Into<String>) -> LabelError {
        LabelError::Row {
            path: self.path.to_path_buf(),
            line,
            msg: msg.into(),
        }
    }

    /// Physical line (1-based) of the first non-blank byte at or after
    /// `byte`: a CSV record's position can point at blank lines before it.
    fn line_at(&self, byte: u64) -> u64 {
        let bytes = self.text.as_bytes();
        let mut b = (byte as usize).min(bytes.len());
        while b < bytes.len() && (bytes[b] == b'\n' || bytes[b] == b'\r') {
            b += 1;
        }
        self.newlines.partition_point(|&nl| nl < b) as u64 + 1
    }

    /// 1-based line of the first occurrence of `needle`, for JSON inputs.
    fn line_of(&self, needle: &str) -> u64 {
        self.text
            .find(needle)
            .map(|i| self.text[..i].bytes().filter(|&b| b == b'\n').count() as u64 + 1)
            .unwrap_or(0)
    }

    /// Iterate CSV records, calling `f` with header lookup and line number.
    fn csv_rows(
        &self,
        required: &[&str],
        mut f: impl FnMut(&Rec<'_>) -> Result<(), LabelError>,
    ) -> Result<(), LabelError> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(self.text.as_bytes());
        let header = rdr
            .headers()
            .map_err(|e| self.err(1, format!("cannot read header: {e}")))?
            .clone();
        for col in required {
            if !header.iter().any(|h| h.trim().eq_ignore_ascii_case(col)) {
                return Err(self.err(1, format!("header lacks column '{col}'")));
            }
        }
        let mut rec = csv::StringRecord::new();
        loop {
            let before = rdr.position().byte();
            match rdr.read_record(&mut rec) {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(e) => {
                    let at = e.position().map(|p| p.byte()).unwrap_or(before);
                    return Err(self.err(self.line_at(at), e.to_string()));
                }
            }
            let line = self.line_at(rec.position().map(|p| p.byte()).unwrap_or(before));
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            f(&Rec {
                rec: &rec,
                header: &header,
                line,
            })?;
        }
    }

    fn required<'r>(&self, r: &'r Rec<'_>, col: &str) -> Result<&'r str, LabelError> {
        match r.get(col) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.err(r.line, format!("column '{col}' is empty"))),
        }
    }

    fn address(&self, line: u64, col: &str, s: &str) -> Result<Address, LabelError> {
        Address::parse(s).map_err(|e| self.err(line, format!("column '{col}': {e}")))
    }

    fn generic_csv(&self) -> Result<ParsedLabels, LabelError> {
        let mut out = ParsedLabels::default();
        self.csv_rows(&["address", "label", "category", "source"], |r| {
            let addr = self.address(r.line, "address", self.required(r, "address")?)?;
            let category: Category = self.required(r, "category")?.parse().expect("infallible");
            out.labels.push(Label::new(
                addr,
                self.required(r, "label")?.to_string(),
                category,
                self.required(r, "source")?.to_string(),
            ));
            Ok(())
        })?;
        Ok(out)
    }

    fn ofac_0xb10c(&self) -> Result<ParsedLabels, LabelError> {
        let lower = self.file.to_ascii_lowercase();
        let asset = lower
            .strip_prefix("sanctioned_addresses_")
            .and_then(|s| s.rsplit_once('.'))
            .map(|(a, _)| a.to_ascii_uppercase())
            .ok_or_else(|| {
                self.err(
                    0,
                    "file name must be sanctioned_addresses_<ASSET>.txt or .json",
                )
            })?;
        let entries: Vec<(u64, String)> = if lower.ends_with(".json") {
            let list: Vec<String> = serde_json::from_str(&self.text)
                .map_err(|e| self.err(e.line() as u64, format!("column {}: {e}", e.column())))?;
            list.into_iter()
                .map(|a| (self.line_of(&format!("\"{a}\"")), a))
                .collect()
        } else {
            self.text
                .lines()
                .enumerate()
                .map(|(i, l)| (i as u64 + 1, l.trim().to_string()))
                .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
                .collect()
        };
        let mut out = ParsedLabels::default();
        for (line, a) in entries {
            // EVM lists share one address space; XBT is Bitcoin; other chains
            // (Monero, Tron, Litecoin…) cannot be stored.
            let evm_only = ["ETH", "ETC", "ARB", "BSC", "USDC"].contains(&asset.as_str());
            let addr = if looks_eth(&a) || evm_only {
                Address::parse_eth(&a)
            } else if asset == "XBT" {
                Address::parse_btc(&a)
            } else {
                out.skipped.push(Skipped {
                    line,
                    reason: format!("{asset} address is not on Ethereum or Bitcoin"),
                });
                continue;
            }
            .map_err(|e| self.err(line, e.to_string()))?;
            out.labels.push(Label::new(
                addr,
                format!("OFAC SDN digital currency address ({asset})"),
                Category::Sanctioned,
                format!("ofac-0xb10c:{}", self.file),
            ));
        }
        Ok(out)
    }

    fn ultrasound(&self) -> Result<ParsedLabels, LabelError> {
        let mut out = ParsedLabels::default();
        self.csv_rows(&["address", "name"], |r| {
            let addr = self.address(r.line, "address", self.required(r, "address")?)?;
            let name = self.required(r, "name")?;
            let label = match r.get("date_added").filter(|d| !d.is_empty()) {
                Some(d) => format!("OFAC SDN: {name} (added {d})"),
                None => format!("OFAC SDN: {name}"),
            };
            let source = format!("ofac-eth-ultrasound:{}", self.file);
            if name.to_ascii_uppercase().contains("LAZARUS") {
                // The SDN entity itself is the DPRK state hacking group.
                out.labels.push(Label::new(
                    addr.clone(),
                    label.clone(),
                    Category::DprkAttributed,
                    source.clone(),
                ));
            }
            out.labels
                .push(Label::new(addr, label, Category::Sanctioned, source));
            Ok(())
        })?;
        Ok(out)
    }

    fn forta(&self) -> Result<ParsedLabels, LabelError> {
        let mut rdr = csv::Reader::from_reader(self.text.as_bytes());
        let header = rdr
            .headers()
            .map_err(|e| self.err(1, e.to_string()))?
            .clone();
        let has = |c: &str| header.iter().any(|h| h.trim() == c);
        let mut out = ParsedLabels::default();
        let source = |detail: &str| {
            if detail.is_empty() {
                format!("forta:{}", self.file)
            } else {
                format!("forta:{} ({detail})", self.file)
            }
        };
        if has("banned_address") {
            // etherscan_malicious_labels.csv
            self.csv_rows(&["banned_address", "wallet_tag", "data_source"], |r| {
                let addr = self.address(
                    r.line,
                    "banned_address",
                    self.required(r, "banned_address")?,
                )?;
                let list = r.get("data_source").unwrap_or("");
                let category = match list {
                    l if l.contains("phish") => Category::Phishing,
                    l if l.contains("exploit") || l.contains("heist") => Category::Exploit,
                    _ => Category::Other("malicious".into()),
                };
                out.labels.push(Label::new(
                    addr,
                    r.get("wallet_tag").unwrap_or("").to_string(),
                    category,
                    source(list),
                ));
                Ok(())
            })?;
        } else if has("etherscan_tag") {
            // phishing_scams.csv
            self.csv_rows(&["address", "etherscan_tag", "etherscan_labels"], |r| {
                let addr = self.address(r.line, "address", self.required(r, "address")?)?;
                let kind = r.get("etherscan_labels").unwrap_or("");
                out.labels.push(Label {
                    address: addr,
                    label: r.get("etherscan_tag").unwrap_or("").to_string(),
                    category: if kind.is_empty() {
                        Category::Phishing
                    } else {
                        kind.parse().expect("infallible")
                    },
                    source: source(&format!("etherscan {kind}")),
                    attribution: Default::default(),
                });
                Ok(())
            })?;
        } else if has("contract_address") {
            // malicious_smart_contracts.csv: the contract and its creator.
            self.csv_rows(&["contract_address", "contract_creator"], |r| {
                let kind = r.get("contract_creator_etherscan_label").unwrap_or("");
                let category: Category = if kind.is_empty() {
                    Category::Other("malicious-contract".into())
                } else {
                    kind.parse().expect("infallible")
                };
                let contract = self.address(
                    r.line,
                    "contract_address",
                    self.required(r, "contract_address")?,
                )?;
                let tag = r.get("contract_tag").unwrap_or("");
                out.labels.push(Label {
                    address: contract.clone(),
                    label: if tag.is_empty() {
                        "malicious smart contract".into()
                    } else {
                        tag.to_string()
                    },
                    category: category.clone(),
                    source: source(r.get("source").unwrap_or("")),
                    attribution: Default::default(),
                });
                if let Some(c) = r.get("contract_creator").filter(|c| !c.is_empty()) {
                    let creator = self.address(r.line, "contract_creator", c)?;
                    let ctag = r.get("contract_creator_tag").unwrap_or("");
                    out.labels.push(Label {
                        address: creator,
                        label: if ctag.is_empty() {
                            format!("creator of malicious contract {contract}")
                        } else {
                            ctag.to_string()
                        },
                        category,
                        source: source(r.get("source").unwrap_or("")),
                        attribution: Default::default(),
                    });
                }
                Ok(())
            })?;
        } else {
            return Err(self.err(
                1,
                "not a Forta labelled-dataset file (no banned_address, etherscan_tag or contract_address column)",
            ));
        }
        Ok(out)
    }

    fn dprk_seeds(&self) -> Result<ParsedLabels, LabelError> {
        let mut out = ParsedLabels::default();
        self.csv_rows(&["incident", "chain", "address", "role"], |r| {
            let raw = self.required(r, "address")?;
            if raw.starts_with('(') {
                out.skipped.push(Skipped {
                    line: r.line,
                    reason: format!("a note, not an address: {raw}"),
                });
                return Ok(());
            }
            let chain = r.get("chain").unwrap_or("").to_ascii_lowercase();
            let addr = match chain.as_str() {
                "ethereum" | "eth" => Address::parse_eth(raw),
                "bitcoin" | "btc" => Address::parse_btc(raw),
                other => {
                    out.skipped.push(Skipped {
                        line: r.line,
                        reason: format!("chain '{other}' is not Ethereum or Bitcoin"),
                    });
                    return Ok(());
                }
            }
            .map_err(|e| self.err(r.line, format!("column 'address': {e}")))?;
            let incident = self.required(r, "incident")?;
            let role = r.get("role").unwrap_or("");
            let mut source = format!("dprk-hack-seeds:{}", self.file);
            for (col, what) in [
                ("attribution_to_dprk", "attribution"),
                ("source_of_address", "address from"),
                ("confidence_of_address", "confidence"),
            ] {
                if let Some(v) = r.get(col).filter(|v| !v.is_empty()) {
                    source.push_str(&format!("; {what}: {v}"));
                }
            }
            let category = if role.to_ascii_lowercase().contains("victim") {
                Category::Victim
            } else {
                Category::DprkAttributed
            };
            let mut label = Label::new(addr, format!("{incident}: {role}"), category, source);
            label.attribution.confidence = r
                .get("confidence_of_address")
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            out.labels.push(label);
            Ok(())
        })?;
        Ok(out)
    }

    fn ofac_dprk(&self) -> Result<ParsedLabels, LabelError> {
        #[derive(serde::Deserialize)]
        struct Doc {
            addresses: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            address: String,
            currency: String,
            #[serde(default)]
            sdn_entries: Vec<Sdn>,
        }
        #[derive(serde::Deserialize)]
        struct Sdn {
            entity: String,
            #[serde(default)]
            program: String,
            #[serde(default)]
            uid: String,
        }
        let doc: Doc = serde_json::from_str(&self.text)
            .map_err(|e| self.err(e.line() as u64, format!("column {}: {e}", e.column())))?;
        let mut out = ParsedLabels::default();
        for e in doc.addresses {
            let line = self.line_of(&format!("\"{}\"", e.address));
            let cur = e.currency.to_ascii_uppercase();
            let addr = if looks_eth(&e.address) {
                Address::parse_eth(&e.address)
            } else if cur == "XBT" || cur == "BTC" {
                Address::parse_btc(&e.address)
            } else {
                out.skipped.push(Skipped {
                    line,
                    reason: format!("{cur} address is not on Ethereum or Bitcoin"),
                });
                continue;
            }
            .map_err(|err| self.err(line, format!("field 'address': {err}")))?;
            if e.sdn_entries.is_empty() {
                return Err(self.err(line, "field 'sdn_entries' is empty"));
            }
            for s in e.sdn_entries {
                out.labels.push(Label::new(
                    addr.clone(),
                    format!("OFAC SDN: {} ({}, uid {})", s.entity, s.program, s.uid),
                    Category::Sanctioned,
                    format!("ofac-dprk-crypto:{} ({cur})", self.file),
                ));
            }
        }
        Ok(out)
    }
}
