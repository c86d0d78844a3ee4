//! Label parsers on the real shared label files, and error positions on bad rows.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashSet;
use std::path::PathBuf;

use tripoint_chain::{Address, Category, Label};
use tripoint_ingest::labels::{self, detect, parse, parse_with_skips, LabelError, LabelFormat};

/// `../shared/data`, or `None` (saying the test skipped) when absent or hidden.
fn shared() -> Option<PathBuf> {
    tripoint_shared_data::for_test("")
}

/// The OFAC Lazarus ETH addresses as the Ronin export's query lists them.
fn lazarus(data: &std::path::Path) -> HashSet<Address> {
    let text =
        std::fs::read_to_string(data.join("crypto/ronin-lazarus-dune/LazarusGroup.txt")).unwrap();
    text.split(',')
        .map(|s| s.trim().trim_matches('\''))
        .filter(|s| !s.is_empty())
        .map(|s| Address::parse_eth(s).unwrap())
        .collect()
}

fn with_category(labels: &[Label], c: Category) -> HashSet<Address> {
    labels
        .iter()
        .filter(|l| l.category == c)
        .map(|l| l.address.clone())
        .collect()
}

#[test]
fn ofac_lists_hold_the_eight_lazarus_addresses() {
    let Some(data) = shared() else { return };
    let laz = lazarus(&data);
    assert_eq!(laz.len(), 8);

    let f = data.join("crypto/ofac-0xb10c/sanctioned_addresses_ETH.txt");
    assert_eq!(detect(&f), Some(LabelFormat::Ofac0xb10c));
    let txt = parse(LabelFormat::Ofac0xb10c, &f).unwrap();
    let lines = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(txt.len(), lines);
    assert!(laz.is_subset(&with_category(&txt, Category::Sanctioned)));
    assert!(txt[0].source.contains("ofac-0xb10c"));
    let json = parse(
        LabelFormat::Ofac0xb10c,
        &data.join("crypto/ofac-0xb10c/sanctioned_addresses_ETH.json"),
    )
    .unwrap();
    assert_eq!(
        json,
        txt.iter()
            .map(|l| Label {
                source: l.source.replace(".txt", ".json"),
                ..l.clone()
            })
            .collect::<Vec<_>>()
    );

    // Bitcoin list parses as Bitcoin; Monero cannot be stored and is skipped, not mislabelled.
    let xbt = parse(
        LabelFormat::Ofac0xb10c,
        &data.join("crypto/ofac-0xb10c/sanctioned_addresses_XBT.txt"),
    )
    .unwrap();
    assert!(xbt.len() > 400);
    assert!(xbt.iter().all(|l| matches!(l.address, Address::Btc(_))));
    let xmr = parse_with_skips(
        LabelFormat::Ofac0xb10c,
        &data.join("crypto/ofac-0xb10c/sanctioned_addresses_XMR.txt"),
    )
    .unwrap();
    assert!(xmr.labels.is_empty());
    assert!(!xmr.skipped.is_empty());

    let f = data.join("crypto/ofac-eth-ultrasound/data.csv");
    assert_eq!(detect(&f), Some(LabelFormat::OfacEthUltrasound));
    let us = parse(LabelFormat::OfacEthUltrasound, &f).unwrap();
    let sanctioned = with_category(&us, Category::Sanctioned);
    assert_eq!(sanctioned.len(), 97);
    assert!(laz.is_subset(&sanctioned));
    // LAZARUS GROUP rows are also DPRK-attributed, with the SDN name as label.
    assert_eq!(with_category(&us, Category::DprkAttributed), laz);
    assert!(us.iter().any(|l| l.label.contains("LAZARUS GROUP")));
    let dated = parse(
        LabelFormat::OfacEthUltrasound,
        &data.join("crypto/ofac-eth-ultrasound/data_dated_20250711.csv"),
    )
    .unwrap();
    assert!(dated.iter().any(|l| l.label.contains("(added 2022-04-14)")));

    let f = data.join("intel/ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json");
    assert_eq!(detect(&f), Some(LabelFormat::OfacDprkCrypto));
    let dprk = parse_with_skips(LabelFormat::OfacDprkCrypto, &f).unwrap();
    assert!(laz.is_subset(&with_category(&dprk.labels, Category::Sanctioned)));
    // 123 addresses: 23 ETH + 43 XBT stored; TRON USDT and TRX skipped.
    let addrs: HashSet<_> = dprk.labels.iter().map(|l| l.address.clone()).collect();
    assert_eq!(addrs.len(), 66);
    assert_eq!(dprk.skipped.len(), 57);
}

