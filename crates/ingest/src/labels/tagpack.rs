//! GraphSense TagPacks and actor packs (YAML).
//!
//! A TagPack has header fields that apply to every tag and a `tags:` list
//! whose entries may override any of them. Each tag becomes one label per
//! tripoint category it maps to (see `map_category`, documented in
//! docs/store.md): the GraphSense entity `category` (exchange, bridge…) and
//! the `abuse` (sanction, service_hack…) each give one, and a tag whose actor
//! is a DPRK actor also gets a `dprk-attributed` label.

use serde::Deserialize;
use serde_yaml::Value;
use tripoint_chain::{Actor, Address, Attribution, Category, Label};

use super::{looks_eth, Cx, LabelError, ParsedLabels, Skipped};

/// Actors whose tags are DPRK attributions.
const DPRK_ACTORS: [&str; 1] = ["lazarusgroup"];

#[derive(Deserialize, Default)]
struct Fields {
    label: Option<Value>,
    category: Option<Value>,
    abuse: Option<Value>,
    actor: Option<Value>,
    confidence: Option<Value>,
    source: Option<Value>,
    lastmod: Option<Value>,
    currency: Option<Value>,
    #[serde(default)]
    concepts: Vec<Value>,
}

#[derive(Deserialize)]
struct Pack {
    #[serde(flatten)]
    header: Fields,
    title: Option<Value>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    address: Option<Value>,
    #[serde(flatten)]
    fields: Fields,
}

#[derive(Deserialize)]
struct ActorPack {
    #[serde(default)]
    actors: Vec<ActorEntry>,
}

#[derive(Deserialize)]
struct ActorEntry {
    id: Option<Value>,
    label: Option<Value>,
    #[serde(default)]
    categories: Vec<Value>,
    #[serde(default)]
    jurisdictions: Vec<Value>,
    uri: Option<Value>,
}

/// A YAML scalar as text (dates and numbers included); `None` for null,
/// empty strings and non-scalars.
fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// GraphSense entity category (or concept) → tripoint category. `None` for
/// categories that say nothing a trace acts on (`user`, `organization`).
pub(crate) fn map_category(gs: &str) -> Option<Category> {
    let c = gs.trim().to_ascii_lowercase().replace('-', "_");
    Some(match c.as_str() {
        "exchange" => Category::Exchange,
        "defi_bridge" | "bridge" => Category::Bridge,
        "defi_dex" | "dex" => Category::Dex,
        "mixing_service" | "coinjoin" | "mixer" => Category::Mixer,
        "user" | "organization" | "entity" | "" => return None,
        other => Category::Other(other.replace('_', "-")),
    })
}

/// GraphSense `abuse` → tripoint category.
pub(crate) fn map_abuse(abuse: &str) -> Category {
    let a = abuse.trim().to_ascii_lowercase().replace('-', "_");
    match a.as_str() {
        "sanction" | "sanctioned" => Category::Sanctioned,
        "service_hack" | "hack" | "exploit" | "heist" => Category::Exploit,
        "phishing" => Category::Phishing,
        other => Category::Other(other.replace('_', "-")),
    }
}

/// A source URL of the US Treasury's OFAC sanctions lists.
fn is_ofac_list(source: &str) -> bool {
    let s = source.to_ascii_lowercase();
    s.contains("treasury.gov") && (s.contains("/ofac/") || s.contains("sdn"))
}

