//! `tripoint case`: a case over a small store, its notes, and its report as
//! a STIX bundle that tripoint's STIX validator accepts.

use serde_json::Value;

use crate::common::{run_ok, tripoint};

#[test]
fn case_lifecycle_and_stix_report() {
    let tmp = tempfile::tempdir().unwrap();
    let st = tmp.path().join("st");
    let s = st.to_str().unwrap();
    let csv = tmp.path().join("t.csv");
    let thief = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
    let mule = "0x1111111111111111111111111111111111111111";
    let exchange = "0x4976a4a02f38326660d17bf34b431dc6e2eb2327";
    std::fs::write(
        &csv,
        format!(
            "block_time,from,to,total_eth\n\
             2022-03-23T10:00:00Z,{exchange},{thief},1.5\n\
             2022-03-24T10:00:00Z,{thief},{mule},100\n\
             2022-03-25T10:00:00Z,{mule},{exchange},60\n"
        ),
    )
    .unwrap();
    run_ok(&[
        "ingest",
        "--store",
        s,
        "transfers-csv",
        csv.to_str().unwrap(),
        "--map",
        "from=from,to=to,amount=total_eth,time=block_time",
    ]);
    let labels = tmp.path().join("l.csv");
    std::fs::write(
        &labels,
        format!("address,label,category,source\n{exchange},Binance 20,exchange,test\n{thief},Lazarus Group (test),dprk-attributed,test\n"),
    )
    .unwrap();
    run_ok(&["labels", "import", "--store", s, labels.to_str().unwrap()]);
    let case: Value = serde_json::from_slice(
        &run_ok(&[
            "case",
            "new",
            "--store",
            s,
            "--name",
            "drill",
            "--seed",
            thief,
            "--from",
            "2022-03-24",
            "--policy",
            "haircut",
            "--tlp",
            "amber",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    let id = case["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("case-"));
    run_ok(&[
        "case",
        "note",
        "--store",
        s,
        &id,
        "--text",
        "asked Binance to freeze",
    ]);
    let list = String::from_utf8(run_ok(&["case", "list", "--store", s]).stdout).unwrap();
    assert!(list.contains(&id) && list.contains("drill"), "{list}");
    let report: Value = serde_json::from_slice(
        &run_ok(&["case", "report", "--store", s, &id, "--format", "json"]).stdout,
    )
    .unwrap();
    let ep = &report["trace"]["endpoints"][0];
    assert_eq!(ep["address"], exchange);
    assert_eq!(ep["amount"], "60000000000000000000");
    let cp = &report["counterparties"][0];
    assert_eq!(
        (cp["direction"].as_str(), cp["amount"].as_str()),
        (Some("in"), Some("1500000000000000000"))
    );
    assert_eq!(report["attribution"][0]["name"], "Lazarus Group");
    let bundle: Value = serde_json::from_slice(
        &run_ok(&["case", "report", "--store", s, &id, "--format", "stix"]).stdout,
    )
    .unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    for o in objects {
        if let Err(issues) = tripoint_stix::validate(o) {
            panic!("{o}: {issues:?}");
        }
    }
    let r = objects.iter().find(|o| o["type"] == "report").unwrap();
    assert_eq!(
        r["object_marking_refs"][0],
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    );
    assert!(objects.iter().any(|o| o["type"] == "relationship"
        && o["relationship_type"] == "indicates"
        && o["target_ref"] == "intrusion-set--c93fccb1-e8e8-42cf-ae33-2ad1d183913a"));
    // The exchange is a wallet, not an indicator.
    assert!(!objects
        .iter()
        .any(|o| o["type"] == "indicator" && o["pattern"].as_str().unwrap().contains(exchange)));
    assert!(objects
        .iter()
        .any(|o| o["type"] == "indicator" && o["pattern"].as_str().unwrap().contains(mule)));
    run_ok(&["case", "close", "--store", s, &id]);
    let out = tripoint()
        .args(["case", "note", "--store", s, &id, "--text", "late"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("closed"));
}
