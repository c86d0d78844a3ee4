//! Importers: STIX bundles / TAXII envelopes, the OFAC DPRK crypto address
//! list and the MISP threat-actor galaxy. They take bytes (the caller reads
//! files) and return STIX objects with deterministic ids, so importing the
//! same input twice yields exact duplicates.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::content::{crypto_wallet, crypto_wallet_pattern, normalize_wallet_value};
use crate::ids::derived_id;
use crate::tlp::Tlp;
use crate::{StixError, Timestamp};

/// Objects of a STIX bundle (`{"type":"bundle","objects":[…]}`), a TAXII
/// envelope (`{"objects":[…], "more":…}`, `objects` may be absent), a JSON
/// array of objects, or a single object.
pub fn parse_bundle_or_envelope(bytes: &[u8]) -> Result<Vec<Value>, StixError> {
    let v: Value = serde_json::from_slice(bytes).map_err(StixError::from_json)?;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(mut m) => {
            let is_bundle = m.get("type").and_then(Value::as_str) == Some("bundle");
            match m.remove("objects") {
                Some(Value::Array(a)) => a,
                Some(_) => {
                    return Err(StixError::InvalidProperty {
                        context: if is_bundle { "bundle" } else { "envelope" }.into(),
                        property: "objects".into(),
                        message: "must be a list".into(),
                    })
                }
                None if is_bundle => Vec::new(),
                None if m.contains_key("type") && m.contains_key("id") => {
                    vec![Value::Object(m)]
                }
                // A TAXII envelope with no objects (an empty page).
                None if m.is_empty() || m.contains_key("more") || m.contains_key("next") => {
                    Vec::new()
                }
                None => return Err(StixError::Format {
                    context: "input".into(),
                    message:
                        "expected a STIX bundle, a TAXII envelope, a list of objects or one object"
                            .into(),
                }),
            }
        }
        _ => {
            return Err(StixError::Format {
                context: "input".into(),
                message: "expected a JSON object or array".into(),
            })
        }
    };
    for (i, o) in list.iter().enumerate() {
        if !o.is_object() {
            return Err(StixError::Format {
                context: format!("objects[{i}]"),
                message: "not a JSON object".into(),
            });
        }
    }
    Ok(list)
}

// ------------------------------------------------------------------ OFAC

/// Id of MITRE ATT&CK's Lazarus Group (G0032); OFAC's "LAZARUS GROUP"
/// designation is linked to it.
pub const ATTACK_LAZARUS_ID: &str = "intrusion-set--c93fccb1-e8e8-42cf-ae33-2ad1d183913a";
/// OFAC SDN uid of "LAZARUS GROUP".
const OFAC_LAZARUS_UID: &str = "27307";

#[derive(Deserialize)]
struct OfacFile {
    #[serde(default)]
    metadata: Option<Value>,
    addresses: Vec<OfacAddress>,
}

#[derive(Deserialize)]
struct OfacAddress {
    address: String,
    currency: String,
    #[serde(default)]
    case_status: String,
    sdn_entries: Vec<OfacEntry>,
}

#[derive(Deserialize, Clone)]
struct OfacEntry {
    entity: String,
    program: String,
    uid: String,
    #[serde(default)]
    akas: Vec<String>,
}

/// The identity OFAC-derived objects are created by.
pub fn ofac_identity_id() -> String {
    derived_id("identity", "source/ofac")
}

/// Date of the SDN list, from `metadata.derived_from` ("… list date MM/DD/YYYY …").
fn ofac_list_date(meta: Option<&Value>) -> Option<Timestamp> {
    let text = meta?.get("derived_from")?.as_str()?;
    let re = regex::Regex::new(r"(\d{2})/(\d{2})/(\d{4})").ok()?;
    let c = re.captures(text)?;
    Timestamp::parse(&format!("{}-{}-{}T00:00:00.000Z", &c[3], &c[1], &c[2])).ok()
}

