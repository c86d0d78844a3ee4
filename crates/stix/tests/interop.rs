//! Differential tests against the OASIS reference tools from PyPI
//! (`stix2-validator` 3.2.0, `stix2-patterns`), run when a Python with them is
//! available: `$TRIPOINT_PYTHON` (set by scripts/test.sh) or `.venv/bin/python`.
//! Otherwise they print "skipping" and return.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use tripoint_stix::{content, import, pattern, tlp, validate};

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TRIPOINT_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")),
    ];
    for p in candidates.into_iter().flatten() {
        let ok = Command::new(&p)
            .args(["-c", "import stix2validator, stix2patterns"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    eprintln!("skipping: no Python with stix2-validator (run scripts/setup-python.sh)");
    None
}

/// A committed fixture: small real subsets of the ATT&CK, OFAC and MISP data
/// (tests/fixtures/intel/SOURCE.md), so every machine runs the same cases.
fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/intel")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Runs `script` with one JSON document per line on stdin; returns stdout lines.
fn run_python(py: &PathBuf, script: &str, lines: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let mut f = std::fs::File::create(&input).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let out = Command::new(py)
        .args(["-c", script])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const VALIDATE_PY: &str = r#"
import json, sys
from stix2validator import validate_instance, ValidationOptions
opts = ValidationOptions(version='2.1')
for line in open(sys.argv[1]):
    o = json.loads(line)
    try:
        r = validate_instance(o, opts)
        print('OK' if r.is_valid else 'ERR ' + ' | '.join(str(e) for e in r.errors).replace('\n', ' '))
    except Exception as e:
        print('EXC ' + str(e).replace('\n', ' '))
"#;

const PATTERN_PY: &str = r#"
import json, sys
from stix2patterns.validator import run_validator
for line in open(sys.argv[1]):
    p = json.loads(line)
    try:
        errs = run_validator(p, stix_version='2.1')
        print('OK' if not errs else 'ERR ' + errs[0].replace('\n', ' '))
    except Exception as e:
        print('EXC ' + str(e).replace('\n', ' '))
"#;

/// Everything tripoint generates, and its imports of the OFAC and MISP fixtures.
fn generated() -> Vec<Value> {
    let mut objs = tlp::marking_definitions();
    objs.push(content::tripoint_identity());
    objs.extend(content::trilateral_identities());
    objs.push(content::crypto_wallet_extension_definition());
    objs.extend(content::synthetic_objects(
        3,
        100,
        &content::Partner::UnitedStates.identity_id(),
    ));
    objs.extend(import::ofac_dprk_crypto(&fixture("ofac-sdn-dprk-sample.json")).unwrap());
    objs.extend(import::misp_galaxy_dprk(&fixture("misp-threat-actor-dprk-sample.json")).unwrap());
    objs
}

#[test]
fn everything_tripoint_generates_passes_stix2_validator() {
    let Some(py) = python() else { return };
    assert_all_valid(&py, &generated());
}

/// The full OFAC and MISP imports (not just the fixtures' subsets), when
/// `../shared/data` is present.
#[test]
fn full_shared_imports_pass_stix2_validator() {
    let Some(py) = python() else { return };
    let Some(dir) = tripoint_shared_data::for_test("intel") else {
        return;
    };
    let read = |rel: &str| std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut objs = import::ofac_dprk_crypto(&read(
        "ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json",
    ))
    .unwrap();
    objs.extend(
        import::misp_galaxy_dprk(&read("misp-galaxy-dprk/threat-actor-dprk.json")).unwrap(),
    );
    assert!(objs.len() > 123, "{}", objs.len());
    assert_all_valid(&py, &objs);
}

fn assert_all_valid(py: &PathBuf, objs: &[Value]) {
    let lines: Vec<String> = objs.iter().map(|o| o.to_string()).collect();
    let verdicts = run_python(py, VALIDATE_PY, &lines);
    assert_eq!(verdicts.len(), objs.len());
    for (o, v) in objs.iter().zip(&verdicts) {
        assert_eq!(v, "OK", "{}", o["id"]);
    }
}

/// Mutations that break a rule both validators enforce.
fn mutations(o: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut m = |name: &'static str, f: &dyn Fn(&mut Value)| {
        let mut x = o.clone();
        f(&mut x);
        if &x != o {
            out.push((name, x));
        }
    };
    m("unchanged", &|_| {});
    m("drop-created", &|x| {
        x.as_object_mut().unwrap().remove("created");
    });
    m("drop-spec_version", &|x| {
        x.as_object_mut().unwrap().remove("spec_version");
    });
    m("offset-timestamp", &|x| {
        x["modified"] = json!("2020-01-01T00:00:00+00:00")
    });
    m("seconds-only", &|x| {
        x["created"] = json!("2020-01-01T00:00:00Z")
    });
    m("modified-before-created", &|x| {
        x["modified"] = json!("2000-01-01T00:00:00.000Z")
    });
    m("upper-case-id", &|x| {
        let id = x["id"].as_str().unwrap().to_uppercase();
        x["id"] = json!(id)
    });
    m("null", &|x| x["description"] = Value::Null);
    m("empty-list", &|x| x["labels"] = json!([]));
    m("bad-custom-name", &|x| x["X-Thing"] = json!(1));
    m("confidence-200", &|x| x["confidence"] = json!(200));
    m("extref-name-only", &|x| {
        x["external_references"] = json!([{"source_name": "a"}])
    });
    m("bad-pattern", &|x| {
        if x["type"] == "indicator" {
            x["pattern"] = json!("[ipv4-addr:value = '1.2.3.4'")
        }
    });
    m("bad-relationship-type", &|x| {
        if x["type"] == "relationship" {
            x["relationship_type"] = json!("Uses It")
        }
    });
    m("drop-name", &|x| {
        if x["type"] != "relationship" {
            x.as_object_mut().unwrap().remove("name");
        }
    });
    out
}

#[test]
fn validator_verdicts_agree_with_stix2_validator() {
    let Some(py) = python() else { return };
    // Marking definitions are left out: stix2-validator accepts on them what
    // ours refuses (a `modified` property, seconds-only timestamps, nulls), a
    // known difference rather than one to find.
    let comparable = |o: &Value| o["type"] != "marking-definition";
    let mut base: Vec<Value> = generated()
        .into_iter()
        .filter(|o| comparable(o) && o["type"] != "cryptocurrency-wallet")
        .step_by(25)
        .collect();
    base.extend(
        import::parse_bundle_or_envelope(&fixture("mitre-attack-dprk-sample.stix21.json"))
            .unwrap()
            .into_iter()
            .filter(comparable),
    );
    let cases: Vec<(&str, Value)> = base.iter().flat_map(mutations).collect();
    let lines: Vec<String> = cases.iter().map(|(_, o)| o.to_string()).collect();
    let verdicts = run_python(&py, VALIDATE_PY, &lines);
    let mut disagreements = Vec::new();
    for ((name, o), reference) in cases.iter().zip(&verdicts) {
        let ours = validate(o);
        if ours.is_ok() != reference.starts_with("OK") {
            disagreements.push(format!(
                "{name} {}: ours {ours:?}, reference {reference}",
                o["id"]
            ));
        }
    }
    assert!(cases.len() > 200, "{}", cases.len());
    assert!(
        disagreements.is_empty(),
        "{} of {}: {:#?}",
        disagreements.len(),
        cases.len(),
        &disagreements[..disagreements.len().min(5)]
    );
}

#[test]
fn pattern_verdicts_agree_with_stix2_patterns() {
    let Some(py) = python() else { return };
    let mut corpus: Vec<String> = [
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:name = 'x.exe'] REPEATS 2 TIMES",
        "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$']",
        "[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8'] WITHIN 300 SECONDS",
        "([a:b = 1] OR [c:d = 2]) FOLLOWEDBY [e:f NOT LIKE 'x%'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "[x:y IN (1, -2.5, 'a', true, h'00ff', b'AAAA', t'2020-01-01T00:00:00Z')]",
        "[a:b = 1 AND NOT EXISTS c:d[*].'e f'[3]]",
        "[a:b <> 1]",
        "[a:b == +7]",
        "[a:b = 1",
        "[a:b = 1]]",
        "[a:b = 'x' AND ]",
        "[file:hashes.SHA-256 = 'x']",
        "[a:b = 007]",
        "[a:b = TRUE]",
        "[a:b > true]",
        "[a:b LIKE 5]",
        "[a:b = h'abc']",
        "[a:b = b'YWJ']",
        "[a:b = t'2020-13-01T00:00:00Z']",
        "[a:b = 1] WITHIN -5 SECONDS",
        "[a:b = 1] REPEATS 2.5 TIMES",
        "[a:b = 1] [c:d = 2]",
        "[a:b IN (1,)]",
        "[a:b[x] = 1]",
        "[NOT a:b = 1]",
        "a:b = 1",
        "[]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    corpus.extend(
        import::ofac_dprk_crypto(&fixture("ofac-sdn-dprk-sample.json"))
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "indicator")
            .map(|o| o["pattern"].as_str().unwrap().to_string()),
    );
    let lines: Vec<String> = corpus.iter().map(|p| json!(p).to_string()).collect();
    let verdicts = run_python(&py, PATTERN_PY, &lines);
    for (p, reference) in corpus.iter().zip(&verdicts) {
        let ours = pattern::parse(p);
        assert_eq!(
            ours.is_ok(),
            reference == "OK",
            "{p}: ours {ours:?}, reference {reference}"
        );
    }
}
