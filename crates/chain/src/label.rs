use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Address;

/// What kind of actor an address is; drives terminal handling in traces and
/// screening verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Sanctioned,
    DprkAttributed,
    Exchange,
    Bridge,
    Mixer,
    Dex,
    Victim,
    Phishing,
    Exploit,
    Other(String),
}

impl Category {
    pub fn as_str(&self) -> &str {
        match self {
            Category::Sanctioned => "sanctioned",
            Category::DprkAttributed => "dprk-attributed",
            Category::Exchange => "exchange",
            Category::Bridge => "bridge",
            Category::Mixer => "mixer",
            Category::Dex => "dex",
            Category::Victim => "victim",
            Category::Phishing => "phishing",
            Category::Exploit => "exploit",
            Category::Other(s) => s,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Ok(match norm.as_str() {
            "sanctioned" | "ofac" => Category::Sanctioned,
            "dprk-attributed" | "dprk" => Category::DprkAttributed,
            "exchange" | "cex" => Category::Exchange,
            "bridge" => Category::Bridge,
            "mixer" => Category::Mixer,
            "dex" => Category::Dex,
            "victim" => Category::Victim,
            "phishing" | "phish-hack" | "phish" => Category::Phishing,
            "exploit" | "heist" | "hack" => Category::Exploit,
            _ => Category::Other(norm),
        })
    }
}

/// A label on an address, with where it came from (provenance is mandatory:
/// an investigator must be able to cite it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Label {
    pub address: Address,
    pub label: String,
    pub category: Category,
    pub source: String,
    /// Who controls the address and how sure the source is (GraphSense
    /// TagPack fields; empty for sources that do not say).
    #[serde(flatten)]
    pub attribution: Attribution,
}

impl Label {
    /// A label with no actor, jurisdiction, confidence or date.
    pub fn new(
        address: Address,
        label: impl Into<String>,
        category: Category,
        source: impl Into<String>,
    ) -> Label {
        Label {
            address,
            label: label.into(),
            category,
            source: source.into(),
            attribution: Attribution::default(),
        }
    }
}

/// The optional attribution fields of a label. Serialised flat beside the
/// label's own fields, each only when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribution {
    /// Actor id (GraphSense actor pack id, e.g. `binance`, `lazarusgroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// ISO 3166-1 alpha-2 codes of the countries whose law reaches the actor
    /// (where a government can ask it to freeze funds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jurisdictions: Vec<String>,
    /// The source's confidence, in its own vocabulary (GraphSense
    /// `authority_data`, `service_data`, `web_crawl`…; `high`/`medium`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    /// When the source last changed this attribution (as the source writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod: Option<String>,
}

/// A real-world actor that controls addresses (a GraphSense actor pack entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub label: String,
    /// The source's categories, verbatim (GraphSense `exchange`, `defi_bridge`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jurisdictions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub source: String,
}
