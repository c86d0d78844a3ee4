//! Etherscan public name tags, as scraped to JSON: `{address: {"name": …,
//! "labels": [word, …]}}`. The label words are free-form; `map_words`
//! turns them into tripoint categories (mapping in docs/store.md). Token
//! contracts (a file whose name says `token`) become `token` labels, which
//! feed the trace's trusted-token list.

use std::collections::BTreeMap;

use serde::Deserialize;
use tripoint_chain::{Address, Attribution, Category, Label};

use super::{Cx, LabelError, ParsedLabels};

/// Etherscan label words that name a centralised exchange; the word is
/// also the GraphSense actor id of that exchange.
const EXCHANGES: [&str; 31] = [
    "binance",
    "huobi",
    "bithumb",
    "upbit",
    "korbit",
    "coinone",
    "coinbase",
    "kraken",
    "okx",
    "kucoin",
    "bitfinex",
    "bybit",
    "gate-io",
    "crypto-com",
    "ftx",
    "poloniex",
    "bittrex",
    "gemini",
    "bitstamp",
    "liquid",
    "bitmex",
    "hitbtc",
    "deribit",
    "zb-com",
    "yunbi",
    "hotbit",
    "bitmart",
    "ascendex",
    "bitflyer",
    "coincheck",
    "exchange",
];

/// Instant (no-account) exchangers.
const INSTANT_EXCHANGERS: [&str; 4] = ["changenow", "fixedfloat", "simpleswap", "sideshift"];

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    name: String,
    #[serde(default)]
    labels: Vec<String>,
}

/// Etherscan label words → tripoint categories (each at most once, in a
/// fixed order), and the actor id when a word names an exchange.
pub(crate) fn map_words(words: &[String]) -> (Vec<Category>, Option<String>) {
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    let mut cats = Vec::new();
    if has("ofac-sanctions-lists") {
        cats.push(Category::Sanctioned);
    }
    if has("heist") || has("exploit") {
        cats.push(Category::Exploit);
    }
    if has("phish-hack") {
        cats.push(Category::Phishing);
    }
    if has("tornado-cash") || has("mixer") {
        cats.push(Category::Mixer);
    }
    if has("bridge") {
        cats.push(Category::Bridge);
    }
    let actor = words
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .find(|w| EXCHANGES.contains(&w.as_str()) && w != "exchange");
    if actor.is_some() || has("exchange") {
        cats.push(Category::Exchange);
    }
    if INSTANT_EXCHANGERS.iter().any(|w| has(w)) {
        cats.push(Category::Other("instant-exchanger".into()));
    }
    if has("dex") {
        cats.push(Category::Dex);
    }
    if cats.is_empty() {
        let first = words.first().map(String::as_str).unwrap_or("unknown");
        cats.push(first.parse().expect("infallible"));
    }
    (cats, actor)
}

impl Cx<'_> {
    pub(super) fn etherscan(&self) -> Result<ParsedLabels, LabelError> {
        let doc: BTreeMap<String, Entry> = serde_json::from_str(&self.text)
            .map_err(|e| self.err(e.line() as u64, format!("column {}: {e}", e.column())))?;
        let tokens = self.file.to_ascii_lowercase().contains("token");
        let mut out = ParsedLabels::default();
        for (raw, e) in doc {
            // Found only on error: the scraped files are one long line.
            let addr = Address::parse_eth(&raw).map_err(|err| {
                self.err(
                    self.line_of(&format!("\"{raw}\"")),
                    format!("key '{raw}': {err}"),
                )
            })?;
            let label = if e.name.trim().is_empty() {
                e.labels.join(", ")
            } else {
                e.name.trim().to_string()
            };
            let source = if e.labels.is_empty() {
                format!("etherscan:{}", self.file)
            } else {
                format!("etherscan:{} ({})", self.file, e.labels.join(", "))
            };
            let (cats, actor) = if tokens {
                (vec![Category::Other("token".into())], None)
            } else {
                map_words(&e.labels)
            };
            let attribution = Attribution {
                actor,
                jurisdictions: Vec::new(),
                confidence: Some("web_crawl".into()),
                lastmod: None,
            };
            for category in cats {
                out.labels.push(Label {
                    address: addr.clone(),
                    label: label.clone(),
                    category,
                    source: source.clone(),
                    attribution: attribution.clone(),
                });
            }
        }
        Ok(out)
    }
}