/// Chain of an OFAC currency code / address.
fn ofac_chain(currency: &str, address: &str) -> Option<&'static str> {
    match currency {
        "ETH" => Some("ethereum"),
        "XBT" => Some("bitcoin"),
        "TRX" => Some("tron"),
        // USDT is listed per token, not per chain: the address format tells.
        "USDT" if address.starts_with("0x") => Some("ethereum"),
        "USDT" if address.starts_with('T') => Some("tron"),
        _ => None,
    }
}

/// OFAC SDN "given FAMILY" names of people contain lower case; entity names are all caps.
fn identity_class(entity: &str) -> &'static str {
    if entity.chars().any(|c| c.is_lowercase()) {
        "individual"
    } else {
        "organization"
    }
}

/// OFAC DPRK-program crypto addresses → STIX.
///
/// Per usable address: a `cryptocurrency-wallet` SCO and an indicator with
/// pattern `[cryptocurrency-wallet:value = '…']`; per SDN entry: an identity;
/// per (address, entry): `indicator related-to identity` and `wallet
/// related-to identity`; for LAZARUS GROUP addresses also `indicator
/// indicates` ATT&CK's Lazarus Group. Plus the OFAC source identity, and the
/// wallet extension-definition with its creator (the tripoint identity). Records
/// whose `case_status` says the source lower-cased a case-sensitive address
/// are skipped: such an address does not exist on chain.
pub fn ofac_dprk_crypto(bytes: &[u8]) -> Result<Vec<Value>, StixError> {
    let file: OfacFile = serde_json::from_slice(bytes).map_err(StixError::from_json)?;
    let date =
        ofac_list_date(file.metadata.as_ref()).ok_or_else(|| StixError::InvalidProperty {
            context: "OFAC file".into(),
            property: "metadata.derived_from".into(),
            message: "no SDN list date (MM/DD/YYYY) found".into(),
        })?;
    let ts = date.to_string();
    let source = ofac_identity_id();
    let clear = Tlp::V2Clear.marking_id();
    // Self-contained: the wallets' extension-definition and its creator come
    // along, so a store loaded from this file alone has no dangling refs.
    let mut out = vec![
        crate::content::tripoint_identity(),
        crate::content::crypto_wallet_extension_definition(),
    ];
    out.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": source,
        "created": ts,
        "modified": ts,
        "name": "U.S. Department of the Treasury, Office of Foreign Assets Control (OFAC)",
        "identity_class": "organization",
        "sectors": ["government"],
        "object_marking_refs": [clear]
    }));
    // One wallet/indicator per address even if the list names it in several
    // records (e.g. once for ETH, once for USDT): records are merged first,
    // so an id never stands for two different objects.
    struct Listed<'a> {
        chain: &'static str,
        address: &'a str,
        currencies: Vec<&'a str>,
        entries: Vec<&'a OfacEntry>,
    }
    let mut listed: Vec<Listed> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, rec) in file.addresses.iter().enumerate() {
        if rec.case_status.starts_with("LOWERCASED-BY-SOURCE") {
            continue;
        }
        let chain =
            ofac_chain(&rec.currency, &rec.address).ok_or_else(|| StixError::InvalidProperty {
                context: format!("addresses[{i}]"),
                property: "currency".into(),
                message: format!(
                    "unknown currency '{}' for address '{}'",
                    rec.currency, rec.address
                ),
            })?;
        if rec.sdn_entries.is_empty() {
            return Err(StixError::InvalidProperty {
                context: format!("addresses[{i}]"),
                property: "sdn_entries".into(),
                message: "is empty".into(),
            });
        }
        let key = (
            chain.to_string(),
            normalize_wallet_value(chain, &rec.address),
        );
        let at = *index.entry(key).or_insert_with(|| {
            listed.push(Listed {
                chain,
                address: &rec.address,
                currencies: Vec::new(),
                entries: Vec::new(),
            });
            listed.len() - 1
        });
        let l = &mut listed[at];
        if !l.currencies.contains(&rec.currency.as_str()) {
            l.currencies.push(&rec.currency);
        }
        // The source repeats some SDN entries within one record.
        for e in &rec.sdn_entries {
            if !l
                .entries
                .iter()
                .any(|x| x.uid == e.uid && x.program == e.program)
            {
                l.entries.push(e);
            }
        }
    }

    let mut entities: BTreeMap<String, (OfacEntry, BTreeSet<String>)> = BTreeMap::new();
    let mut links = Vec::new();
    for l in &listed {
        let chain = l.chain;
        let currencies = l.currencies.join("/");
        let wallet = crypto_wallet(chain, l.address);
        let value = wallet["value"].as_str().unwrap_or_default().to_string();
        let wallet_id = wallet["id"].as_str().unwrap_or_default().to_string();
        let key = format!("ofac/{chain}/{value}");
        let indicator_id = derived_id("indicator", &key);
        let names: Vec<String> = l
            .entries
            .iter()
            .map(|e| format!("{} ({})", e.entity, e.program))
            .collect();
        let mut ref_uids = BTreeSet::new();
        let refs: Vec<Value> = l
            .entries
            .iter()
            .filter(|e| ref_uids.insert(e.uid.clone()))
            .map(|e| {
                json!({
                    "source_name": "OFAC SDN",
                    "external_id": e.uid,
                    "url": format!("https://sanctionssearch.ofac.treas.gov/Details.aspx?id={}", e.uid)
                })
            })
            .collect();
        out.push(wallet);
        out.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": indicator_id,
            "created_by_ref": source,
            "created": ts,
            "modified": ts,
            "name": format!("OFAC SDN {currencies} address {value}"),
            "description": format!("{currencies} address on {chain} listed on the OFAC SDN list for: {}.", names.join("; ")),
            "indicator_types": ["attribution"],
            "pattern": crypto_wallet_pattern(chain, l.address),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": ts,
            "external_references": refs,
            "object_marking_refs": [clear],
            "x_ofac_currency": currencies
        }));
        for e in &l.entries {
            let entry = entities
                .entry(e.uid.clone())
                .or_insert_with(|| ((*e).clone(), BTreeSet::new()));
            entry.1.insert(e.program.clone());
        }
        for uid in ref_uids {
            links.push((key.clone(), indicator_id.clone(), wallet_id.clone(), uid));
        }
    }
    for (uid, (e, programs)) in &entities {
        let mut o = json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": derived_id("identity", &format!("ofac-sdn/{uid}")),
            "created_by_ref": source,
            "created": ts,
            "modified": ts,
            "name": e.entity,
            "description": format!("OFAC SDN entry {uid}, sanctions programs {}.", programs.iter().cloned().collect::<Vec<_>>().join(", ")),
            "identity_class": identity_class(&e.entity),
            "external_references": [{
                "source_name": "OFAC SDN",
                "external_id": uid,
                "url": format!("https://sanctionssearch.ofac.treas.gov/Details.aspx?id={uid}")
            }],
            "object_marking_refs": [clear],
            "x_ofac_sdn_uid": uid,
            "x_ofac_programs": programs.iter().collect::<Vec<_>>()
        });
        if !e.akas.is_empty() {
            o["x_ofac_akas"] = json!(e.akas);
        }
        out.push(o);
    }
    let relationship = |key: &str, rt: &str, src: &str, dst: &str, desc: String| {
        json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": derived_id("relationship", key),
            "created_by_ref": source,
            "created": ts,
            "modified": ts,
            "relationship_type": rt,
            "description": desc,
            "source_ref": src,
            "target_ref": dst,
            "object_marking_refs": [clear]
        })
    };
    for (key, indicator_id, wallet_id, uid) in links {
        let identity_id = derived_id("identity", &format!("ofac-sdn/{uid}"));
        let name = &entities[&uid].0.entity;
        out.push(relationship(
            &format!("{key}/indicator/{uid}"),
            "related-to",
            &indicator_id,
            &identity_id,
            format!("Address listed on the OFAC SDN list for {name}."),
        ));
        out.push(relationship(
            &format!("{key}/wallet/{uid}"),
            "related-to",
            &wallet_id,
            &identity_id,
            format!("Wallet attributed by OFAC to {name}."),
        ));
        if uid == OFAC_LAZARUS_UID {
            out.push(relationship(
                &format!("{key}/indicates/lazarus"),
                "indicates",
                &indicator_id,
                ATTACK_LAZARUS_ID,
                "OFAC designated this address under LAZARUS GROUP (MITRE ATT&CK G0032).".into(),
            ));
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ MISP

/// A MITRE ATT&CK intrusion set MISP clusters are matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackGroup {
    pub id: String,
    pub external_id: String,
    pub name: String,
    pub aliases: Vec<String>,
}

/// The non-revoked DPRK intrusion sets of MITRE ATT&CK v18.1 (fixed public
/// identifiers, shipped so the MISP import links without the ATT&CK file;
/// a test checks them against the bundle). Stolen Pencil (G0086) is revoked
/// by Kimsuky and deliberately absent.
pub fn attack_dprk_groups() -> Vec<AttackGroup> {
    let g = |id: &str, ext: &str, name: &str, aliases: &[&str]| AttackGroup {
        id: id.into(),
        external_id: ext.into(),
        name: name.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        g(
            "intrusion-set--c93fccb1-e8e8-42cf-ae33-2ad1d183913a",
            "G0032",
            "Lazarus Group",
            &[
                "Lazarus Group",
                "Labyrinth Chollima",
                "HIDDEN COBRA",
                "Guardians of Peace",
                "ZINC",
                "NICKEL ACADEMY",
                "Diamond Sleet",
            ],
        ),
        g(
            "intrusion-set--4a2ce82e-1a74-468a-a6fb-bbead541383c",
            "G0067",
            "APT37",
            &[
                "APT37",
                "InkySquid",
                "ScarCruft",
                "Reaper",
                "Group123",
                "TEMP.Reaper",
                "Ricochet Chollima",
            ],
        ),
        g(
            "intrusion-set--00f67a77-86a4-4adf-be26-1a54fc713340",
            "G0082",
            "APT38",
            &[
                "APT38",
                "NICKEL GLADSTONE",
                "BeagleBoyz",
                "Bluenoroff",
                "Stardust Chollima",
                "Sapphire Sleet",
                "COPERNICIUM",
            ],
        ),
        g(
            "intrusion-set--0ec2f388-bf0f-4b5c-97b1-fc736d26c25f",
            "G0094",
            "Kimsuky",
            &[
                "Kimsuky",
                "Black Banshee",
                "Velvet Chollima",
                "Emerald Sleet",
                "THALLIUM",
                "APT43",
                "TA427",
                "Springtail",
            ],
        ),
        g(
            "intrusion-set--39d6890e-7f23-4474-b8ef-e7b0343c5fc8",
            "G0138",
            "Andariel",
            &["Andariel", "Silent Chollima", "PLUTONIUM", "Onyx Sleet"],
        ),
        g(
            "intrusion-set--e6db1e55-b199-4b6b-8633-989345ee45e0",
            "G1036",
            "Moonstone Sleet",
            &["Moonstone Sleet", "Storm-1789"],
        ),
        g(
            "intrusion-set--14225573-63b5-4e50-ba9a-5fdcaf6a7b4c",
            "G1049",
            "AppleJeus",
            &[
                "AppleJeus",
                "Gleaming Pisces",
                "Citrine Sleet",
                "UNC1720",
                "UNC4736",
            ],
        ),
        g(
            "intrusion-set--46599a4a-77ee-4697-9474-2683b6464859",
            "G1052",
            "Contagious Interview",
            &[
                "Contagious Interview",
                "DeceptiveDevelopment",
                "Gwisin Gang",
                "Tenacious Pungsan",
                "DEV#POPPER",
                "PurpleBravo",
                "TAG-121",
            ],
        ),
    ]
}

/// The non-revoked intrusion sets of any ATT&CK bundle, for matching.
pub fn attack_groups_from_objects(objects: &[Value]) -> Vec<AttackGroup> {
    objects
        .iter()
        .filter(|o| o["type"] == "intrusion-set" && o["revoked"] != true)
        .filter_map(|o| {
            let external_id = o["external_references"]
                .as_array()?
                .iter()
                .find(|r| r["source_name"] == "mitre-attack")?["external_id"]
                .as_str()?
                .to_string();
            Some(AttackGroup {
                id: o["id"].as_str()?.to_string(),
                external_id,
                name: o["name"].as_str()?.to_string(),
                aliases: o["aliases"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Names compare case-, space- and punctuation-insensitively ("APT 37" = "apt37").
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Deserialize)]
struct MispGalaxy {
    #[serde(default)]
    version: Option<u64>,
    values: Vec<MispCluster>,
}

#[derive(Deserialize)]
struct MispCluster {
    value: String,
    uuid: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    meta: MispMeta,
}

#[derive(Deserialize, Default)]
struct MispMeta {
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    refs: Vec<String>,
}

/// How a MISP cluster was matched to an ATT&CK group, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AliasMatch {
    /// A synonym is the ATT&CK id (G0067) or a ref links attack.mitre.org/groups/G0067.
    AttackId,
    /// The cluster's name equals the group's name or one of its aliases.
    Name,
    /// One of the cluster's synonyms equals the group's name or an alias.
    Synonym,
}

impl AliasMatch {
    pub fn confidence(self) -> u8 {
        match self {
            AliasMatch::AttackId => 85,
            AliasMatch::Name => 70,
            AliasMatch::Synonym => 50,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            AliasMatch::AttackId => "the MISP cluster cites the ATT&CK group id",
            AliasMatch::Name => "the MISP cluster's name is an ATT&CK name or alias",
            AliasMatch::Synonym => "a MISP synonym is an ATT&CK name or alias",
        }
    }
}

fn match_cluster(c: &MispCluster, g: &AttackGroup) -> Option<AliasMatch> {
    let url = format!("attack.mitre.org/groups/{}", g.external_id.to_lowercase());
    if c.meta
        .synonyms
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&g.external_id))
        || c.meta
            .refs
            .iter()
            .any(|r| r.to_lowercase().trim_end_matches('/').ends_with(&url))
    {
        return Some(AliasMatch::AttackId);
    }
    let names: BTreeSet<String> = std::iter::once(&g.name)
        .chain(&g.aliases)
        .map(|s| norm(s))
        .collect();
    if names.contains(&norm(&c.value)) {
        return Some(AliasMatch::Name);
    }
    if c.meta.synonyms.iter().any(|s| names.contains(&norm(s))) {
        return Some(AliasMatch::Synonym);
    }
    None
}

/// The identity MISP-derived objects are created by.
pub fn misp_identity_id() -> String {
    derived_id("identity", "source/misp-galaxy")
}

/// Base of MISP-derived timestamps; `modified` adds the galaxy version in
/// seconds so a newer galaxy release yields a newer object version.
const MISP_EPOCH_MS: i64 = 1_577_836_800_000; // 2020-01-01T00:00:00Z

/// MISP threat-actor galaxy clusters → intrusion-sets (name, description,
/// `aliases` = name + synonyms, refs) with ids derived from the cluster uuid,
/// plus `related-to` relationships to the ATT&CK DPRK intrusion sets they
/// match (see [`AliasMatch`]; confidence per match kind), plus the MISP
/// source identity. Matching is many-to-many on purpose: MISP lists Andariel
/// under both Lazarus Group and Silent Chollima.
pub fn misp_galaxy_dprk(bytes: &[u8]) -> Result<Vec<Value>, StixError> {
    misp_galaxy_with_groups(bytes, &attack_dprk_groups())
}

/// [`misp_galaxy_dprk`] against a given list of ATT&CK groups.
pub fn misp_galaxy_with_groups(
    bytes: &[u8],
    groups: &[AttackGroup],
) -> Result<Vec<Value>, StixError> {
    let galaxy: MispGalaxy = serde_json::from_slice(bytes).map_err(StixError::from_json)?;
    let created = Timestamp::from_unix_millis(MISP_EPOCH_MS).to_string();
    let modified =
        Timestamp::from_unix_millis(MISP_EPOCH_MS + galaxy.version.unwrap_or(0) as i64 * 1000)
            .to_string();
    let source = misp_identity_id();
    let clear = Tlp::V2Clear.marking_id();
    let mut out = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": source,
        "created": created,
        "modified": modified,
        "name": "MISP Project (misp-galaxy threat-actor clusters)",
        "identity_class": "organization",
        "object_marking_refs": [clear]
    })];
    let mut rels = Vec::new();
    for (i, c) in galaxy.values.iter().enumerate() {
        if c.value.trim().is_empty() || uuid::Uuid::try_parse(&c.uuid).is_err() {
            return Err(StixError::InvalidProperty {
                context: format!("values[{i}]"),
                property: if c.value.trim().is_empty() {
                    "value"
                } else {
                    "uuid"
                }
                .into(),
                message: "missing or malformed".into(),
            });
        }
        let id = derived_id(
            "intrusion-set",
            &format!("misp-galaxy/{}", c.uuid.to_lowercase()),
        );
        let mut aliases = vec![c.value.clone()];
        for s in &c.meta.synonyms {
            if !s.trim().is_empty() && !aliases.contains(s) {
                aliases.push(s.clone());
            }
        }
        let mut refs = vec![json!({
            "source_name": "misp-galaxy",
            "external_id": c.uuid,
            "url": "https://github.com/MISP/misp-galaxy/blob/main/clusters/threat-actor.json"
        })];
        refs.extend(
            c.meta
                .refs
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| json!({"source_name": "misp-galaxy reference", "url": r})),
        );
        let mut o = json!({
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": source,
            "created": created,
            "modified": modified,
            "name": c.value,
            "aliases": aliases,
            "external_references": refs,
            "object_marking_refs": [clear]
        });
        if let Some(d) = c.description.as_deref().filter(|d| !d.is_empty()) {
            o["description"] = json!(d);
        }
        out.push(o);
        for g in groups {
            if let Some(m) = match_cluster(c, g) {
                rels.push(json!({
                    "type": "relationship",
                    "spec_version": "2.1",
                    "id": derived_id("relationship", &format!("misp-galaxy/{}/attack/{}", c.uuid.to_lowercase(), g.external_id)),
                    "created_by_ref": source,
                    "created": created,
                    "modified": modified,
                    "relationship_type": "related-to",
                    "description": format!("MISP cluster '{}' corresponds to ATT&CK {} {}: {}.", c.value, g.external_id, g.name, m.describe()),
                    "confidence": m.confidence(),
                    "source_ref": id,
                    "target_ref": g.id,
                    "object_marking_refs": [clear]
                }));
            }
        }
    }
    out.extend(rels);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ofac_file(records: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "metadata": {"derived_from": "x (OFAC SDN list date 08/20/2026); y", "count": 1},
            "addresses": records
        }))
        .unwrap()
    }

    fn rec(address: &str, currency: &str) -> Value {
        json!({"address": address, "currency": currency, "case_status": "original-case",
               "sdn_entries": [{"entity": "Jane DOE", "program": "DPRK3", "uid": "1", "akas": []}]})
    }

    #[test]
    fn ofac_small_file_maps_as_documented() {
        let objs = ofac_dprk_crypto(&ofac_file(json!([
            rec("0xAbC0000000000000000000000000000000000001", "ETH"),
            rec("TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf", "USDT"),
            {"address": "tlower", "currency": "TRX", "case_status": "LOWERCASED-BY-SOURCE: x",
             "sdn_entries": [{"entity": "X", "program": "DPRK3", "uid": "2"}]}
        ])))
        .unwrap();
        let types: Vec<&str> = objs.iter().map(|o| o["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "identity",
                "extension-definition",
                "identity",
                "cryptocurrency-wallet",
                "indicator",
                "cryptocurrency-wallet",
                "indicator",
                "identity",
                "relationship",
                "relationship",
                "relationship",
                "relationship"
            ]
        );
        assert_eq!(
            objs[3]["value"],
            "0xabc0000000000000000000000000000000000001"
        );
        assert_eq!(objs[3]["chain"], "ethereum");
        assert_eq!(objs[5]["chain"], "tron");
        assert_eq!(objs[4]["valid_from"], "2026-08-20T00:00:00.000Z");
        assert_eq!(objs[7]["identity_class"], "individual");
        assert!(objs[7].get("x_ofac_akas").is_none());
        for o in &objs {
            crate::validate(o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
        }
    }

    #[test]
    fn ofac_address_listed_twice_is_one_wallet_and_one_indicator() {
        let mut usdt = rec("0xabc0000000000000000000000000000000000001", "USDT");
        usdt["sdn_entries"][0]["uid"] = json!("9");
        let objs = ofac_dprk_crypto(&ofac_file(json!([
            rec("0xAbC0000000000000000000000000000000000001", "ETH"),
            usdt
        ])))
        .unwrap();
        let count = |t: &str| objs.iter().filter(|o| o["type"] == t).count();
        assert_eq!(count("cryptocurrency-wallet"), 1);
        assert_eq!(count("indicator"), 1);
        assert_eq!(count("identity"), 4); // tripoint, OFAC, uid 1, uid 9
        assert_eq!(count("relationship"), 4);
        let ind = objs.iter().find(|o| o["type"] == "indicator").unwrap();
        assert_eq!(ind["x_ofac_currency"], "ETH/USDT");
        assert_eq!(ind["external_references"].as_array().unwrap().len(), 2);
        let ids: BTreeSet<&str> = objs.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), objs.len());
    }

    #[test]
    fn ofac_errors_name_the_record_and_field() {
        let e = ofac_dprk_crypto(&ofac_file(json!([rec("0x01", "ETH"), rec("abc", "DOGE")])))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("addresses[1]") && e.contains("currency") && e.contains("DOGE"),
            "{e}"
        );
        let mut no_entries = rec("0x01", "ETH");
        no_entries["sdn_entries"] = json!([]);
        let e = ofac_dprk_crypto(&ofac_file(json!([no_entries])))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("addresses[0]") && e.contains("sdn_entries"),
            "{e}"
        );
        let e = ofac_dprk_crypto(br#"{"metadata": {}, "addresses": []}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.derived_from"), "{e}");
        let e = ofac_dprk_crypto(b"{\"addresses\": [\n{\"address\": 5}]}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn misp_errors_and_matching_rules() {
        let e = misp_galaxy_dprk(br#"{"values": [{"value": "X", "uuid": "nope"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("values[0]") && e.contains("uuid"), "{e}");
        let galaxy = json!({"version": 2, "values": [
            {"value": "apt 37", "uuid": "50cd027f-df14-40b2-aa22-bf5de5061163"},
            {"value": "Other", "uuid": "60cd027f-df14-40b2-aa22-bf5de5061163",
             "meta": {"synonyms": ["labyrinth-chollima"], "refs": ["https://attack.mitre.org/groups/G0094/"]}},
            {"value": "Nobody", "uuid": "70cd027f-df14-40b2-aa22-bf5de5061163"}
        ]});
        let objs = misp_galaxy_dprk(&serde_json::to_vec(&galaxy).unwrap()).unwrap();
        let links: Vec<(String, u64)> = objs
            .iter()
            .filter(|o| o["type"] == "relationship")
            .map(|o| {
                (
                    o["target_ref"].as_str().unwrap().to_string(),
                    o["confidence"].as_u64().unwrap(),
                )
            })
            .collect();
        let id = |g: &str| {
            attack_dprk_groups()
                .into_iter()
                .find(|x| x.external_id == g)
                .unwrap()
                .id
        };
        assert_eq!(
            links,
            [(id("G0067"), 70), (id("G0032"), 50), (id("G0094"), 85)],
            "name match (normalised), synonym match, ATT&CK URL"
        );
        assert_eq!(objs[1]["modified"], "2020-01-01T00:00:02.000Z");
    }
}