#[test]
fn forta_and_dprk_seed_files() {
    let Some(data) = shared() else { return };
    let dir = data.join("crypto/forta-labels");
    for f in [
        "etherscan_malicious_labels.csv",
        "phishing_scams.csv",
        "malicious_smart_contracts.csv",
    ] {
        assert_eq!(detect(&dir.join(f)), Some(LabelFormat::Forta), "{f}");
    }
    let eth = parse(
        LabelFormat::Forta,
        &dir.join("etherscan_malicious_labels.csv"),
    )
    .unwrap();
    assert_eq!(eth.len(), 7780);
    // SOURCE.md's 7,568 is a naive comma split; two phish-hack rows have quoted
    // commas in their tags ("…, Inc. - Common Token (AMZN)"), so 7,570.
    assert_eq!(
        eth.iter()
            .filter(|l| l.category == Category::Phishing)
            .count(),
        7570
    );
    assert!(eth
        .iter()
        .any(|l| l.label.contains(", Inc. - Common Token (AMZN)")));
    assert_eq!(
        eth.iter()
            .filter(|l| l.category == Category::Exploit)
            .count(),
        139 + 71
    );
    let ronin2 = eth
        .iter()
        .find(|l| l.label == "Ronin Bridge Exploiter 2")
        .unwrap();
    assert_eq!(
        ronin2.address,
        Address::parse("0x5d84a732b355ada31a36b33c446e3dee28f51555").unwrap()
    );
    let phish = parse(LabelFormat::Forta, &dir.join("phishing_scams.csv")).unwrap();
    assert_eq!(phish.len(), 6726);
    assert!(phish.iter().all(|l| l.category == Category::Phishing));
    let contracts = parse(
        LabelFormat::Forta,
        &dir.join("malicious_smart_contracts.csv"),
    )
    .unwrap();
    // Each contract plus its creator.
    assert_eq!(contracts.len(), 2 * 753);

    let f = data.join("crypto/dprk-hack-seeds/dprk_hack_seeds.csv");
    assert_eq!(detect(&f), Some(LabelFormat::DprkHackSeeds));
    let seeds = parse_with_skips(LabelFormat::DprkHackSeeds, &f).unwrap();
    assert_eq!(seeds.labels.len(), 21);
    assert_eq!(
        seeds.skipped.len(),
        1,
        "the pointer row to the ultrasound list"
    );
    let exploiter = Address::parse("0x098b716b8aaf21512996dc57eb0615e2383e2f96").unwrap();
    let l = seeds
        .labels
        .iter()
        .find(|l| l.address == exploiter)
        .unwrap();
    assert_eq!(l.category, Category::DprkAttributed);
    assert!(l.label.starts_with("Ronin Bridge"));
    assert!(l.source.contains("confidence: high"));
}

