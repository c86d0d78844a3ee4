//! Integration tests: store and `tripoint labels`, through the real binary.

use crate::common::{run_ok, shared_data, tripoint};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn labels_import_real_lists_and_list_them() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_s = store.to_str().unwrap();
    let files = [
        data.join("crypto/ofac-eth-ultrasound/data.csv"),
        data.join("crypto/ofac-0xb10c/sanctioned_addresses_ETH.json"),
        data.join("crypto/dprk-hack-seeds/dprk_hack_seeds.csv"),
        data.join("intel/ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json"),
    ];
    let mut args = vec!["labels", "import", "--store", store_s];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = stdout(&run_ok(&args));
    assert!(out.contains("sanctioned"), "{out}");
    assert!(out.contains("dprk-attributed"), "{out}");
    let added: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("added "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("an 'added N labels' line");
    assert!(added > 200, "{out}");

    // Re-importing adds nothing.
    let again = stdout(&run_ok(&args));
    assert!(again.contains("added 0 labels"), "{again}");

    // Every OFAC Lazarus ETH address (from the Ronin export's query list) is sanctioned.
    let text =
        std::fs::read_to_string(data.join("crypto/ronin-lazarus-dune/LazarusGroup.txt")).unwrap();
    let lazarus: std::collections::BTreeSet<String> = text
        .split(',')
        .map(|s| {
            s.trim()
                .trim_matches('\'')
                .replace("\\x", "0x")
                .to_lowercase()
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(lazarus.len(), 8);
    let mut list = vec![
        "labels",
        "list",
        "--store",
        store_s,
        "--category",
        "sanctioned",
        "--format",
        "json",
    ];
    list.extend(lazarus.iter().map(|s| s.as_str()));
    let json: serde_json::Value = serde_json::from_str(&stdout(&run_ok(&list))).unwrap();
    let hit: std::collections::BTreeSet<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["category"], "sanctioned");
            assert!(!l["source"].as_str().unwrap().is_empty());
            l["address"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(hit, lazarus);

    // Table output of one address shows label, category and provenance.
    let table = stdout(&run_ok(&[
        "labels",
        "list",
        "--store",
        store_s,
        "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
    ]));
    assert!(
        table.contains("LAZARUS GROUP") && table.contains("ofac-eth-ultrasound:data.csv"),
        "{table}"
    );
}

#[test]
fn bad_label_file_names_file_and_line_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "address,label,category,source\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,Ronin exploiter,dprk-attributed,analyst\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "address,label,category,source\n0x3cffd56b47b7b41c56258d9c7731abadc360e073,w,dprk,analyst\nnot-an-address!,x,mixer,analyst\n",
    )
    .unwrap();
    let out = tripoint()
        .args(["labels", "import", "--store", store.to_str().unwrap()])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3"), "{err}");
    // One import is all or nothing: the good file's label was not stored either.
    let listed = tripoint()
        .args([
            "labels",
            "list",
            "--store",
            store.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    if listed.status.success() {
        let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 0);
    }
    // Unknown format is refused with a hint.
    let odd = dir.path().join("odd.txt");
    std::fs::write(&odd, "hello\n").unwrap();
    let out = tripoint()
        .args(["labels", "import", "--store", store.to_str().unwrap()])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}
