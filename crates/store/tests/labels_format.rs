//! Label files: version 1 files (labels without attribution) still read,
//! version 2 keeps attribution and actors, re-import adds nothing.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use tripoint_chain::{Actor, Address, Attribution, Category, Label};
use tripoint_store::Store;

fn copy_fixture(name: &str, to: &Path) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn binance20() -> Address {
    Address::parse_eth("0x4976a4a02f38326660d17bf34b431dc6e2eb2327").unwrap()
}

#[test]
fn version_1_label_files_read_and_version_2_adds_attribution() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("st");
    copy_fixture("labels-v1", &st);
    let store = Store::open(&st).unwrap();
    let old = store.labels_of(&binance20());
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].label, "Binance 20");
    assert_eq!(old[0].category, Category::Exchange);
    assert_eq!(old[0].attribution, Attribution::default());

    let tagged = Label {
        attribution: Attribution {
            actor: Some("binance".into()),
            jurisdictions: vec![],
            confidence: Some("web_crawl".into()),
            lastmod: Some("2023-08-16".into()),
        },
        ..Label::new(
            binance20(),
            "Binance 20",
            Category::Exchange,
            "tagpack:x.yaml",
        )
    };
    let actor = Actor {
        id: "binance".into(),
        label: "Binance".into(),
        categories: vec!["exchange".into()],
        jurisdictions: vec!["MT".into(), "US".into()],
        uri: None,
        source: "actorpack:a.yaml".into(),
    };
    let added = store
        .import_attribution(vec![tagged.clone()], vec![actor.clone()])
        .unwrap();
    assert_eq!((added.labels.len(), added.actors.len()), (1, 1));
    // Idempotent: the same import again adds nothing and writes no file.
    let files = std::fs::read_dir(&st).unwrap().count();
    let again = store
        .import_attribution(vec![tagged.clone()], vec![actor.clone()])
        .unwrap();
    assert_eq!((again.labels.len(), again.actors.len()), (0, 0));
    assert_eq!(std::fs::read_dir(&st).unwrap().count(), files);

    let reopened = Store::open(&st).unwrap();
    let now = reopened.labels_of(&binance20());
    assert_eq!(now.len(), 2);
    // The label names no jurisdiction: its actor's apply.
    assert_eq!(now[1].attribution.jurisdictions, ["MT", "US"]);
    assert_eq!(now[1].attribution.actor.as_deref(), Some("binance"));
    assert_eq!(reopened.actor("binance").unwrap().label, "Binance");
    let all = reopened.all_labels().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].attribution.jurisdictions, ["MT", "US"]);
    // The new file is version 2.
    let newest = std::fs::read_dir(&st)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("labels-") && n != "labels-00000002.jsonl")
        .unwrap();
    let text = std::fs::read_to_string(st.join(newest)).unwrap();
    assert!(
        text.starts_with(r#"{"format":"tripoint-labels","version":2}"#),
        "{text}"
    );
}

#[test]
fn unknown_label_file_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("st");
    copy_fixture("labels-v1", &st);
    let f = st.join("labels-00000002.jsonl");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("\"version\":1", "\"version\":9");
    std::fs::write(&f, text).unwrap();
    let e = Store::open(&st).unwrap().all_labels().unwrap_err();
    assert!(e.to_string().contains("labels-00000002.jsonl"), "{e}");
}
