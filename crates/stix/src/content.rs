//! Content tripoint ships: the trilateral partner identities, the
//! `cryptocurrency-wallet` extension, and deterministic synthetic objects for
//! benchmarks and a fresh-machine demo. All ids are fixed or UUIDv5-derived.

use serde_json::{json, Value};

use crate::ids::{derived_id, sco_id};
use crate::{tlp::Tlp, Timestamp};

/// Type name of the custom SCO for crypto addresses (as OpenCTI names it).
pub const CRYPTO_WALLET_TYPE: &str = "cryptocurrency-wallet";

/// Fixed id of the extension-definition declaring [`CRYPTO_WALLET_TYPE`]
/// (= `derived_id("extension-definition", "cryptocurrency-wallet")`).
pub const CRYPTO_WALLET_EXTENSION_ID: &str =
    "extension-definition--c5c88f5c-c4d1-5945-9f0d-584dbd987af3";

/// `created`/`modified` of the fixed objects below; never change it, or a
/// fresh install would publish new versions of them.
pub const CONTENT_EPOCH: &str = "2026-01-01T00:00:00.000Z";

/// The identity tripoint itself publishes as (creator of the extension).
pub fn tripoint_identity_id() -> String {
    derived_id("identity", "tripoint")
}

pub fn tripoint_identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": tripoint_identity_id(),
        "created": CONTENT_EPOCH,
        "modified": CONTENT_EPOCH,
        "name": "tripoint",
        "description": "The tripoint platform of the US-Japan-Korea working group; publisher of tripoint's STIX extensions.",
        "identity_class": "system"
    })
}

/// The three partners of the trilateral exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partner {
    UnitedStates,
    Japan,
    Korea,
}

impl Partner {
    pub const ALL: [Partner; 3] = [Partner::UnitedStates, Partner::Japan, Partner::Korea];

    /// Short code used in configuration and derived ids: `us`, `jp`, `kr`.
    pub fn code(self) -> &'static str {
        match self {
            Partner::UnitedStates => "us",
            Partner::Japan => "jp",
            Partner::Korea => "kr",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Partner::UnitedStates => "United States (trilateral partner)",
            Partner::Japan => "Japan (trilateral partner)",
            Partner::Korea => "Republic of Korea (trilateral partner)",
        }
    }

    pub fn identity_id(self) -> String {
        partner_identity_id(self.code())
    }

    pub fn identity(self) -> Value {
        partner_identity(self.code(), self.name())
    }
}

/// The identity id of any partner code (`us`, `jp`, `kr`, or one a
/// configuration adds): `identity--` + UUIDv5(tripoint, "identity|partner/<code>").
pub fn partner_identity_id(code: &str) -> String {
    derived_id("identity", &format!("partner/{code}"))
}

/// An identity object for a partner code and display name.
pub fn partner_identity(code: &str, name: &str) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": partner_identity_id(code),
        "created": CONTENT_EPOCH,
        "modified": CONTENT_EPOCH,
        "name": name,
        "identity_class": "organization",
        "sectors": ["government"],
        "x_tripoint_partner": code
    })
}

/// US, JP and KR partner identities (fixed, deterministic ids).
pub fn trilateral_identities() -> Vec<Value> {
    Partner::ALL.iter().map(|p| p.identity()).collect()
}

/// The extension-definition that declares the `cryptocurrency-wallet` SCO.
pub fn crypto_wallet_extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": CRYPTO_WALLET_EXTENSION_ID,
        "created_by_ref": tripoint_identity_id(),
        "created": CONTENT_EPOCH,
        "modified": CONTENT_EPOCH,
        "name": "cryptocurrency-wallet",
        "description": "A cryptocurrency address (wallet) as a Cyber-observable Object, as OpenCTI's Cryptocurrency-Wallet observable.",
        // Plain text is allowed for `schema` (STIX 2.1 §7.3); tripoint publishes no URL for it.
        "schema": "New SCO type cryptocurrency-wallet. Properties: value (string, required): the address as used on chain; addresses of EVM chains are lower-case hex, base58 and bech32 addresses keep their case. chain (string, optional): the chain, e.g. ethereum, bitcoin, tron. ID contributing property: value (UUIDv5 in the STIX SCO namespace over the canonical JSON of {\"value\": ...}). Pattern example: [cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96'].",
        "version": "1.0.0",
        "extension_types": ["new-sco"]
    })
}