#[test]
fn generic_csv_and_bad_rows_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.csv");
    std::fs::write(
        &good,
        "source,address,category,label,extra\n\
         analyst,0x098B716B8Aaf21512996dC57EB0615e2383E2f96,dprk,Ronin exploiter,x\n\
         analyst,bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6,cex,Some exchange,\n",
    )
    .unwrap();
    assert_eq!(detect(&good), Some(LabelFormat::Csv));
    let v = parse(LabelFormat::Csv, &good).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].category, Category::DprkAttributed);
    assert_eq!(v[1].category, Category::Exchange);
    assert_eq!(v[0].source, "analyst");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "address,label,category,source\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,a,mixer,s\n0x12zz,b,mixer,s\n",
    )
    .unwrap();
    let e = parse(LabelFormat::Csv, &bad).unwrap_err();
    assert!(matches!(e, LabelError::Row { line: 3, .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("bad.csv:3") && msg.contains("address"),
        "{msg}"
    );

    let missing = dir.path().join("missing.csv");
    std::fs::write(
        &missing,
        "address,label\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,a\n",
    )
    .unwrap();
    let e = parse(LabelFormat::Csv, &missing).unwrap_err();
    assert!(
        e.to_string().contains("missing.csv:1") && e.to_string().contains("category"),
        "{e}"
    );

    let json = dir.path().join("sanctioned_addresses_ETH.json");
    std::fs::write(
        &json,
        "[\n  \"0x098b716b8aaf21512996dc57eb0615e2383e2f96\",\n  \"0xnothex\"\n]\n",
    )
    .unwrap();
    let e = parse(LabelFormat::Ofac0xb10c, &json).unwrap_err();
    assert!(matches!(e, LabelError::Row { line: 3, .. }), "{e}");
    let truncated = dir.path().join("sanctioned_addresses_XBT.json");
    std::fs::write(&truncated, "[\n \"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\",\n").unwrap();
    assert!(parse(LabelFormat::Ofac0xb10c, &truncated)
        .unwrap_err()
        .to_string()
        .contains("sanctioned_addresses_XBT.json:3"));
    let _ = labels::LabelFormat::from_name("csv").unwrap();
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn tagpack_header_fields_apply_to_tags_and_categories_map() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "mixed.yaml",
        "title: Mixed\ncreator: t\nconfidence: service_data\nlastmod: 2022-11-16\n\
         source: https://example.org/x\ncategory: exchange\nactor: binance\ncurrency: ETH\ntags:\n\
         - address: '0x4976A4A02F38326660D17BF34B431DC6E2EB2327'\n  label: Binance 20\n\
         - address: 1JoktQJhCzuCQkt3GnQ8Xddcq4mUgNyXEa\n  currency: BTC\n  label: Bitstamp\n  actor: bitstamp\n\
         - address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'\n  label: Lazarus group\n  category: user\n  abuse: sanction\n  actor: lazarusgroup\n  confidence: authority_data\n\
         - address: '0x1a2a1c938ce3ec39b6d47113c7955baa9dd454f2'\n  label: Ronin Bridge\n  category: defi_bridge\n  actor: ronin\n\
         - address: TXyz\n  currency: TRX\n  label: tron wallet\n",
    );
    assert_eq!(detect(&pack), Some(LabelFormat::Tagpack));
    let p = parse_with_skips(LabelFormat::Tagpack, &pack).unwrap();
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].line, 26, "{:?}", p.skipped);
    let binance = &p.labels[0];
    assert_eq!(binance.label, "Binance 20");
    assert_eq!(binance.category, Category::Exchange);
    assert_eq!(binance.attribution.actor.as_deref(), Some("binance"));
    assert_eq!(
        binance.attribution.confidence.as_deref(),
        Some("service_data")
    );
    assert_eq!(binance.attribution.lastmod.as_deref(), Some("2022-11-16"));
    assert_eq!(binance.source, "tagpack:mixed.yaml (https://example.org/x)");
    assert!(
        matches!(p.labels[1].address, Address::Btc(_)),
        "{:?}",
        p.labels[1]
    );
    assert_eq!(p.labels[1].attribution.actor.as_deref(), Some("bitstamp"));
    // `user` + sanction + the Lazarus actor: sanctioned and dprk-attributed.
    let lazarus: Vec<&Category> = p
        .labels
        .iter()
        .filter(|l| l.label == "Lazarus group")
        .map(|l| &l.category)
        .collect();
    assert_eq!(lazarus, [&Category::Sanctioned, &Category::DprkAttributed]);
    let bridge = p.labels.iter().find(|l| l.label == "Ronin Bridge").unwrap();
    assert_eq!(bridge.category, Category::Bridge);
}

#[test]
fn actorpack_keeps_jurisdictions_and_rejects_bad_codes() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "test.actorpack.yaml",
        "title: actors\nactors:\n- id: binance\n  label: Binance\n  jurisdictions:\n  - MT\n  - US\n  categories:\n  - exchange\n\
         - id: upbit\n  label: Upbit\n  jurisdictions: [KR]\n",
    );
    assert_eq!(detect(&pack), Some(LabelFormat::Actorpack));
    let p = parse_with_skips(LabelFormat::Actorpack, &pack).unwrap();
    assert_eq!(p.actors.len(), 2);
    assert_eq!(p.actors[0].jurisdictions, ["MT", "US"]);
    assert_eq!(p.actors[0].categories, ["exchange"]);
    assert_eq!(p.actors[1].jurisdictions, ["KR"]);
    let bad = write(
        dir.path(),
        "bad.actorpack.yaml",
        "actors:\n- id: a\n  label: A\n\n- id: b\n  jurisdictions:\n  - United States\n",
    );
    let e = parse(LabelFormat::Actorpack, &bad).unwrap_err();
    assert!(matches!(e, LabelError::Row { line: 5, .. }), "{e}");
    assert!(e.to_string().contains("jurisdictions"), "{e}");
    let broken = write(dir.path(), "broken.yaml", "tags:\n- address: [unclosed\n");
    let e = parse(LabelFormat::Tagpack, &broken).unwrap_err();
    assert!(e.to_string().contains("broken.yaml:"), "{e}");
}

