//! Type lists and the few closed vocabularies the validator enforces.

/// STIX 2.1 Domain Objects.
pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// STIX 2.1 Relationship Objects.
pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

/// STIX 2.1 Meta Objects.
pub const META_TYPES: &[&str] = &[
    "marking-definition",
    "extension-definition",
    "language-content",
];

/// STIX 2.1 Cyber-observable Objects, plus tripoint's `cryptocurrency-wallet`
/// (declared by [`crate::content::crypto_wallet_extension_definition`]).
pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
    crate::content::CRYPTO_WALLET_TYPE,
];

pub fn is_sco_type(t: &str) -> bool {
    SCO_TYPES.contains(&t)
}

pub fn is_known_type(t: &str) -> bool {
    SDO_TYPES.contains(&t) || SRO_TYPES.contains(&t) || META_TYPES.contains(&t) || is_sco_type(t)
}

/// `opinion` values (closed enumeration).
pub const OPINION: &[&str] = &[
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// `extension_types` values (closed enumeration).
pub const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// Hash algorithms whose value length tripoint checks (hex digits).
pub const HASH_HEX_LEN: &[(&str, usize)] = &[
    ("MD5", 32),
    ("SHA-1", 40),
    ("SHA-256", 64),
    ("SHA-512", 128),
    ("SHA3-256", 64),
    ("SHA3-512", 128),
];