impl Cx<'_> {
    fn yaml_error(&self, e: serde_yaml::Error) -> LabelError {
        let line = e.location().map(|l| l.line() as u64).unwrap_or(0);
        self.err(line, format!("not valid YAML: {e}"))
    }

    /// Physical line where each entry of the top-level list `key:` starts,
    /// for block-style YAML (the form packs are written in).
    fn list_item_lines(&self, key: &str) -> Vec<u64> {
        let mut out = Vec::new();
        let mut inside = false;
        let mut indent: Option<usize> = None;
        for (i, line) in self.text.lines().enumerate() {
            let trimmed = line.trim_start();
            if !inside {
                inside = line.starts_with(key) && line[key.len()..].trim_start().starts_with(':');
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let ind = line.len() - trimmed.len();
            if trimmed.starts_with("- ") || trimmed == "-" {
                match indent {
                    None => {
                        indent = Some(ind);
                        out.push(i as u64 + 1);
                    }
                    Some(d) if d == ind => out.push(i as u64 + 1),
                    _ => {}
                }
            } else if ind == 0 {
                // The next top-level key ends the list.
                break;
            }
        }
        out
    }

    pub(super) fn tagpack(&self) -> Result<ParsedLabels, LabelError> {
        let pack: Pack = serde_yaml::from_str(&self.text).map_err(|e| self.yaml_error(e))?;
        let starts = self.list_item_lines("tags");
        let title = text(pack.title.as_ref()).unwrap_or_default();
        let mut out = ParsedLabels::default();
        for (n, tag) in pack.tags.iter().enumerate() {
            let raw = text(tag.address.as_ref());
            let line = match starts.get(n) {
                Some(&l) if starts.len() == pack.tags.len() => l,
                _ => raw.as_deref().map(|a| self.line_of(a)).unwrap_or_default(),
            };
            let Some(raw) = raw else {
                return Err(self.err(line, "field 'address' is missing"));
            };
            let get = |f: fn(&Fields) -> Option<&Value>| {
                text(f(&tag.fields)).or_else(|| text(f(&pack.header)))
            };
            let currency = get(|f| f.currency.as_ref())
                .unwrap_or_default()
                .to_ascii_uppercase();
            let addr = match currency.as_str() {
                "ETH" => Address::parse_eth(&raw),
                // ERC-20 tokens are tagged by their own ticker.
                "USDT" | "USDC" if looks_eth(&raw) => Address::parse_eth(&raw),
                "BTC" => Address::parse_btc(&raw),
                "" => Address::parse(&raw),
                other => {
                    out.skipped.push(Skipped {
                        line,
                        reason: format!("currency {other} is not on Ethereum or Bitcoin"),
                    });
                    continue;
                }
            }
            .map_err(|e| self.err(line, format!("field 'address': {e}")))?;
            let label = get(|f| f.label.as_ref())
                .or_else(|| (!title.is_empty()).then(|| title.clone()))
                .ok_or_else(|| self.err(line, "field 'label' is missing (tag and pack)"))?;
            let actor = get(|f| f.actor.as_ref());
            let mut source = format!("tagpack:{}", self.file);
            if let Some(s) = get(|f| f.source.as_ref()) {
                source.push_str(&format!(" ({s})"));
            }
            let attribution = Attribution {
                actor: actor.clone(),
                jurisdictions: Vec::new(),
                confidence: get(|f| f.confidence.as_ref()),
                lastmod: get(|f| f.lastmod.as_ref()),
            };
            let mut cats: Vec<Category> = Vec::new();
            if let Some(a) = get(|f| f.abuse.as_ref()) {
                cats.push(map_abuse(&a));
            } else if get(|f| f.source.as_ref()).is_some_and(|s| is_ofac_list(&s)) {
                // Scraped OFAC packs say so only through their source.
                cats.push(Category::Sanctioned);
            }
            let entity = get(|f| f.category.as_ref());
            let concepts = if tag.fields.concepts.is_empty() {
                &pack.header.concepts
            } else {
                &tag.fields.concepts
            };
            for c in entity
                .into_iter()
                .chain(concepts.iter().filter_map(|c| text(Some(c))))
            {
                if let Some(c) = map_category(&c) {
                    cats.push(c);
                }
            }
            if actor
                .as_deref()
                .is_some_and(|a| DPRK_ACTORS.contains(&a.to_ascii_lowercase().as_str()))
            {
                cats.push(Category::DprkAttributed);
            }
            if cats.is_empty() {
                cats.push(Category::Other("unknown".into()));
            }
            let mut seen = Vec::new();
            for category in cats {
                if seen.contains(&category) {
                    continue;
                }
                seen.push(category.clone());
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

    pub(super) fn actorpack(&self) -> Result<ParsedLabels, LabelError> {
        let pack: ActorPack = serde_yaml::from_str(&self.text).map_err(|e| self.yaml_error(e))?;
        let starts = self.list_item_lines("actors");
        let mut out = ParsedLabels::default();
        for (n, a) in pack.actors.iter().enumerate() {
            let line = starts.get(n).copied().unwrap_or_default();
            let id = text(a.id.as_ref()).ok_or_else(|| self.err(line, "field 'id' is missing"))?;
            let mut jurisdictions = Vec::new();
            for j in &a.jurisdictions {
                let code = text(Some(j)).unwrap_or_default().to_ascii_uppercase();
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(self.err(
                        line,
                        format!(
                            "field 'jurisdictions': '{code}' is not an ISO 3166-1 alpha-2 code"
                        ),
                    ));
                }
                jurisdictions.push(code);
            }
            out.actors.push(Actor {
                label: text(a.label.as_ref()).unwrap_or_else(|| id.clone()),
                id,
                categories: a.categories.iter().filter_map(|c| text(Some(c))).collect(),
                jurisdictions,
                uri: text(a.uri.as_ref()),
                source: format!("actorpack:{}", self.file),
            });
        }
        Ok(out)
    }
}
