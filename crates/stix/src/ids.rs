//! STIX identifiers: `type--UUID`, deterministic UUIDv5 ids for SCOs (STIX 2.1
//! §2.9) and for the objects tripoint derives from source data.

use serde_json::Value;
use uuid::Uuid;

/// STIX 2.1 namespace for SCO ids (§2.9).
pub const SCO_NAMESPACE: Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// tripoint's namespace for UUIDv5 ids of objects derived from source data
/// (imports, fixed identities, synthetic content). Never change it: every
/// re-import would then create new objects instead of exact duplicates.
pub const TRIPOINT_NAMESPACE: Uuid = uuid::uuid!("3c777cbe-a4d8-4a7e-9280-59736452d598");

/// Splits `type--uuid`; `None` unless the type part is a valid STIX type name
/// and the rest an RFC 4122 UUID in canonical lower-case hyphenated form.
pub fn parse_id(id: &str) -> Option<(&str, Uuid)> {
    let (ty, rest) = id.split_once("--")?;
    if !is_type_name(ty) || rest.len() != 36 {
        return None;
    }
    if rest.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let u = Uuid::try_parse(rest).ok()?;
    // RFC 4122 variant (10xx); the nil UUID and Microsoft/future variants are not STIX ids.
    if u.get_variant() != uuid::Variant::RFC4122 {
        return None;
    }
    Some((ty, u))
}

/// STIX type names: 3–250 chars of `a-z 0-9 -`, starting and ending alphanumeric, no `--`.
pub fn is_type_name(t: &str) -> bool {
    let b = t.as_bytes();
    (3..=250).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !t.contains("--")
}

/// The deterministic id of an SCO: UUIDv5 in the STIX namespace over the
/// canonical (RFC 8785) JSON of its id-contributing properties.
pub fn sco_id(type_name: &str, contributing: &Value) -> String {
    let name = canonical_json(contributing);
    format!(
        "{type_name}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, name.as_bytes())
    )
}

/// A deterministic id for an SDO/SRO tripoint derives from source data:
/// UUIDv5 in [`TRIPOINT_NAMESPACE`] over `type` and a stable source key.
pub fn derived_id(type_name: &str, key: &str) -> String {
    let name = format!("{type_name}|{key}");
    format!(
        "{type_name}--{}",
        Uuid::new_v5(&TRIPOINT_NAMESPACE, name.as_bytes())
    )
}

/// RFC 8785 canonical JSON for the values STIX id-contributing properties take
/// (strings, integers, objects, arrays): sorted keys, no whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            // RFC 8785 orders keys by UTF-16 code units.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sco_ids_match_python_stix2() {
        // Reference values computed with OASIS python-stix2 3.0.2.
        assert_eq!(
            sco_id("ipv4-addr", &json!({"value": "198.51.100.3"})),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            sco_id("domain-name", &json!({"value": "example.com"})),
            "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"
        );
        assert_eq!(
            sco_id(
                "file",
                &json!({"name": "a.exe", "hashes": {"SHA-256": "aa".repeat(32)}})
            ),
            "file--48fb535f-793a-5d3e-877f-178dddcec65b"
        );
        assert_eq!(
            sco_id("url", &json!({"value": "https://example.com/a?b=\u{e9}"})),
            "url--b63e7cb2-1761-55bb-8719-77a67415bc8e"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_without_whitespace() {
        let v = json!({"b": [1, {"z": "x", "a": true}], "a": "é\"q"});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"é\"q","b":[1,{"a":true,"z":"x"}]}"#
        );
    }

    #[test]
    fn parse_id_checks_type_and_uuid() {
        assert!(parse_id("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_some());
        assert!(parse_id("indicator--8E2E2D2B-17d4-4cbf-938f-98ee46b3cd3f").is_none());
        assert!(parse_id("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_none());
        assert!(parse_id("Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_none());
        assert!(parse_id("indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f").is_none());
        assert!(parse_id("indicator--00000000-0000-0000-0000-000000000000").is_none());
        assert!(parse_id("x--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_none());
        assert!(!is_type_name("a--b"));
        assert!(is_type_name("x-mitre-tactic"));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived_id("identity", "ofac/27307");
        assert_eq!(a, derived_id("identity", "ofac/27307"));
        assert_ne!(a, derived_id("identity", "ofac/27308"));
        assert_eq!(parse_id(&a).unwrap().1.get_version_num(), 5);
    }
}
