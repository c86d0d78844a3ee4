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