/// Chains whose addresses are case-insensitive hex and are stored lower-cased.
fn is_evm(chain: &str) -> bool {
    matches!(
        chain,
        "ethereum" | "bsc" | "polygon" | "arbitrum" | "optimism" | "base" | "avalanche"
    )
}

/// The canonical `value` of an address: EVM hex lower-cased, others unchanged.
pub fn normalize_wallet_value(chain: &str, value: &str) -> String {
    if is_evm(chain) {
        value.to_ascii_lowercase()
    } else {
        value.to_string()
    }
}

/// A `cryptocurrency-wallet` SCO with its deterministic id.
pub fn crypto_wallet(chain: &str, address: &str) -> Value {
    let value = normalize_wallet_value(chain, address);
    json!({
        "type": CRYPTO_WALLET_TYPE,
        "spec_version": "2.1",
        "id": sco_id(CRYPTO_WALLET_TYPE, &json!({ "value": value })),
        "value": value,
        "chain": chain,
        "extensions": { CRYPTO_WALLET_EXTENSION_ID: { "extension_type": "new-sco" } }
    })
}

/// The STIX pattern matching one wallet address.
pub fn crypto_wallet_pattern(chain: &str, address: &str) -> String {
    let value = normalize_wallet_value(chain, address)
        .replace('\\', "\\\\")
        .replace('\'', "\\'");
    format!("[{CRYPTO_WALLET_TYPE}:value = '{value}']")
}

/// splitmix64: small, fast, deterministic; good enough for synthetic content.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(digits);
        s
    }
    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

const MALWARE_TYPES: &[&str] = &[
    "backdoor",
    "remote-access-trojan",
    "downloader",
    "dropper",
    "keylogger",
];
const INFRA_TYPES: &[&str] = &[
    "command-and-control",
    "hosting-malware",
    "phishing",
    "exfiltration",
];

