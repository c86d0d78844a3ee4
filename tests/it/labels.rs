//! `tripoint labels import|show` with GraphSense TagPacks, the actor pack and
//! Etherscan name tags, and what a trace of the Ronin exploiter then shows.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{run_ok, shared_data, tripoint, write_upbit_tagpack};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(out: std::process::Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

/// The actor pack, every TagPack and both Etherscan files.
fn shared_label_files(data: &Path) -> Vec<PathBuf> {
    let gs = data.join("crypto/labels-graphsense-tagpacks");
    let mut files = vec![gs.join("actors/graphsense.actorpack.yaml")];
    let mut packs = Vec::new();
    let mut dirs = vec![gs.join("packs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                packs.push(p);
            }
        }
    }
    packs.sort();
    files.extend(packs);
    let es = data.join("crypto/labels-etherscan");
    files.push(es.join("etherscan_account_labels.json"));
    files.push(es.join("etherscan_token_labels.json"));
    files
}

#[test]
fn tagpack_import_show_and_idempotent_reimport() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("st");
    let (actors, pack) = write_upbit_tagpack(
        tmp.path(),
        "0x390de26d772d2e2005c6d1d24afc902bae37a4bb",
        "Upbit 1",
    );
    let first = stdout(run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        s(&actors),
        s(&pack),
    ]));
    assert!(first.contains("added 1 labels"), "{first}");
    assert!(first.contains("added 1 actors"), "{first}");
    let again = stdout(run_ok(&[
        "labels",
        "import",
        "--store",
        s(&store),
        "--format",
        "auto",
        s(&actors),
        s(&pack),
    ]));
    assert!(
        again.contains("added 0 labels (1 already stored"),
        "{again}"
    );
    assert!(
        !again.contains("actors\n") || !again.contains("added 1 actors"),
        "{again}"
    );
    let shown: Value = serde_json::from_slice(
        &run_ok(&[
            "labels",
            "show",
            "--store",
            s(&store),
            "0x390DE26D772D2E2005C6D1D24AFC902BAE37A4BB",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let l = &shown[0];
    assert_eq!(l["label"], "Upbit 1");
    assert_eq!(l["category"], "exchange");
    assert_eq!(l["actor"], "upbit");
    assert_eq!(l["jurisdictions"], serde_json::json!(["KR"]));
    assert_eq!(l["confidence"], "service_data");
    assert_eq!(l["lastmod"], "2024-05-01");
    assert!(l["source"]
        .as_str()
        .unwrap()
        .starts_with("tagpack:upbit.yaml"));
    let table = stdout(run_ok(&[
        "labels",
        "show",
        "--store",
        s(&store),
        "0x390de26d772d2e2005c6d1d24afc902bae37a4bb",
    ]));
    assert!(
        table.contains("upbit (Upbit)") && table.contains("KR"),
        "{table}"
    );

    // A bad tag: the error names the file and the tag's physical line, and
    // nothing is stored.
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "title: t\ncurrency: ETH\ntags:\n- address: '0x390de26d772d2e2005c6d1d24afc902bae37a4bb'\n  label: ok\n\n- address: '0xnothex'\n  label: bad\n",
    )
    .unwrap();
    let out = tripoint()
        .args([
            "labels",
            "import",
            "--store",
            s(&store),
            "--format",
            "tagpack",
            s(&bad),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:7:") && err.contains("address"),
        "{err}"
    );
}

#[test]
fn ronin_trace_with_shared_labels_names_services_and_actors() {
    let Some(data) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("st");
    run_ok(&[
        "ingest",
        "--store",
        s(&store),
        "transfers-csv",
        s(&data.join("crypto/ronin-lazarus-dune/LazarusTabularTxs1322519.csv")),
        "--map",
        "from=from,to=to,amount=total_eth,time=block_time",
    ]);
    let files = shared_label_files(&data);
    let mut args = vec!["labels", "import", "--store", s(&store)];
    args.extend(files.iter().map(|f| s(f)));
    let first = stdout(run_ok(&args));
    assert!(first.contains("3813 actors read as actorpack"), "{first}");
    // Re-import of everything is idempotent.
    let again = stdout(run_ok(&args));
    assert!(again.contains("\nadded 0 labels ("), "{again}");

    // Binance 20 and the Ronin bridge carry their attribution.
    let show = |a: &str| -> Vec<Value> {
        serde_json::from_slice::<Vec<Value>>(
            &run_ok(&[
                "labels",
                "show",
                "--store",
                s(&store),
                a,
                "--format",
                "json",
            ])
            .stdout,
        )
        .unwrap()
    };
    let b20 = show("0x4976a4a02f38326660d17bf34b431dc6e2eb2327");
    let tag = b20
        .iter()
        .find(|l| {
            l["label"] == "Binance 20" && l["source"].as_str().unwrap().starts_with("tagpack:")
        })
        .unwrap_or_else(|| panic!("{b20:?}"));
    assert_eq!(tag["category"], "exchange");
    assert_eq!(tag["actor"], "binance");
    assert!(
        tag["jurisdictions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j == "US"),
        "{tag}"
    );
    let bridge = show("0x1a2a1c938ce3ec39b6d47113c7955baa9dd454f2");
    assert!(
        bridge
            .iter()
            .any(|l| l["category"] == "bridge" && l["label"] == "Axie Infinity: Ronin Bridge"),
        "{bridge:?}"
    );

    // The trace: the consolidation wallets are sanctioned Lazarus endpoints,
    // with amounts, attributed to the actor lazarusgroup.
    let r: Value = serde_json::from_slice(
        &run_ok(&[
            "trace",
            "--store",
            s(&store),
            "--seed",
            "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
            "--format",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    let eps = r["endpoints"].as_array().unwrap();
    assert!(eps.len() >= 7, "{eps:?}");
    let consolidation = eps
        .iter()
        .find(|e| e["address"] == "0x35fb6f6db4fb05e6a4ce86f2c93691425626d4b1")
        .unwrap();
    assert_eq!(consolidation["category"], "sanctioned");
    assert_eq!(consolidation["amount"], "33568152000000000000000");
    assert!(consolidation["labels"].as_array().unwrap().len() >= 2);
}
