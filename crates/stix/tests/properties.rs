//! Property tests over the public API.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tripoint_stix::{ids, validate, ObjectMeta, Timestamp};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "indicator",
            "tool",
            "2020-01-01T00:00:00.000Z",
            "2.1",
            "[a:b = 1]",
            "stix",
            "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "",
            "x",
        ])
        .prop_map(|s| json!(s)),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "type",
                    "id",
                    "spec_version",
                    "created",
                    "modified",
                    "pattern",
                    "pattern_type",
                    "valid_from",
                    "name",
                    "object_refs",
                    "granular_markings",
                    "selectors",
                    "extensions",
                    "external_references",
                    "source_name",
                    "x_custom",
                    "value",
                ])
                .prop_map(str::to_string),
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid indicator with some properties replaced by arbitrary JSON.
fn mutated_indicator() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "type",
        "id",
        "spec_version",
        "created",
        "modified",
        "pattern",
        "pattern_type",
        "valid_from",
        "valid_until",
        "labels",
        "confidence",
        "external_references",
        "granular_markings",
        "extensions",
        "object_marking_refs",
        "created_by_ref",
        "kill_chain_phases",
    ]);
    prop::collection::vec((keys, arb_json()), 0..4).prop_map(|changes| {
        let mut v = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
            "valid_from": "2016-01-01T00:00:00Z"
        });
        for (k, x) in changes {
            v[k] = x;
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The validator never panics and every issue names its object.
    #[test]
    fn validate_is_total(v in prop_oneof![arb_json(), mutated_indicator()]) {
        if let Err(issues) = validate(&v) {
            prop_assert!(!issues.is_empty());
            for i in issues {
                prop_assert!(!i.object.is_empty());
                prop_assert!(!i.message.is_empty());
            }
        }
        let _ = ObjectMeta::from_value(&v);
    }

    /// Whatever validates can be read by ObjectMeta and typed without loss.
    #[test]
    fn valid_objects_are_readable(v in mutated_indicator()) {
        if validate(&v).is_ok() {
            let m = ObjectMeta::from_value(&v).unwrap();
            prop_assert_eq!(m.id.as_str(), v["id"].as_str().unwrap());
            let t = tripoint_stix::model::StixObject::from_value(&v).unwrap();
            prop_assert_eq!(t.to_value(), v);
        }
    }

    /// Display/parse is the identity for every instant and precision.
    #[test]
    fn timestamps_round_trip(secs in 0i64..253_402_300_799, nanos in 0u32..1_000_000_000, digits in 0u8..=9) {
        let dt = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
        let t = Timestamp::from_datetime(dt, digits);
        let text = t.to_string();
        let back = Timestamp::parse(&text).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.to_string(), text.clone());
        prop_assert_eq!(back.frac_digits(), digits);
        prop_assert!(back <= Timestamp::from_datetime(dt, 9));
    }

    /// SCO ids depend on content only, not on key order.
    #[test]
    fn sco_ids_ignore_key_order(a in "[ -~]{0,20}", b in "[ -~]{0,20}") {
        let one = json!({"name": a, "hashes": {"MD5": b, "SHA-1": "x"}});
        let mut m = Map::new();
        m.insert("hashes".into(), json!({"SHA-1": "x", "MD5": b}));
        m.insert("name".into(), json!(a));
        prop_assert_eq!(ids::sco_id("file", &one), ids::sco_id("file", &Value::Object(m)));
    }
}