/// `n` valid objects for benchmarks and demos, the same for the same
/// `(seed, n)`: a repeating cycle of indicator (wallet, domain or IPv4
/// pattern), malware, infrastructure, relationship indicator→indicates→malware
/// and relationship malware→uses→infrastructure. Relationships only point at
/// objects of the same batch. Timestamps step one second per object from
/// 2025-01-01, with millisecond precision.
pub fn synthetic_objects(seed: u64, n: usize, created_by_ref: &str) -> Vec<Value> {
    let mut rng = SplitMix(seed ^ 0x7472_6970_6f69_6e74);
    let base_ms: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
    let id_of = |kind: &str, i: usize| derived_id(kind, &format!("synthetic/{seed}/{i}"));
    let tlp = [Tlp::V2Clear, Tlp::V2Green, Tlp::V2Amber];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let ts = Timestamp::from_unix_millis(base_ms + i as i64 * 1000 + rng.below(1000) as i64)
            .to_string();
        let marking = tlp[rng.below(tlp.len() as u64) as usize].marking_id();
        let common = |kind: &str| {
            json!({
                "type": kind,
                "spec_version": "2.1",
                "id": id_of(kind, i),
                "created": ts,
                "modified": ts,
                "created_by_ref": created_by_ref,
                "object_marking_refs": [marking]
            })
        };
        let mut o = match i % 5 {
            0 => {
                let mut o = common("indicator");
                let (name, pattern) = match rng.below(3) {
                    0 => {
                        let addr = format!("0x{}", rng.hex(40));
                        (
                            format!("Wallet {addr}"),
                            crypto_wallet_pattern("ethereum", &addr),
                        )
                    }
                    1 => {
                        let d = format!("{}.{}.example", rng.word(8), rng.word(5));
                        (
                            format!("Domain {d}"),
                            format!("[domain-name:value = '{d}']"),
                        )
                    }
                    _ => {
                        let ip = format!(
                            "198.{}.{}.{}",
                            18 + rng.below(2),
                            rng.below(256),
                            rng.below(256)
                        );
                        (format!("IPv4 {ip}"), format!("[ipv4-addr:value = '{ip}']"))
                    }
                };
                o["name"] = json!(name);
                o["indicator_types"] = json!(["malicious-activity"]);
                o["pattern"] = json!(pattern);
                o["pattern_type"] = json!("stix");
                o["pattern_version"] = json!("2.1");
                o["valid_from"] = json!(ts);
                o
            }
            1 => {
                let mut o = common("malware");
                o["name"] = json!(format!("SYNTH-{}", rng.word(6).to_uppercase()));
                o["is_family"] = json!(true);
                o["malware_types"] =
                    json!([MALWARE_TYPES[rng.below(MALWARE_TYPES.len() as u64) as usize]]);
                o
            }
            2 => {
                let mut o = common("infrastructure");
                o["name"] = json!(format!("synthetic infrastructure {}", rng.word(6)));
                o["infrastructure_types"] =
                    json!([INFRA_TYPES[rng.below(INFRA_TYPES.len() as u64) as usize]]);
                o
            }
            3 => {
                let mut o = common("relationship");
                o["relationship_type"] = json!("indicates");
                o["source_ref"] = json!(id_of("indicator", i - 3));
                o["target_ref"] = json!(id_of("malware", i - 2));
                o
            }
            _ => {
                let mut o = common("relationship");
                o["relationship_type"] = json!("uses");
                o["source_ref"] = json!(id_of("malware", i - 3));
                o["target_ref"] = json!(id_of("infrastructure", i - 2));
                o
            }
        };
        if o.get("description").is_none() {
            o["description"] = json!(format!(
                "Synthetic object {i} (seed {seed}); not real intelligence."
            ));
        }
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ids, validate};

    #[test]
    fn extension_id_is_the_derived_one() {
        assert_eq!(
            CRYPTO_WALLET_EXTENSION_ID,
            ids::derived_id("extension-definition", "cryptocurrency-wallet")
        );
    }

    #[test]
    fn fixed_content_validates() {
        let mut all = trilateral_identities();
        all.push(tripoint_identity());
        all.push(crypto_wallet_extension_definition());
        all.push(crypto_wallet(
            "ethereum",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
        ));
        for o in &all {
            validate(o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
        }
        let ids: std::collections::HashSet<_> =
            all.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn wallet_ids_ignore_evm_case() {
        let a = crypto_wallet("ethereum", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
        let b = crypto_wallet("ethereum", "0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        assert_eq!(a, b);
        let c = crypto_wallet("bitcoin", "1AXUTu9y3H8w4wYx4BjyFWgRhZKDhmcMrn");
        assert_eq!(c["value"], "1AXUTu9y3H8w4wYx4BjyFWgRhZKDhmcMrn");
        assert_eq!(
            c["id"],
            ids::sco_id(
                CRYPTO_WALLET_TYPE,
                &json!({"value": "1AXUTu9y3H8w4wYx4BjyFWgRhZKDhmcMrn"})
            )
        );
    }

    #[test]
    fn synthetic_objects_are_valid_deterministic_and_linked() {
        let creator = Partner::Korea.identity_id();
        let a = synthetic_objects(7, 503, &creator);
        assert_eq!(a.len(), 503);
        assert_eq!(a, synthetic_objects(7, 503, &creator));
        assert_ne!(a, synthetic_objects(8, 503, &creator));
        let ids: std::collections::HashSet<&str> =
            a.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), a.len());
        for o in &a {
            validate(o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
            assert_eq!(o["created_by_ref"], creator.as_str());
            if o["type"] == "relationship" {
                for r in ["source_ref", "target_ref"] {
                    assert!(ids.contains(o[r].as_str().unwrap()), "{o}");
                }
            }
        }
    }
}
