//! Label parsers on the real shared label files, and error positions on bad rows.

use std::collections::HashSet;
use std::path::PathBuf;

use tripoint_chain::{Address, Category, Label};
use tripoint_store::labels::{self, detect, parse, parse_with_skips, LabelError, LabelFormat};

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
