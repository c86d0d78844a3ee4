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
}
