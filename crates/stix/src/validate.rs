//! STIX 2.1 validation of one object (used by the TAXII server on POST).
//!
//! Checks structure, required properties per type, property types, id
//! format, timestamps and their order, indicator patterns, reference target
//! types, closed vocabularies and custom property names. All findings are
//! returned, each naming the offending property.

use std::fmt;

use serde_json::{Map, Value};

use crate::{ids, pattern, vocab, Timestamp};

/// One reason an object is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// The object's id, or `<no id>` when it has none.
    pub object: String,
    /// Property path, e.g. `pattern` or `external_references[2].source_name`;
    /// empty for object-level findings.
    pub property: String,
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.property.is_empty() {
            write!(f, "{}: {}", self.object, self.message)
        } else {
            write!(
                f,
                "{}: property '{}': {}",
                self.object, self.property, self.message
            )
        }
    }
}

impl std::error::Error for ValidationIssue {}

/// How a property's value must look.
#[derive(Clone, Copy)]
enum Kind {
    /// Any string (may be empty: ATT&CK ships empty descriptions).
    Str,
    /// A non-empty string (names, open-vocabulary values).
    Word,
    Ts,
    Bool,
    Int(i64, i64),
    Num(f64, f64),
    /// Non-empty strings, list may be empty.
    Words,
    /// An identifier; the target type must be one of these (empty: any).
    Ref(&'static [&'static str]),
    RefList(&'static [&'static str]),
    /// Like `RefList` but the list must not be empty.
    RefListNonEmpty(&'static [&'static str]),
    KillChains,
    Obj,
    OneOf(&'static [&'static str]),
    ManyOf(&'static [&'static str]),
    Hashes,
}

use Kind::*;

struct Prop {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: true,
    }
}
const fn opt(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: false,
    }
}

const SOFTWARE: &[&str] = &["software"];
const FILE_OR_ARTIFACT: &[&str] = &["file", "artifact"];

/// A `'static` property table (const fn calls are not promoted by `&[…]`).
macro_rules! props {
    ($($p:expr),* $(,)?) => {{
        const P: &[Prop] = &[$($p),*];
        P
    }};
}

