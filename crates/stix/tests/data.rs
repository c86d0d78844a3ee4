//! Tests over the real public data in `../shared/data/intel` (skipped, saying
//! so, on a machine without it).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;
use tripoint_stix::model::StixObject;
use tripoint_stix::{import, pattern, tlp, validate, ObjectMeta};

fn intel(rel: &str) -> Option<Vec<u8>> {
    let root = tripoint_shared_data::for_test("intel")?;
    Some(std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

fn attack() -> Option<Vec<Value>> {
    let bytes = intel("mitre-attack-dprk/dprk-attack-v18.1.stix21.json")?;
    Some(import::parse_bundle_or_envelope(&bytes).unwrap())
}

fn count_types(objs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for o in objs {
        *m.entry(o["type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[test]
fn attack_bundle_validates_clean() {
    let Some(objs) = attack() else { return };
    // Counts as documented in the data set's SOURCE.md.
    assert_eq!(objs.len(), 2165);
    let types = count_types(&objs);
    for (t, n) in [
        ("intrusion-set", 9),
        ("campaign", 2),
        ("malware", 57),
        ("tool", 11),
        ("attack-pattern", 353),
        ("relationship", 1712),
        ("x-mitre-tactic", 19),
        ("identity", 1),
        ("marking-definition", 1),
    ] {
        assert_eq!(types.get(t), Some(&n), "{t}");
    }
    let mut failures = Vec::new();
    for o in &objs {
        if let Err(issues) = validate(o) {
            failures.extend(issues.into_iter().map(|i| i.to_string()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} issues, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    let ids: HashSet<&str> = objs.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), objs.len());
}

#[test]
fn attack_objects_round_trip_through_the_typed_model() {
    let Some(objs) = attack() else { return };
    let mut typed = 0;
    for o in &objs {
        let t = StixObject::from_value(o).unwrap_or_else(|e| panic!("{}: {e}", o["id"]));
        if !matches!(t, StixObject::Other(_)) {
            typed += 1;
        }
        assert_eq!(&t.to_value(), o, "round trip of {}", o["id"]);
        // Re-serialized text parses back to the same value (timestamps keep precision).
        let text = serde_json::to_string(&t.to_value()).unwrap();
        assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), o);
    }
    // Everything but the 19 custom x-mitre-tactic objects is typed.
    assert_eq!(typed, objs.len() - 19);
}

#[test]
fn attack_meta_versions() {
    let Some(objs) = attack() else { return };
    let revoked: Vec<String> = objs
        .iter()
        .map(|o| ObjectMeta::from_value(o).unwrap())
        .filter(|m| m.revoked)
        .map(|m| m.id)
        .collect();
    // SOURCE.md: the only revoked object is G0086 Stolen Pencil.
    assert_eq!(
        revoked,
        vec!["intrusion-set--7a0d4c09-dfe7-4fa2-965a-1a0e42fedd70".to_string()]
    );
    for o in &objs {
        let m = ObjectMeta::from_value(o).unwrap();
        assert!(!m.is_sco());
        let v = m.version().unwrap();
        assert_eq!(
            v.to_string(),
            o.get("modified").unwrap_or(&o["created"]).as_str().unwrap()
        );
    }
}

#[test]
fn tlp_definitions_match_the_oasis_files_exactly() {
    let Some(v1) = intel("stix-tlp-markings/tlp-1.0-marking-definitions-stix21.json") else {
        return;
    };
    let Some(v2) = intel("stix-tlp-markings/tlp-2.0-marking-definitions.json") else {
        return;
    };
    let mut files = import::parse_bundle_or_envelope(&v1).unwrap();
    files.extend(import::parse_bundle_or_envelope(&v2).unwrap());
    assert_eq!(tlp::marking_definitions(), files);
    for o in &files {
        validate(o).unwrap();
        let t = tlp::from_marking_id(o["id"].as_str().unwrap()).unwrap();
        assert_eq!(o["name"], t.name());
    }
}

#[test]
fn attack_intrusion_set_table_matches_the_bundle() {
    let Some(objs) = attack() else { return };
    let mut from_bundle = import::attack_groups_from_objects(&objs);
    let mut shipped = import::attack_dprk_groups();
    from_bundle.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    shipped.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    assert_eq!(from_bundle, shipped);
}

fn ofac() -> Option<(Value, Vec<Value>)> {
    let bytes = intel("ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json")?;
    let raw: Value = serde_json::from_slice(&bytes).unwrap();
    Some((raw, import::ofac_dprk_crypto(&bytes).unwrap()))
}

#[test]
fn ofac_import_counts_and_validity() {
    let Some((raw, objs)) = ofac() else { return };
    let records = raw["addresses"].as_array().unwrap();
    assert_eq!(records.len(), 123);
    let usable: Vec<&Value> = records
        .iter()
        .filter(|r| !r["case_status"].as_str().unwrap().starts_with("LOWERCASED"))
        .collect();
    // SOURCE.md: 4 TRX addresses are unusable (lower-cased by the source).
    assert_eq!(usable.len(), 119);
    // Distinct (address, SDN uid) pairs: the source repeats some entries.
    let entries: usize = usable
        .iter()
        .map(|r| {
            let a = r["sdn_entries"].as_array().unwrap();
            a.iter()
                .map(|e| e["uid"].as_str().unwrap())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .sum();
    let uids: BTreeSet<&str> = usable
        .iter()
        .flat_map(|r| r["sdn_entries"].as_array().unwrap())
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    let lazarus = usable
        .iter()
        .filter(|r| {
            r["sdn_entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["entity"] == "LAZARUS GROUP")
        })
        .count();
    let types = count_types(&objs);
    assert_eq!(types["cryptocurrency-wallet"], usable.len());
    assert_eq!(types["indicator"], usable.len());
    // + the OFAC source identity + the tripoint identity (creator of the extension).
    assert_eq!(types["identity"], uids.len() + 2);
    assert_eq!(types["extension-definition"], 1);
    assert_eq!(types["relationship"], 2 * entries + lazarus);
    assert_eq!(lazarus, 8);

    let ids: HashSet<&str> = objs.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), objs.len(), "ids are unique");
    for o in &objs {
        validate(o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
        if o["type"] == "relationship" {
            let target = o["target_ref"].as_str().unwrap();
            assert!(ids.contains(o["source_ref"].as_str().unwrap()));
            assert!(ids.contains(target) || target == import::ATTACK_LAZARUS_ID);
        }
    }
    // Every usable address has exactly one wallet and one indicator naming it.
    let patterns: HashSet<String> = objs
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["pattern"].as_str().unwrap().to_string())
        .collect();
    for r in &usable {
        let a = r["address"].as_str().unwrap();
        let a = if a.starts_with("0x") {
            a.to_lowercase()
        } else {
            a.to_string()
        };
        assert!(
            patterns.contains(&format!("[cryptocurrency-wallet:value = '{a}']")),
            "{a}"
        );
    }
}

#[test]
fn ofac_reimport_is_an_exact_duplicate() {
    let Some(bytes) = intel("ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json")
    else {
        return;
    };
    assert_eq!(
        import::ofac_dprk_crypto(&bytes).unwrap(),
        import::ofac_dprk_crypto(&bytes).unwrap()
    );
}

#[test]
fn ofac_patterns_parse_to_one_wallet_path() {
    let Some((_, objs)) = ofac() else { return };
    for o in objs.iter().filter(|o| o["type"] == "indicator") {
        let text = o["pattern"].as_str().unwrap();
        let p = pattern::parse(text).unwrap();
        let paths = p.object_paths();
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].to_string(), "cryptocurrency-wallet:value");
        assert_eq!(p.to_string(), text);
    }
}

#[test]
fn misp_import_aliases_and_attack_links() {
    let Some(bytes) = intel("misp-galaxy-dprk/threat-actor-dprk.json") else {
        return;
    };
    let raw: Value = serde_json::from_slice(&bytes).unwrap();
    let clusters = raw["values"].as_array().unwrap();
    let objs = import::misp_galaxy_dprk(&bytes).unwrap();
    assert_eq!(
        objs,
        import::misp_galaxy_dprk(&bytes).unwrap(),
        "deterministic"
    );
    let sets: Vec<&Value> = objs
        .iter()
        .filter(|o| o["type"] == "intrusion-set")
        .collect();
    assert_eq!(sets.len(), clusters.len());
    assert_eq!(sets.len(), 27); // SOURCE.md
    for o in &objs {
        validate(o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
    }
    for (c, s) in clusters.iter().zip(&sets) {
        assert_eq!(s["name"], c["value"]);
        let aliases: Vec<&str> = s["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for syn in c["meta"]["synonyms"].as_array().into_iter().flatten() {
            assert!(
                aliases.contains(&syn.as_str().unwrap()),
                "{syn} in {}",
                c["value"]
            );
        }
    }
    let name_of: BTreeMap<&str, &str> = sets
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    let links: BTreeSet<(String, String, u64)> = objs
        .iter()
        .filter(|o| o["type"] == "relationship")
        .map(|r| {
            let g = import::attack_dprk_groups()
                .into_iter()
                .find(|g| g.id == r["target_ref"].as_str().unwrap())
                .unwrap();
            (
                name_of[r["source_ref"].as_str().unwrap()].to_string(),
                g.external_id,
                r["confidence"].as_u64().unwrap(),
            )
        })
        .collect();
    let has =
        |name: &str, g: &str, conf: u64| links.contains(&(name.to_string(), g.to_string(), conf));
    // The cluster lists G0067 / links attack.mitre.org/groups/G0067.
    assert!(has("APT37", "G0067", 85), "{links:?}");
    assert!(has("Lazarus Group", "G0032", 85), "{links:?}");
    // "Silent Chollima" is an ATT&CK alias of Andariel (G0138).
    assert!(has("Silent Chollima", "G0138", 70), "{links:?}");
    // MISP lists Andariel under Lazarus too: many-to-many, lower confidence.
    assert!(has("Lazarus Group", "G0138", 50), "{links:?}");
    // No ATT&CK group is called or aliased TraderTraitor/Jade Sleet/UNC4899/Pukchong.
    assert!(
        !links.iter().any(|(n, _, _)| n == "TraderTraitor"),
        "{links:?}"
    );
}

#[test]
fn bundle_and_envelope_forms() {
    let obj = r#"{"type":"tool","spec_version":"2.1","id":"tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"x"}"#;
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{obj}]}}"#
    );
    let envelope = format!(r#"{{"more":false,"objects":[{obj},{obj}]}}"#);
    assert_eq!(
        import::parse_bundle_or_envelope(bundle.as_bytes())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        import::parse_bundle_or_envelope(envelope.as_bytes())
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        import::parse_bundle_or_envelope(obj.as_bytes())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(import::parse_bundle_or_envelope(b"{}").unwrap().len(), 0);
    let e = import::parse_bundle_or_envelope(b"{\"objects\": [\n 1, ]}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2"), "{e}");
    let e = import::parse_bundle_or_envelope(b"{\"objects\": [1]}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("objects[0]"), "{e}");
}