#[test]
fn etherscan_words_map_to_categories_and_actors() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = write(
        dir.path(),
        "etherscan_account_labels.json",
        r#"{"0x4976a4a02f38326660d17bf34b431dc6e2eb2327": {"name": "Binance 20", "labels": ["binance"]},
 "0xc145990e84155416144c532e31f89b840ca8c2ce": {"name": "THORSwap: RouterV2", "labels": ["bridge", "dex"]},
 "0x098b716b8aaf21512996dc57eb0615e2383e2f96": {"name": "Ronin Bridge Exploiter", "labels": ["ofac-sanctions-lists"]},
 "0x0e8ba001a821f3ce0734763d008c9d7c957f5852": {"name": "AmadeusRelay", "labels": ["0x-protocol-ecosystem"]}}"#,
    );
    assert_eq!(detect(&accounts), Some(LabelFormat::Etherscan));
    let v = parse(LabelFormat::Etherscan, &accounts).unwrap();
    let of = |a: &str| -> Vec<&Label> {
        v.iter()
            .filter(|l| l.address == Address::parse_eth(a).unwrap())
            .collect()
    };
    let b = of("0x4976a4a02f38326660d17bf34b431dc6e2eb2327");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].category, Category::Exchange);
    assert_eq!(b[0].attribution.actor.as_deref(), Some("binance"));
    let thor: Vec<&Category> = of("0xc145990e84155416144c532e31f89b840ca8c2ce")
        .iter()
        .map(|l| &l.category)
        .collect();
    assert_eq!(thor, [&Category::Bridge, &Category::Dex]);
    assert_eq!(
        of("0x098b716b8aaf21512996dc57eb0615e2383e2f96")[0].category,
        Category::Sanctioned
    );
    assert_eq!(
        of("0x0e8ba001a821f3ce0734763d008c9d7c957f5852")[0].category,
        Category::Other("0x-protocol-ecosystem".into())
    );
    let tokens = write(
        dir.path(),
        "etherscan_token_labels.json",
        r#"{"0xdac17f958d2ee523a2206206994597c13d831ec7": {"name": "Tether USD (USDT)", "labels": ["stablecoin"]}}"#,
    );
    let t = parse(LabelFormat::Etherscan, &tokens).unwrap();
    assert_eq!(t[0].category, Category::Other("token".into()));
    let bad = write(
        dir.path(),
        "etherscan_bad.json",
        "{\"0x4976a4a02f38326660d17bf34b431dc6e2eb2327\": {\"name\": \"a\", \"labels\": []},\n \"0xnothex\": {\"name\": \"b\", \"labels\": []}}",
    );
    let e = parse(LabelFormat::Etherscan, &bad).unwrap_err();
    assert!(matches!(e, LabelError::Row { line: 2, .. }), "{e}");
}

#[test]
fn shared_tagpacks_actors_and_etherscan_parse() {
    let Some(data) = shared() else { return };
    let gs = data.join("crypto/labels-graphsense-tagpacks");
    let actors = parse_with_skips(
        LabelFormat::Actorpack,
        &gs.join("actors/graphsense.actorpack.yaml"),
    )
    .unwrap()
    .actors;
    assert!(actors.len() > 3000, "{}", actors.len());
    let binance = actors.iter().find(|a| a.id == "binance").unwrap();
    assert!(binance.jurisdictions.iter().any(|j| j == "US"));
    let ex = parse(
        LabelFormat::Tagpack,
        &gs.join("packs/etherscan-wordcloud-exchange.yaml"),
    )
    .unwrap();
    let b20 = ex.iter().find(|l| l.label == "Binance 20").unwrap();
    assert_eq!(
        b20.address,
        Address::parse_eth("0x4976a4a02f38326660d17bf34b431dc6e2eb2327").unwrap()
    );
    assert_eq!(b20.category, Category::Exchange);
    assert_eq!(b20.attribution.actor.as_deref(), Some("binance"));
    let lazarus = parse(LabelFormat::Tagpack, &gs.join("packs/lazarus.yaml")).unwrap();
    assert!(lazarus
        .iter()
        .any(|l| l.category == Category::DprkAttributed
            && l.address
                == Address::parse_eth("0x098b716b8aaf21512996dc57eb0615e2383e2f96").unwrap()));
    let es = parse(
        LabelFormat::Etherscan,
        &data.join("crypto/labels-etherscan/etherscan_account_labels.json"),
    )
    .unwrap();
    let bridge = es
        .iter()
        .find(|l| l.label == "Axie Infinity: Ronin Bridge")
        .unwrap();
    assert_eq!(bridge.category, Category::Bridge);
}