/// Type-specific properties (common ones are checked separately).
fn type_props(t: &str) -> &'static [Prop] {
    match t {
        "attack-pattern" => props![
            req("name", Str),
            opt("description", Str),
            opt("aliases", Words),
            opt("kill_chain_phases", KillChains),
        ],
        "campaign" => props![
            req("name", Str),
            opt("description", Str),
            opt("aliases", Words),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
            opt("objective", Str),
        ],
        "course-of-action" => props![req("name", Str), opt("description", Str)],
        "grouping" => props![
            opt("name", Str),
            opt("description", Str),
            req("context", Word),
            req("object_refs", RefListNonEmpty(&[])),
        ],
        "identity" => props![
            req("name", Str),
            opt("description", Str),
            opt("roles", Words),
            opt("identity_class", Word),
            opt("sectors", Words),
            opt("contact_information", Str),
        ],
        "indicator" => props![
            opt("name", Str),
            opt("description", Str),
            opt("indicator_types", Words),
            req("pattern", Word),
            req("pattern_type", Word),
            opt("pattern_version", Word),
            req("valid_from", Ts),
            opt("valid_until", Ts),
            opt("kill_chain_phases", KillChains),
        ],
        "infrastructure" => props![
            req("name", Str),
            opt("description", Str),
            opt("infrastructure_types", Words),
            opt("aliases", Words),
            opt("kill_chain_phases", KillChains),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
        ],
        "intrusion-set" => props![
            req("name", Str),
            opt("description", Str),
            opt("aliases", Words),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
            opt("goals", Words),
            opt("resource_level", Word),
            opt("primary_motivation", Word),
            opt("secondary_motivations", Words),
        ],
        "location" => props![
            opt("name", Str),
            opt("description", Str),
            opt("latitude", Num(-90.0, 90.0)),
            opt("longitude", Num(-180.0, 180.0)),
            opt("precision", Num(0.0, f64::MAX)),
            opt("region", Word),
            opt("country", Word),
            opt("administrative_area", Word),
            opt("city", Word),
            opt("street_address", Word),
            opt("postal_code", Word),
        ],
        "malware" => props![
            opt("name", Str),
            opt("description", Str),
            opt("malware_types", Words),
            req("is_family", Bool),
            opt("aliases", Words),
            opt("kill_chain_phases", KillChains),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
            opt("operating_system_refs", RefList(SOFTWARE)),
            opt("architecture_execution_envs", Words),
            opt("implementation_languages", Words),
            opt("capabilities", Words),
            opt("sample_refs", RefList(FILE_OR_ARTIFACT)),
        ],
        "note" => props![
            opt("abstract", Str),
            req("content", Word),
            opt("authors", Words),
            req("object_refs", RefListNonEmpty(&[])),
        ],
        "observed-data" => props![
            req("first_observed", Ts),
            req("last_observed", Ts),
            req("number_observed", Int(1, 999_999_999)),
            opt("objects", Obj),
            opt("object_refs", RefListNonEmpty(&[])),
        ],
        "opinion" => props![
            opt("explanation", Str),
            opt("authors", Words),
            req("opinion", OneOf(vocab::OPINION)),
            req("object_refs", RefListNonEmpty(&[])),
        ],
        "report" => props![
            req("name", Str),
            opt("description", Str),
            opt("report_types", Words),
            req("published", Ts),
            req("object_refs", RefListNonEmpty(&[])),
        ],
        "threat-actor" => props![
            req("name", Str),
            opt("description", Str),
            opt("threat_actor_types", Words),
            opt("aliases", Words),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
            opt("roles", Words),
            opt("goals", Words),
            opt("sophistication", Word),
            opt("resource_level", Word),
            opt("primary_motivation", Word),
            opt("secondary_motivations", Words),
            opt("personal_motivations", Words),
        ],
        "tool" => props![
            req("name", Str),
            opt("description", Str),
            opt("tool_types", Words),
            opt("aliases", Words),
            opt("kill_chain_phases", KillChains),
            opt("tool_version", Word),
        ],
        "vulnerability" => props![req("name", Str), opt("description", Str)],
        "relationship" => props![
            req("relationship_type", Word),
            opt("description", Str),
            req("source_ref", Ref(&[])),
            req("target_ref", Ref(&[])),
            opt("start_time", Ts),
            opt("stop_time", Ts),
        ],
        "sighting" => props![
            opt("description", Str),
            opt("first_seen", Ts),
            opt("last_seen", Ts),
            opt("count", Int(0, 999_999_999)),
            req("sighting_of_ref", Ref(&[])),
            opt("observed_data_refs", RefList(&["observed-data"])),
            opt("where_sighted_refs", RefList(&["identity", "location"])),
            opt("summary", Bool),
        ],
        "marking-definition" => props![
            opt("name", Str),
            opt("definition_type", Word),
            opt("definition", Obj),
        ],
        "extension-definition" => props![
            req("name", Str),
            opt("description", Str),
            req("schema", Word),
            req("version", Word),
            req("extension_types", ManyOf(vocab::EXTENSION_TYPES)),
            opt("extension_properties", Words),
        ],
        "domain-name" => props![
            req("value", Word),
            opt(
                "resolves_to_refs",
                RefList(&["domain-name", "ipv4-addr", "ipv6-addr"]),
            ),
        ],
        "ipv4-addr" | "ipv6-addr" => props![
            req("value", Word),
            opt("resolves_to_refs", RefList(&["mac-addr"])),
            opt("belongs_to_refs", RefList(&["autonomous-system"])),
        ],
        "url" => props![req("value", Word)],
        "email-addr" => props![
            req("value", Word),
            opt("display_name", Str),
            opt("belongs_to_ref", Ref(&["user-account"])),
        ],
        "file" => props![
            opt("hashes", Hashes),
            opt("size", Int(0, i64::MAX)),
            opt("name", Str),
            opt("name_enc", Word),
            opt("magic_number_hex", Word),
            opt("mime_type", Word),
            opt("ctime", Ts),
            opt("mtime", Ts),
            opt("atime", Ts),
            opt("parent_directory_ref", Ref(&["directory"])),
            opt("contains_refs", RefList(&[])),
            opt("content_ref", Ref(&["artifact"])),
        ],
        crate::content::CRYPTO_WALLET_TYPE => props![req("value", Word), opt("chain", Word)],
        _ => &[],
    }
}

/// Properties every SDO/SRO may carry (STIX 2.1 §3.2).
const COMMON: &[Prop] = &[
    opt("created_by_ref", Ref(&["identity"])),
    opt("revoked", Bool),
    opt("labels", Words),
    opt("confidence", Int(0, 100)),
    opt("lang", Word),
    opt("object_marking_refs", RefList(&["marking-definition"])),
    opt("defanged", Bool),
];

/// Types a relationship may not point at (it links SDOs and SCOs only).
const NOT_RELATABLE: &[&str] = &[
    "relationship",
    "sighting",
    "marking-definition",
    "language-content",
    "extension-definition",
    "bundle",
];

struct Checker<'a> {
    obj: &'a Map<String, Value>,
    object: String,
    issues: Vec<ValidationIssue>,
}

