//! Typed STIX 2.1 objects. Every struct keeps unknown (custom) properties in
//! `extra`, and unknown types are kept whole in [`StixObject::Other`], so
//! `Value → typed → Value` is the identity: nothing a partner sends is dropped.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::{StixError, Timestamp};

type Extra = BTreeMap<String, Value>;

/// `external_references` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalReference {
    pub source_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillChainPhase {
    pub kill_chain_name: String,
    pub phase_name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GranularMarking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking_ref: Option<String>,
    pub selectors: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Common properties of SDOs, SROs and meta objects (§3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommonProperties {
    #[serde(rename = "type")]
    pub type_: String,
    pub spec_version: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_ref: Option<String>,
    pub created: Timestamp,
    /// Absent only on marking-definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_references: Option<Vec<ExternalReference>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_marking_refs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_markings: Option<Vec<GranularMarking>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, Value>>,
}

/// Common properties of Cyber-observable Objects (§6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoCommonProperties {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_marking_refs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_markings: Option<Vec<GranularMarking>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defanged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, Value>>,
}

/// Declares a STIX type struct: common block, required fields, optional
/// fields (`Option`, omitted when `None`), then `extra` for custom properties.
macro_rules! stix_type {
    ($(#[$doc:meta])* $name:ident, $common:ty,
     required { $($(#[$ra:meta])* $rf:ident : $rt:ty),* $(,)? }
     optional { $($(#[$oa:meta])* $of:ident : $ot:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            #[serde(flatten)]
            pub common: $common,
            $( $(#[$ra])* pub $rf: $rt, )*
            $( $(#[$oa])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $of: Option<$ot>, )*
            #[serde(flatten)]
            pub extra: Extra,
        }
    };
}

type Strings = Vec<String>;

stix_type!(AttackPattern, CommonProperties,
    required { name: String }
    optional { description: String, aliases: Strings, kill_chain_phases: Vec<KillChainPhase> });
stix_type!(Campaign, CommonProperties,
    required { name: String }
    optional { description: String, aliases: Strings, first_seen: Timestamp, last_seen: Timestamp, objective: String });
stix_type!(Grouping, CommonProperties,
    required { context: String, object_refs: Strings }
    optional { name: String, description: String });
stix_type!(Identity, CommonProperties,
    required { name: String }
    optional { description: String, roles: Strings, identity_class: String, sectors: Strings, contact_information: String });
stix_type!(Indicator, CommonProperties,
    required { pattern: String, pattern_type: String, valid_from: Timestamp }
    optional { name: String, description: String, indicator_types: Strings, pattern_version: String,
               valid_until: Timestamp, kill_chain_phases: Vec<KillChainPhase> });
stix_type!(Infrastructure, CommonProperties,
    required { name: String }
    optional { description: String, infrastructure_types: Strings, aliases: Strings,
               kill_chain_phases: Vec<KillChainPhase>, first_seen: Timestamp, last_seen: Timestamp });
stix_type!(IntrusionSet, CommonProperties,
    required { name: String }
    optional { description: String, aliases: Strings, first_seen: Timestamp, last_seen: Timestamp, goals: Strings,
               resource_level: String, primary_motivation: String, secondary_motivations: Strings });
stix_type!(Location, CommonProperties,
    required {}
    optional { name: String, description: String, latitude: Number, longitude: Number, precision: Number,
               region: String, country: String, administrative_area: String, city: String,
               street_address: String, postal_code: String });
stix_type!(Malware, CommonProperties,
    required { is_family: bool }
    optional { name: String, description: String, malware_types: Strings, aliases: Strings,
               kill_chain_phases: Vec<KillChainPhase>, first_seen: Timestamp, last_seen: Timestamp,
               operating_system_refs: Strings, architecture_execution_envs: Strings,
               implementation_languages: Strings, capabilities: Strings, sample_refs: Strings });
stix_type!(Note, CommonProperties,
    required { content: String, object_refs: Strings }
    optional { #[serde(rename = "abstract")] abstract_: String, authors: Strings });
stix_type!(ObservedData, CommonProperties,
    required { first_observed: Timestamp, last_observed: Timestamp, number_observed: u64 }
    optional { objects: BTreeMap<String, Value>, object_refs: Strings });
stix_type!(Opinion, CommonProperties,
    required { opinion: String, object_refs: Strings }
    optional { explanation: String, authors: Strings });
stix_type!(Report, CommonProperties,
    required { name: String, published: Timestamp, object_refs: Strings }
    optional { description: String, report_types: Strings });
stix_type!(ThreatActor, CommonProperties,
    required { name: String }
    optional { description: String, threat_actor_types: Strings, aliases: Strings, first_seen: Timestamp,
               last_seen: Timestamp, roles: Strings, goals: Strings, sophistication: String,
               resource_level: String, primary_motivation: String, secondary_motivations: Strings,
               personal_motivations: Strings });
stix_type!(Tool, CommonProperties,
    required { name: String }
    optional { description: String, tool_types: Strings, aliases: Strings,
               kill_chain_phases: Vec<KillChainPhase>, tool_version: String });
stix_type!(Vulnerability, CommonProperties,
    required { name: String }
    optional { description: String });
stix_type!(Relationship, CommonProperties,
    required { relationship_type: String, source_ref: String, target_ref: String }
    optional { description: String, start_time: Timestamp, stop_time: Timestamp });
stix_type!(Sighting, CommonProperties,
    required { sighting_of_ref: String }
    optional { description: String, first_seen: Timestamp, last_seen: Timestamp, count: u64,
               observed_data_refs: Strings, where_sighted_refs: Strings, summary: bool });
stix_type!(MarkingDefinition, CommonProperties,
    required {}
    optional { name: String, definition_type: String, definition: BTreeMap<String, Value> });
stix_type!(ExtensionDefinition, CommonProperties,
    required { name: String, schema: String, version: String, extension_types: Strings }
    optional { description: String, extension_properties: Strings });
stix_type!(DomainName, ScoCommonProperties,
    required { value: String }
    optional { resolves_to_refs: Strings });
stix_type!(Ipv4Addr, ScoCommonProperties,
    required { value: String }
    optional { resolves_to_refs: Strings, belongs_to_refs: Strings });
stix_type!(Ipv6Addr, ScoCommonProperties,
    required { value: String }
    optional { resolves_to_refs: Strings, belongs_to_refs: Strings });
stix_type!(Url, ScoCommonProperties,
    required { value: String }
    optional {});
stix_type!(File, ScoCommonProperties,
    required {}
    optional { hashes: BTreeMap<String, String>, size: u64, name: String, name_enc: String,
               magic_number_hex: String, mime_type: String, ctime: Timestamp, mtime: Timestamp,
               atime: Timestamp, parent_directory_ref: String, contains_refs: Strings, content_ref: String });
stix_type!(EmailAddr, ScoCommonProperties,
    required { value: String }
    optional { display_name: String, belongs_to_ref: String });
stix_type!(
    /// tripoint's crypto address SCO, declared by
    /// [`crate::content::crypto_wallet_extension_definition`].
    CryptocurrencyWallet, ScoCommonProperties,
    required { value: String }
    optional { chain: String });

/// Any STIX object: one of the modelled types, or `Other` kept verbatim.
#[derive(Debug, Clone, PartialEq)]
pub enum StixObject {
    AttackPattern(AttackPattern),
    Campaign(Campaign),
    Grouping(Grouping),
    Identity(Identity),
    Indicator(Indicator),
    Infrastructure(Infrastructure),
    IntrusionSet(IntrusionSet),
    Location(Location),
    Malware(Malware),
    Note(Note),
    ObservedData(ObservedData),
    Opinion(Opinion),
    Report(Report),
    ThreatActor(ThreatActor),
    Tool(Tool),
    Vulnerability(Vulnerability),
    Relationship(Relationship),
    Sighting(Sighting),
    MarkingDefinition(MarkingDefinition),
    ExtensionDefinition(ExtensionDefinition),
    DomainName(DomainName),
    Ipv4Addr(Ipv4Addr),
    Ipv6Addr(Ipv6Addr),
    Url(Url),
    File(File),
    EmailAddr(EmailAddr),
    CryptocurrencyWallet(CryptocurrencyWallet),
    /// A type tripoint does not model (custom objects such as
    /// `x-mitre-tactic`, or other STIX types); stored and returned unchanged.
    Other(Value),
}

fn typed<T: DeserializeOwned>(v: &Value) -> Result<T, StixError> {
    T::deserialize(v).map_err(|e| StixError::Format {
        context: v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("STIX object")
            .to_string(),
        message: e.to_string(),
    })
}

fn untyped<T: Serialize>(t: &T) -> Value {
    // Serializing these structs cannot fail: all keys are strings and all
    // numbers finite (they came from JSON).
    serde_json::to_value(t).unwrap_or(Value::Null)
}

macro_rules! dispatch {
    ($($tname:literal => $variant:ident),* $(,)?) => {
        impl StixObject {
            /// Types a JSON object by its `type`; unknown types become `Other`.
            pub fn from_value(v: &Value) -> Result<Self, StixError> {
                match v.get("type").and_then(Value::as_str) {
                    $( Some($tname) => Ok(StixObject::$variant(typed(v)?)), )*
                    Some(_) => Ok(StixObject::Other(v.clone())),
                    None => Err(StixError::MissingProperty {
                        context: "STIX object".into(),
                        property: "type".into(),
                    }),
                }
            }

            /// Back to JSON; equal to the value it was read from.
            pub fn to_value(&self) -> Value {
                match self {
                    $( StixObject::$variant(o) => untyped(o), )*
                    StixObject::Other(v) => v.clone(),
                }
            }
        }
    };
}

dispatch! {
    "attack-pattern" => AttackPattern,
    "campaign" => Campaign,
    "grouping" => Grouping,
    "identity" => Identity,
    "indicator" => Indicator,
    "infrastructure" => Infrastructure,
    "intrusion-set" => IntrusionSet,
    "location" => Location,
    "malware" => Malware,
    "note" => Note,
    "observed-data" => ObservedData,
    "opinion" => Opinion,
    "report" => Report,
    "threat-actor" => ThreatActor,
    "tool" => Tool,
    "vulnerability" => Vulnerability,
    "relationship" => Relationship,
    "sighting" => Sighting,
    "marking-definition" => MarkingDefinition,
    "extension-definition" => ExtensionDefinition,
    "domain-name" => DomainName,
    "ipv4-addr" => Ipv4Addr,
    "ipv6-addr" => Ipv6Addr,
    "url" => Url,
    "file" => File,
    "email-addr" => EmailAddr,
    "cryptocurrency-wallet" => CryptocurrencyWallet,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061";

    fn r(t: &str) -> String {
        format!("{t}--{ID}")
    }

    fn common(t: &str) -> Value {
        json!({
            "type": t,
            "spec_version": "2.1",
            "id": r(t),
            "created_by_ref": r("identity"),
            "created": "2016-05-12T08:17:27.000Z",
            "modified": "2017-05-12T08:17:27.1234567Z",
            "revoked": false,
            "labels": ["l1"],
            "confidence": 80,
            "lang": "en",
            "external_references": [{"source_name": "capec", "external_id": "CAPEC-163",
                                      "hashes": {"SHA-256": "ab".repeat(32)}, "x_note": 1}],
            "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"],
            "granular_markings": [{"selectors": ["labels"], "marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}],
            "extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}},
            "x_custom": {"nested": [1, 2.5, "x", true]}
        })
    }

    fn sco(t: &str) -> Value {
        json!({
            "type": t,
            "spec_version": "2.1",
            "id": r(t),
            "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"],
            "defanged": false,
            "x_seen_by": "kr"
        })
    }

    fn merge(mut base: Value, extra: Value) -> Value {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    fn kc() -> Value {
        json!([{"kill_chain_name": "mitre-attack", "phase_name": "execution"}])
    }

    /// One fully populated object of every modelled type.
    fn samples() -> Vec<Value> {
        let ts = "2016-05-12T08:17:27Z";
        vec![
            merge(
                common("attack-pattern"),
                json!({"name": "Spear Phishing", "description": "d", "aliases": ["a"], "kill_chain_phases": kc()}),
            ),
            merge(
                common("campaign"),
                json!({"name": "Dream Job", "description": "d", "aliases": ["a"], "first_seen": ts, "last_seen": ts, "objective": "o"}),
            ),
            merge(
                common("grouping"),
                json!({"name": "g", "description": "d", "context": "suspicious-activity", "object_refs": [r("indicator")]}),
            ),
            merge(
                common("identity"),
                json!({"name": "KR", "description": "d", "roles": ["r"], "identity_class": "organization", "sectors": ["government"], "contact_information": "c"}),
            ),
            merge(
                common("indicator"),
                json!({"name": "n", "description": "d", "indicator_types": ["malicious-activity"],
                "pattern": "[cryptocurrency-wallet:value = '0xab']", "pattern_type": "stix", "pattern_version": "2.1",
                "valid_from": ts, "valid_until": "2026-05-12T08:17:27Z", "kill_chain_phases": kc()}),
            ),
            merge(
                common("infrastructure"),
                json!({"name": "n", "description": "d", "infrastructure_types": ["command-and-control"], "aliases": ["a"], "kill_chain_phases": kc(), "first_seen": ts, "last_seen": ts}),
            ),
            merge(
                common("intrusion-set"),
                json!({"name": "Lazarus Group", "description": "d", "aliases": ["HIDDEN COBRA"], "first_seen": ts, "last_seen": ts,
                "goals": ["money"], "resource_level": "government", "primary_motivation": "personal-gain", "secondary_motivations": ["dominance"]}),
            ),
            merge(
                common("location"),
                json!({"name": "Pyongyang", "description": "d", "latitude": 39, "longitude": 125.75, "precision": 1000.0,
                "region": "eastern-asia", "country": "KP", "administrative_area": "a", "city": "Pyongyang", "street_address": "s", "postal_code": "p"}),
            ),
            merge(
                common("malware"),
                json!({"name": "AppleJeus", "description": "d", "malware_types": ["trojan"], "is_family": true, "aliases": ["a"],
                "kill_chain_phases": kc(), "first_seen": ts, "last_seen": ts, "operating_system_refs": [r("software")],
                "architecture_execution_envs": ["x86"], "implementation_languages": ["c"], "capabilities": ["steals-authentication-credentials"], "sample_refs": [r("file")]}),
            ),
            merge(
                common("note"),
                json!({"abstract": "a", "content": "c", "authors": ["x"], "object_refs": [r("malware")]}),
            ),
            merge(
                common("observed-data"),
                json!({"first_observed": ts, "last_observed": ts, "number_observed": 3, "object_refs": [r("ipv4-addr")]}),
            ),
            merge(
                common("opinion"),
                json!({"explanation": "e", "authors": ["x"], "opinion": "agree", "object_refs": [r("report")]}),
            ),
            merge(
                common("report"),
                json!({"name": "n", "description": "d", "report_types": ["threat-actor"], "published": ts, "object_refs": [r("intrusion-set")]}),
            ),
            merge(
                common("threat-actor"),
                json!({"name": "n", "description": "d", "threat_actor_types": ["nation-state"], "aliases": ["a"], "first_seen": ts,
                "last_seen": ts, "roles": ["agent"], "goals": ["g"], "sophistication": "expert", "resource_level": "government",
                "primary_motivation": "organizational-gain", "secondary_motivations": ["x"], "personal_motivations": ["y"]}),
            ),
            merge(
                common("tool"),
                json!({"name": "n", "description": "d", "tool_types": ["remote-access"], "aliases": ["a"], "kill_chain_phases": kc(), "tool_version": "1"}),
            ),
            merge(
                common("vulnerability"),
                json!({"name": "CVE-2023-1234", "description": "d"}),
            ),
            merge(
                common("relationship"),
                json!({"relationship_type": "uses", "description": "", "source_ref": r("intrusion-set"), "target_ref": r("malware"),
                "start_time": ts, "stop_time": "2017-05-12T08:17:27Z"}),
            ),
            merge(
                common("sighting"),
                json!({"description": "d", "first_seen": ts, "last_seen": ts, "count": 2, "sighting_of_ref": r("indicator"),
                "observed_data_refs": [r("observed-data")], "where_sighted_refs": [r("identity")], "summary": false}),
            ),
            crate::tlp::Tlp::V1Amber.marking_definition(),
            crate::tlp::Tlp::V2AmberStrict.marking_definition(),
            crate::content::crypto_wallet_extension_definition(),
            merge(
                sco("domain-name"),
                json!({"value": "example.com", "resolves_to_refs": [r("ipv4-addr")]}),
            ),
            merge(
                sco("ipv4-addr"),
                json!({"value": "198.51.100.3", "resolves_to_refs": [r("mac-addr")], "belongs_to_refs": [r("autonomous-system")]}),
            ),
            merge(
                sco("ipv6-addr"),
                json!({"value": "2001:db8::1", "belongs_to_refs": [r("autonomous-system")]}),
            ),
            merge(sco("url"), json!({"value": "https://example.com/a"})),
            merge(
                sco("file"),
                json!({"hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}, "size": 0, "name": "a.exe", "name_enc": "utf-8",
                "magic_number_hex": "4d5a", "mime_type": "application/x-dosexec", "ctime": ts, "mtime": ts, "atime": ts,
                "parent_directory_ref": r("directory"), "contains_refs": [r("file")], "content_ref": r("artifact")}),
            ),
            merge(
                sco("email-addr"),
                json!({"value": "a@example.com", "display_name": "A", "belongs_to_ref": r("user-account")}),
            ),
            crate::content::crypto_wallet("tron", "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"),
        ]
    }

    #[test]
    fn every_modelled_type_round_trips_and_validates() {
        let samples = samples();
        assert_eq!(samples.len(), 28);
        let mut seen = std::collections::BTreeSet::new();
        for v in &samples {
            crate::validate(v).unwrap_or_else(|e| panic!("{}: {e:?}", v["type"]));
            let t = StixObject::from_value(v).unwrap_or_else(|e| panic!("{}: {e}", v["type"]));
            assert!(!matches!(t, StixObject::Other(_)), "{} is typed", v["type"]);
            assert_eq!(&t.to_value(), v, "round trip of {}", v["type"]);
            seen.insert(v["type"].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), 27, "all 27 modelled types covered");
    }

    #[test]
    fn typed_fields_are_populated_and_custom_properties_kept() {
        let v = samples()
            .into_iter()
            .find(|v| v["type"] == "indicator")
            .unwrap();
        let StixObject::Indicator(i) = StixObject::from_value(&v).unwrap() else {
            panic!()
        };
        assert_eq!(i.pattern_type, "stix");
        assert_eq!(i.common.confidence, Some(80));
        assert_eq!(i.common.modified.unwrap().frac_digits(), 7);
        assert_eq!(i.extra["x_custom"], json!({"nested": [1, 2.5, "x", true]}));
        let refs = i.common.external_references.as_ref().unwrap();
        assert_eq!(refs[0].extra["x_note"], 1);
        // Constructing and emitting: no nulls for absent optionals.
        let out = StixObject::Indicator(i).to_value();
        assert!(!out.to_string().contains("null"));
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let v = json!({"type": "x-mitre-tactic", "id": r("x-mitre-tactic"), "whatever": [null, {"a": 1}]});
        assert_eq!(
            StixObject::from_value(&v).unwrap(),
            StixObject::Other(v.clone())
        );
        assert_eq!(StixObject::from_value(&v).unwrap().to_value(), v);
    }

    #[test]
    fn missing_required_fields_fail_typing() {
        let v = json!({"type": "malware", "spec_version": "2.1", "id": r("malware"),
            "created": "2016-05-12T08:17:27.000Z", "modified": "2016-05-12T08:17:27.000Z"});
        let e = StixObject::from_value(&v).unwrap_err().to_string();
        assert!(e.contains("is_family"), "{e}");
        assert!(StixObject::from_value(&json!({"id": "x"})).is_err());
    }
}