impl Checker<'_> {
    fn issue(&mut self, property: impl Into<String>, message: impl Into<String>) {
        self.issues.push(ValidationIssue {
            object: self.object.clone(),
            property: property.into(),
            message: message.into(),
        });
    }

    fn timestamp(&self, p: &str) -> Option<Timestamp> {
        self.obj
            .get(p)
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok())
    }

    /// `later` must not be before `earlier` (both optional).
    fn order(&mut self, earlier: &str, later: &str, strict: bool) {
        if let (Some(a), Some(b)) = (self.timestamp(earlier), self.timestamp(later)) {
            if b < a || (strict && b == a) {
                let rel = if strict { "later than" } else { "at or after" };
                self.issue(later, format!("must be {rel} '{earlier}' ({a})"));
            }
        }
    }

    fn check_ref(&mut self, path: &str, v: &Value, allowed: &[&str]) {
        let Some(s) = v.as_str() else {
            self.issue(path, "must be an identifier string");
            return;
        };
        match ids::parse_id(s) {
            None => self.issue(
                path,
                format!("'{s}' is not a valid identifier (type--UUID)"),
            ),
            Some((t, _)) if !allowed.is_empty() && !allowed.contains(&t) => self.issue(
                path,
                format!("must reference {}, not '{t}'", allowed.join(" or ")),
            ),
            Some(_) => {}
        }
    }

    fn check_kind(&mut self, name: &str, v: &Value, kind: Kind) {
        match kind {
            Str => {
                if !v.is_string() {
                    self.issue(name, "must be a string");
                }
            }
            Word => match v.as_str() {
                Some(s) if !s.trim().is_empty() => {}
                Some(_) => self.issue(name, "must not be empty"),
                None => self.issue(name, "must be a string"),
            },
            Ts => match v.as_str() {
                Some(s) => {
                    if let Err(e) = Timestamp::parse(s) {
                        self.issue(
                            name,
                            format!(
                                "'{s}' is not an RFC 3339 UTC timestamp: {} at {}",
                                e.reason, e.at
                            ),
                        );
                    }
                }
                None => self.issue(name, "must be a timestamp string"),
            },
            Bool => {
                if !v.is_boolean() {
                    self.issue(name, "must be a boolean");
                }
            }
            Int(lo, hi) => match v.as_i64() {
                Some(n) if (lo..=hi).contains(&n) => {}
                Some(n) => self.issue(name, format!("{n} is outside {lo}..={hi}")),
                None => self.issue(name, "must be an integer"),
            },
            Num(lo, hi) => match v.as_f64() {
                Some(n) if (lo..=hi).contains(&n) => {}
                Some(n) => self.issue(name, format!("{n} is outside {lo}..={hi}")),
                None => self.issue(name, "must be a number"),
            },
            Words => match v.as_array() {
                Some(a) => {
                    for (i, x) in a.iter().enumerate() {
                        if x.as_str().is_none_or(|s| s.trim().is_empty()) {
                            self.issue(format!("{name}[{i}]"), "must be a non-empty string");
                        }
                    }
                }
                None => self.issue(name, "must be a list of strings"),
            },
            Ref(allowed) => self.check_ref(name, v, allowed),
            RefList(allowed) | RefListNonEmpty(allowed) => match v.as_array() {
                Some(a) => {
                    // Emptiness: the general empty-list rule reports it.
                    for (i, x) in a.iter().enumerate() {
                        self.check_ref(&format!("{name}[{i}]"), x, allowed);
                    }
                }
                None => self.issue(name, "must be a list of identifiers"),
            },
            KillChains => match v.as_array() {
                Some(a) => {
                    for (i, k) in a.iter().enumerate() {
                        for f in ["kill_chain_name", "phase_name"] {
                            if k.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                                self.issue(
                                    format!("{name}[{i}].{f}"),
                                    "is required (non-empty string)",
                                );
                            }
                        }
                    }
                }
                None => self.issue(name, "must be a list of kill-chain phases"),
            },
            Obj => {
                if !v.is_object() {
                    self.issue(name, "must be an object");
                }
            }
            OneOf(values) => match v.as_str() {
                Some(s) if values.contains(&s) => {}
                _ => self.issue(name, format!("must be one of {}", values.join(", "))),
            },
            ManyOf(values) => match v.as_array() {
                Some(a) if !a.is_empty() => {
                    for (i, x) in a.iter().enumerate() {
                        if !x.as_str().is_some_and(|s| values.contains(&s)) {
                            self.issue(
                                format!("{name}[{i}]"),
                                format!("must be one of {}", values.join(", ")),
                            );
                        }
                    }
                }
                _ => self.issue(name, "must be a non-empty list"),
            },
            Hashes => self.check_hashes(name, v),
        }
    }

    fn check_hashes(&mut self, name: &str, v: &Value) {
        let Some(m) = v.as_object() else {
            self.issue(name, "must be a dictionary of hash values");
            return;
        };
        if m.is_empty() {
            self.issue(name, "must not be empty");
        }
        for (alg, h) in m {
            let path = format!("{name}.{alg}");
            let Some(h) = h.as_str() else {
                self.issue(path, "must be a string");
                continue;
            };
            if let Some((_, len)) = vocab::HASH_HEX_LEN.iter().find(|(a, _)| a == alg) {
                if h.len() != *len || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    self.issue(path, format!("must be {len} hex digits"));
                }
            }
        }
    }

    fn check_props(&mut self, props: &[Prop]) {
        for p in props {
            match self.obj.get(p.name) {
                None if p.required => self.issue(p.name, "is required"),
                None => {}
                Some(v) => self.check_kind(p.name, v, p.kind),
            }
        }
    }

    fn check_external_references(&mut self) {
        let Some(v) = self.obj.get("external_references") else {
            return;
        };
        let Some(a) = v.as_array() else {
            self.issue("external_references", "must be a list");
            return;
        };
        for (i, r) in a.iter().enumerate() {
            let path = format!("external_references[{i}]");
            let Some(r) = r.as_object() else {
                self.issue(path, "must be an object");
                continue;
            };
            if r.get("source_name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                self.issue(
                    format!("{path}.source_name"),
                    "is required (non-empty string)",
                );
            }
            if !["description", "url", "external_id"]
                .iter()
                .any(|k| r.contains_key(*k))
            {
                self.issue(path.clone(), "needs one of description, url, external_id");
            }
            for k in ["description", "url", "external_id"] {
                if r.get(k).is_some_and(|x| !x.is_string()) {
                    self.issue(format!("{path}.{k}"), "must be a string");
                }
            }
            if let Some(h) = r.get("hashes") {
                self.check_hashes(&format!("{path}.hashes"), h);
            }
        }
    }

    fn check_granular_markings(&mut self) {
        let Some(v) = self.obj.get("granular_markings") else {
            return;
        };
        let Some(a) = v.as_array() else {
            self.issue("granular_markings", "must be a list");
            return;
        };
        for (i, g) in a.iter().enumerate() {
            let path = format!("granular_markings[{i}]");
            match g.get("selectors").and_then(Value::as_array) {
                Some(s) if !s.is_empty() && s.iter().all(Value::is_string) => {}
                _ => self.issue(
                    format!("{path}.selectors"),
                    "must be a non-empty list of strings",
                ),
            }
            for (j, sel) in g
                .get("selectors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(sel) = sel.as_str() {
                    if !selector_resolves(self.obj, sel) {
                        self.issue(
                            format!("{path}.selectors[{j}]"),
                            format!("'{sel}' does not select a property of this object"),
                        );
                    }
                }
            }
            match (g.get("marking_ref"), g.get("lang")) {
                (Some(r), None) => {
                    self.check_ref(&format!("{path}.marking_ref"), r, &["marking-definition"]);
                    if r.as_str() == Some(self.object.as_str()) {
                        self.issue(
                            format!("{path}.marking_ref"),
                            "a marking-definition cannot mark itself",
                        );
                    }
                }
                (None, Some(l)) if l.is_string() => {}
                _ => self.issue(path, "needs exactly one of marking_ref, lang"),
            }
        }
    }

    fn check_extensions(&mut self) {
        let Some(v) = self.obj.get("extensions") else {
            return;
        };
        let Some(m) = v.as_object() else {
            self.issue("extensions", "must be a dictionary");
            return;
        };
        for (k, e) in m {
            let path = format!("extensions.{k}");
            let is_def = k.starts_with("extension-definition--");
            if is_def && ids::parse_id(k).is_none() {
                self.issue(
                    path.clone(),
                    "is not a valid extension-definition identifier",
                );
            } else if !is_def && !k.ends_with("-ext") {
                self.issue(
                    path.clone(),
                    "key must be an extension-definition id or a predefined '-ext' name",
                );
            }
            match e.as_object() {
                None => self.issue(path, "must be an object"),
                Some(e) => {
                    if let Some(t) = e.get("extension_type") {
                        if !t
                            .as_str()
                            .is_some_and(|t| vocab::EXTENSION_TYPES.contains(&t))
                        {
                            self.issue(
                                format!("{path}.extension_type"),
                                format!("must be one of {}", vocab::EXTENSION_TYPES.join(", ")),
                            );
                        }
                    }
                }
            }
        }
    }

    fn check_no_nulls(&mut self, path: &str, v: &Value) {
        match v {
            Value::Null => self.issue(path, "null values are not allowed (omit the property)"),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.check_no_nulls(&format!("{path}[{i}]"), x);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    self.check_no_nulls(&format!("{path}.{k}"), x);
                }
            }
            _ => {}
        }
    }

    fn check_property_names(&mut self, known: &[&str]) {
        for k in self.obj.keys() {
            if known.contains(&k.as_str()) {
                continue;
            }
            if !is_property_name(k) {
                self.issue(
                    k.clone(),
                    "custom property names must be 3-250 characters of a-z, 0-9 and _",
                );
            }
        }
    }

    fn check_pattern(&mut self) {
        if self.obj.get("pattern_type").and_then(Value::as_str) != Some("stix") {
            return;
        }
        if let Some(p) = self.obj.get("pattern").and_then(Value::as_str) {
            match pattern::parse(p) {
                Err(e) => self.issue("pattern", e.to_string()),
                Ok(parsed) => {
                    // Same rule as the OASIS validator: paths name valid SCO
                    // types and valid top-level property names.
                    for path in parsed.object_paths() {
                        let t = &path.object_type;
                        if !vocab::is_sco_type(t) && !ids::is_type_name(t) {
                            self.issue(
                                "pattern",
                                format!("'{t}' is not a valid observable type name"),
                            );
                        }
                        if let Some(pattern::PathStep::Property(p)) = path.steps.first() {
                            if p != "id" && !is_property_name(p) {
                                self.issue(
                                    "pattern",
                                    format!("'{p}' is not a valid observable property name"),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_type_rules(&mut self, t: &str) {
        match t {
            "indicator" => {
                self.check_pattern();
                self.order("valid_from", "valid_until", true);
            }
            "malware" => {
                if self.obj.get("is_family") == Some(&Value::Bool(true))
                    && !self.obj.contains_key("name")
                {
                    self.issue("name", "is required when is_family is true");
                }
                self.order("first_seen", "last_seen", false);
            }
            "campaign" | "infrastructure" | "intrusion-set" | "threat-actor" | "sighting" => {
                self.order("first_seen", "last_seen", false)
            }
            "observed-data" => {
                self.order("first_observed", "last_observed", false);
                match (
                    self.obj.contains_key("objects"),
                    self.obj.contains_key("object_refs"),
                ) {
                    (false, false) => self.issue("object_refs", "is required"),
                    (true, true) => {
                        self.issue("objects", "must not be present together with object_refs")
                    }
                    _ => {}
                }
            }
            "location" => {
                let has = |p: &str| self.obj.contains_key(p);
                let (lat, lon) = (has("latitude"), has("longitude"));
                if lat != lon {
                    let missing = if lat { "longitude" } else { "latitude" };
                    self.issue(missing, "latitude and longitude must be given together");
                }
                if has("precision") && !lat {
                    self.issue("precision", "requires latitude and longitude");
                }
                if !(has("region") || has("country") || (lat && lon)) {
                    self.issue(
                        "region",
                        "one of region, country, or latitude+longitude is required",
                    );
                }
            }
            "relationship" => {
                if let Some(rt) = self.obj.get("relationship_type").and_then(Value::as_str) {
                    if !rt
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    {
                        self.issue("relationship_type", "must contain only a-z, 0-9 and '-'");
                    }
                }
                for p in ["source_ref", "target_ref"] {
                    if let Some((rt, _)) = self
                        .obj
                        .get(p)
                        .and_then(Value::as_str)
                        .and_then(ids::parse_id)
                    {
                        if NOT_RELATABLE.contains(&rt) {
                            self.issue(p, format!("must reference an SDO or SCO, not '{rt}'"));
                        }
                    }
                }
                self.order("start_time", "stop_time", true);
            }
            "file" if !self.obj.contains_key("hashes") && !self.obj.contains_key("name") => {
                self.issue("hashes", "a file needs hashes or name");
            }
            "ipv4-addr" | "ipv6-addr" => {
                if let Some(v) = self.obj.get("value").and_then(Value::as_str) {
                    let v4 = t == "ipv4-addr";
                    if !valid_ip_or_cidr(v, v4) {
                        let what = if v4 { "IPv4" } else { "IPv6" };
                        self.issue(
                            "value",
                            format!("'{v}' is not an {what} address or CIDR block"),
                        );
                    }
                }
            }
            "domain-name" | "url" | "email-addr" => {
                if let Some(v) = self.obj.get("value").and_then(Value::as_str) {
                    if v.chars().any(char::is_whitespace) {
                        self.issue("value", "must not contain whitespace");
                    }
                    if t == "email-addr" && !v.contains('@') {
                        self.issue("value", "an email address needs '@'");
                    }
                }
            }
            _ => {}
        }
        if t == "sighting" {
            if let Some((rt, _)) = self
                .obj
                .get("sighting_of_ref")
                .and_then(Value::as_str)
                .and_then(ids::parse_id)
            {
                if vocab::is_sco_type(rt) || NOT_RELATABLE.contains(&rt) {
                    self.issue(
                        "sighting_of_ref",
                        format!("must reference an SDO, not '{rt}'"),
                    );
                }
            }
        }
    }
}

/// `a-z 0-9 _`, 3–250 characters (STIX property names).
fn is_property_name(k: &str) -> bool {
    (3..=250).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether a granular-marking selector (`description`, `external_references.[1].url`)
/// names something present in the object.
fn selector_resolves(obj: &Map<String, Value>, selector: &str) -> bool {
    let mut cur: Option<&Value> = None;
    for (i, seg) in selector.split('.').enumerate() {
        let next = if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            match (cur, idx.parse::<usize>()) {
                (Some(Value::Array(a)), Ok(n)) => a.get(n),
                _ => None,
            }
        } else if i == 0 {
            obj.get(seg)
        } else {
            cur.and_then(Value::as_object).and_then(|m| m.get(seg))
        };
        match next {
            Some(v) => cur = Some(v),
            None => return false,
        }
    }
    cur.is_some()
}

fn valid_ip_or_cidr(v: &str, v4: bool) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let max = if v4 { 32 } else { 128 };
    let addr_ok = if v4 {
        addr.parse::<std::net::Ipv4Addr>().is_ok()
    } else {
        addr.parse::<std::net::Ipv6Addr>().is_ok()
    };
    addr_ok
        && prefix.is_none_or(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= max)
        })
}

/// Validates one STIX 2.1 object; `Err` lists every issue found.
pub fn validate(obj: &Value) -> Result<(), Vec<ValidationIssue>> {
    let Some(map) = obj.as_object() else {
        return Err(vec![ValidationIssue {
            object: "<no id>".into(),
            property: String::new(),
            message: "a STIX object must be a JSON object".into(),
        }]);
    };
    let object = map
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("<no id>")
        .to_string();
    let mut c = Checker {
        obj: map,
        object,
        issues: Vec::new(),
    };

    // type and id
    let t = match map.get("type") {
        None => {
            c.issue("type", "is required");
            None
        }
        Some(Value::String(t)) if ids::is_type_name(t) => Some(t.as_str()),
        Some(Value::String(t)) => {
            c.issue(
                "type",
                format!("'{t}' is not a valid type name (3-250 chars of a-z, 0-9, '-')"),
            );
            None
        }
        Some(_) => {
            c.issue("type", "must be a string");
            None
        }
    };
    match map.get("id").map(|v| v.as_str()) {
        None => c.issue("id", "is required"),
        Some(None) => c.issue("id", "must be a string"),
        Some(Some(id)) => match ids::parse_id(id) {
            None => c.issue(
                "id",
                format!("'{id}' is not of the form type--UUID (RFC 4122, lower case)"),
            ),
            Some((idt, _)) => {
                if let Some(t) = t {
                    if idt != t {
                        c.issue("id", format!("type part '{idt}' does not match type '{t}'"));
                    }
                }
            }
        },
    }
    if t == Some("bundle") {
        c.issue(
            "type",
            "a bundle is a container, not a STIX object to store",
        );
    }

    let t = t.unwrap_or("");
    let known = vocab::is_known_type(t);
    let has_created = map.contains_key("created");
    let sco = vocab::is_sco_type(t) || (!known && !has_created && !map.contains_key("modified"));

    // spec_version
    match map.get("spec_version") {
        None if !sco => c.issue("spec_version", "is required (\"2.1\")"),
        None => {}
        Some(Value::String(v)) if v == "2.1" => {}
        Some(v) => c.issue("spec_version", format!("must be \"2.1\", got {v}")),
    }

    // Empty lists are not allowed as property values (STIX 2.1 §3.1 / the
    // reference validator), custom properties included.
    for (k, v) in map {
        if v.as_array().is_some_and(Vec::is_empty) {
            c.issue(k.clone(), "empty lists are not allowed (omit the property)");
        }
    }

    // common timestamps
    if !sco {
        c.check_props(&[req("created", Ts)]);
        for p in ["created", "modified"] {
            if let Some(ts) = c.timestamp(p) {
                if ts.frac_digits() < 3 {
                    c.issue(p, "must be precise to at least the millisecond (e.g. 2016-05-12T08:17:27.000Z)");
                }
            }
        }
        if t == "marking-definition" {
            // Marking definitions are never versioned (§7.2): no modified.
            if map.contains_key("modified") {
                c.issue(
                    "modified",
                    "marking-definitions are not versioned; remove it",
                );
            }
        } else {
            c.check_props(&[req("modified", Ts)]);
            c.order("created", "modified", false);
        }
        if t == "marking-definition" {
            if let Some(id) = map.get("id").and_then(Value::as_str) {
                if let Some(level) = crate::tlp::from_marking_id(id) {
                    if *obj != level.marking_definition() {
                        c.issue("", format!("the {} marking-definition must be exactly the one the TLP standard defines", level.name()));
                    }
                }
                let self_ref = map
                    .get("object_marking_refs")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|r| r.as_str() == Some(id)));
                if self_ref {
                    c.issue(
                        "object_marking_refs",
                        "a marking-definition cannot mark itself",
                    );
                }
            }
        }
        if t == "extension-definition" && !map.contains_key("created_by_ref") {
            c.issue("created_by_ref", "is required");
        }
    }
    c.check_props(COMMON);
    c.check_external_references();
    c.check_granular_markings();
    c.check_extensions();
    c.check_props(type_props(t));
    c.check_type_rules(t);
    for (k, v) in map {
        c.check_no_nulls(k, v);
    }

    let mut known_props: Vec<&str> = vec!["id"];
    known_props.extend(type_props(t).iter().map(|p| p.name));
    c.check_property_names(&known_props);

    if c.issues.is_empty() {
        Ok(())
    } else {
        Err(c.issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator() -> Value {
        json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z",
            "modified": "2016-04-06T20:03:48.000Z",
            "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
            "indicator_types": ["malicious-activity"],
            "name": "Poison Ivy Malware",
            "pattern": "[file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877']",
            "pattern_type": "stix",
            "valid_from": "2016-01-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"],
            "x_custom_score": 7
        })
    }

    /// The properties named by the issues of `v` (panics if it is valid).
    fn issues(v: &Value) -> Vec<String> {
        validate(v)
            .expect_err("expected issues")
            .into_iter()
            .map(|i| i.property)
            .collect()
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }

    fn without(mut v: Value, k: &str) -> Value {
        v.as_object_mut().unwrap().remove(k);
        v
    }

    #[test]
    fn a_good_indicator_passes() {
        validate(&indicator()).unwrap();
    }

    #[test]
    fn pattern_errors_name_the_property_and_position() {
        let v = with(
            indicator(),
            "pattern",
            json!("[ipv4-addr:value = '1.2.3.4'"),
        );
        let e = validate(&v).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].to_string(),
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: property 'pattern': unbalanced bracket at 0"
        );
        // Other pattern languages are not parsed.
        let yara = with(v, "pattern_type", json!("yara"));
        validate(&yara).unwrap();
    }

    #[test]
    fn required_properties_and_structure() {
        assert_eq!(issues(&without(indicator(), "pattern")), ["pattern"]);
        assert_eq!(issues(&without(indicator(), "valid_from")), ["valid_from"]);
        assert_eq!(issues(&without(indicator(), "modified")), ["modified"]);
        assert_eq!(
            issues(&without(indicator(), "spec_version")),
            ["spec_version"]
        );
        assert_eq!(
            issues(&with(indicator(), "spec_version", json!("2.0"))),
            ["spec_version"]
        );
        assert_eq!(issues(&without(indicator(), "type")), ["type"]);
        assert_eq!(issues(&json!([1])), [""]);
    }

    #[test]
    fn id_format_and_type_match() {
        assert_eq!(
            issues(&with(
                indicator(),
                "id",
                json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
            )),
            ["id"]
        );
        assert_eq!(
            issues(&with(indicator(), "id", json!("indicator--not-a-uuid"))),
            ["id"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "id",
                json!("indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F")
            )),
            ["id"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "created_by_ref",
                json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
            )),
            ["created_by_ref"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "object_marking_refs",
                json!(["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"])
            )),
            ["object_marking_refs[0]"]
        );
    }

    #[test]
    fn timestamps_and_their_order() {
        assert_eq!(
            issues(&with(indicator(), "created", json!("2016-04-06 20:03:48Z"))),
            ["created"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "modified",
                json!("2016-04-06T20:03:48+01:00")
            )),
            ["modified"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "modified",
                json!("2016-04-06T20:03:47.999Z")
            )),
            ["modified"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "valid_until",
                json!("2016-01-01T00:00:00Z")
            )),
            ["valid_until"]
        );
        validate(&with(
            indicator(),
            "valid_until",
            json!("2016-01-01T00:00:00.001Z"),
        ))
        .unwrap();
    }

    #[test]
    fn custom_properties_kept_only_with_valid_names() {
        assert_eq!(issues(&with(indicator(), "X-Bad", json!(1))), ["X-Bad"]);
        assert_eq!(issues(&with(indicator(), "xy", json!(1))), ["xy"]);
        validate(&with(indicator(), "x_mitre_version", json!("1.0"))).unwrap();
    }

    #[test]
    fn nulls_and_bad_types() {
        assert_eq!(
            issues(&with(indicator(), "name", Value::Null)),
            ["name", "name"]
        );
        assert_eq!(
            issues(&with(indicator(), "x_custom_score", Value::Null)),
            ["x_custom_score"]
        );
        assert_eq!(
            issues(&with(indicator(), "confidence", json!(101))),
            ["confidence"]
        );
        assert_eq!(
            issues(&with(indicator(), "revoked", json!("yes"))),
            ["revoked"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "indicator_types",
                json!("malicious-activity")
            )),
            ["indicator_types"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "external_references",
                json!([{"source_name": "x"}])
            )),
            ["external_references[0]"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "kill_chain_phases",
                json!([{"kill_chain_name": "k"}])
            )),
            ["kill_chain_phases[0].phase_name"]
        );
    }

    fn sdo(t: &str, extra: Value) -> Value {
        let mut v = json!({
            "type": t,
            "spec_version": "2.1",
            "id": format!("{t}--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"),
            "created": "2016-05-12T08:17:27.000Z",
            "modified": "2016-05-12T08:17:27.000Z"
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn per_type_rules() {
        let m = sdo("malware", json!({"is_family": true}));
        assert_eq!(issues(&m), ["name"]);
        validate(&sdo("malware", json!({"is_family": false}))).unwrap();
        assert_eq!(issues(&sdo("malware", json!({"name": "x"}))), ["is_family"]);

        assert_eq!(
            issues(&sdo("location", json!({"latitude": 10.5}))),
            ["longitude", "region"]
        );
        validate(&sdo("location", json!({"latitude": 10.5, "longitude": -7}))).unwrap();
        assert_eq!(
            issues(&sdo("location", json!({"latitude": 91, "longitude": 0}))),
            ["latitude"]
        );

        let rel = json!({"relationship_type": "uses",
            "source_ref": "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "target_ref": "attack-pattern--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"});
        validate(&sdo("relationship", rel.clone())).unwrap();
        let mut bad = rel.clone();
        bad["relationship_type"] = json!("Uses It");
        bad["target_ref"] = json!("relationship--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061");
        assert_eq!(
            issues(&sdo("relationship", bad)),
            ["relationship_type", "target_ref"]
        );

        assert_eq!(
            issues(&sdo(
                "opinion",
                json!({"opinion": "maybe",
            "object_refs": ["report--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"]})
            )),
            ["opinion"]
        );
        assert_eq!(
            issues(&sdo(
                "report",
                json!({"name": "r", "published": "2016-05-12T08:17:27Z", "object_refs": []})
            )),
            ["object_refs"]
        );
        assert_eq!(
            issues(&sdo(
                "sighting",
                json!({"sighting_of_ref": "ipv4-addr--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"})
            )),
            ["sighting_of_ref"]
        );
        assert_eq!(
            issues(&sdo(
                "observed-data",
                json!({"first_observed": "2016-05-12T08:17:27Z",
                "last_observed": "2016-05-12T08:17:26Z", "number_observed": 0,
                "object_refs": ["ipv4-addr--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"]})
            )),
            ["number_observed", "last_observed"]
        );
        assert_eq!(
            issues(&sdo(
                "extension-definition",
                json!({"name": "e", "schema": "s", "version": "1",
            "extension_types": ["new-thing"]})
            )),
            ["created_by_ref", "extension_types[0]"]
        );
    }

    #[test]
    fn marking_definitions_are_not_versioned_and_tlp_is_fixed() {
        let mut m = json!({"type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db",
            "created": "2022-10-01T00:00:00.000Z", "name": "Trilateral use only",
            "definition_type": "statement", "definition": {"statement": "Trilateral use only"}});
        validate(&m).unwrap();
        m["modified"] = json!("2022-10-01T00:00:00.000Z");
        assert_eq!(issues(&m), ["modified"]);
        let mut red = crate::tlp::Tlp::V2Red.marking_definition();
        validate(&red).unwrap();
        red["name"] = json!("TLP:GREEN");
        let e = validate(&red).unwrap_err();
        assert!(e[0].message.contains("TLP:RED"), "{e:?}");
        let mut own = m.clone();
        own.as_object_mut().unwrap().remove("modified");
        own["object_marking_refs"] = json!([own["id"].clone()]);
        assert_eq!(issues(&own), ["object_marking_refs"]);
    }

    #[test]
    fn empty_lists_and_millisecond_precision() {
        assert_eq!(issues(&with(indicator(), "labels", json!([]))), ["labels"]);
        assert_eq!(issues(&with(indicator(), "x_list", json!([]))), ["x_list"]);
        assert_eq!(
            issues(&with(indicator(), "created", json!("2016-04-06T20:03:48Z"))),
            ["created"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "modified",
                json!("2016-04-06T20:03:48.5Z")
            )),
            ["modified"]
        );
        validate(&with(
            indicator(),
            "modified",
            json!("2016-04-06T20:03:48.123456Z"),
        ))
        .unwrap();
        // Other timestamps may have any precision.
        validate(&with(
            indicator(),
            "valid_until",
            json!("2017-01-01T00:00:00Z"),
        ))
        .unwrap();
    }

    #[test]
    fn pattern_paths_need_valid_type_and_property_names() {
        assert_eq!(
            issues(&with(indicator(), "pattern", json!("[a:b = 1]"))),
            ["pattern", "pattern"]
        );
        assert_eq!(
            issues(&with(
                indicator(),
                "pattern",
                json!("[Domain-Name:value = 'x']")
            )),
            ["pattern"]
        );
        validate(&with(
            indicator(),
            "pattern",
            json!("[x-acme-thing:some_prop = 'x']"),
        ))
        .unwrap();
    }

    #[test]
    fn granular_selectors_must_resolve() {
        let mut v = indicator();
        v["external_references"] = json!([{"source_name": "a", "url": "https://example.com"}]);
        v["granular_markings"] = json!([{"selectors": ["name", "external_references.[0].url"],
            "marking_ref": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}]);
        validate(&v).unwrap();
        v["granular_markings"][0]["selectors"] =
            json!(["description", "external_references.[3].url"]);
        assert_eq!(
            issues(&v),
            [
                "granular_markings[0].selectors[0]",
                "granular_markings[0].selectors[1]"
            ]
        );
    }

    #[test]
    fn scos() {
        let ip = |v: &str| json!({"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": v});
        validate(&ip("198.51.100.3")).unwrap();
        validate(&ip("198.51.100.0/24")).unwrap();
        assert_eq!(issues(&ip("198.51.100.300")), ["value"]);
        assert_eq!(issues(&ip("198.51.100.0/33")), ["value"]);
        let v6 = json!({"type": "ipv6-addr", "id": "ipv6-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "2001:db8::/32"});
        validate(&v6).unwrap();
        let file = json!({"type": "file", "id": "file--ff26c055-6336-5bc5-b98d-13d6226742dd", "hashes": {"MD5": "zz"}});
        assert_eq!(issues(&file), ["hashes.MD5"]);
        let file =
            json!({"type": "file", "id": "file--ff26c055-6336-5bc5-b98d-13d6226742dd", "size": 3});
        assert_eq!(issues(&file), ["hashes"]);
        let mail = json!({"type": "email-addr", "id": "email-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "nobody"});
        assert_eq!(issues(&mail), ["value"]);
        let w = json!({"type": "cryptocurrency-wallet", "id": "cryptocurrency-wallet--ff26c055-6336-5bc5-b98d-13d6226742dd"});
        assert_eq!(issues(&w), ["value"]);
    }

    #[test]
    fn unknown_types_get_the_common_checks() {
        let t = sdo(
            "x-mitre-tactic",
            json!({"name": "Execution", "x_mitre_shortname": "execution"}),
        );
        validate(&t).unwrap();
        assert_eq!(issues(&without(t, "modified")), ["modified"]);
        let custom_sco = json!({"type": "x-thing", "id": "x-thing--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": 1});
        validate(&custom_sco).unwrap();
    }

    #[test]
    fn extensions_and_granular_markings() {
        let mut v = indicator();
        v["extensions"] = json!({"not-an-extension": {}});
        assert_eq!(issues(&v), ["extensions.not-an-extension"]);
        v["extensions"] = json!({"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}});
        validate(&v).unwrap();
        v["granular_markings"] = json!([{"selectors": ["name"]}]);
        assert_eq!(issues(&v), ["granular_markings[0]"]);
        v["granular_markings"] = json!([{"selectors": ["name"], "marking_ref": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}]);
        validate(&v).unwrap();
    }
}
