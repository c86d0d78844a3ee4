//! Property: a bad row anywhere in a label file is reported at its physical
//! line (header = line 1), after blank lines, CRLF line endings and quoted
//! multi-line fields (CSV) or multi-line strings and comments (YAML).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;
use tripoint_ingest::labels::{parse, LabelError, LabelFormat};

/// One row before the bad one: (blank lines before it, multi-line label?).
fn rows() -> impl Strategy<Value = Vec<(u8, bool)>> {
    prop::collection::vec((0u8..3, any::<bool>()), 0..12)
}

fn addr(i: usize) -> String {
    format!("0x{:040x}", i + 1)
}

fn reported_line(format: LabelFormat, name: &str, text: &str) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    match parse(format, &path) {
        Err(LabelError::Row { line, .. }) => line,
        other => panic!("expected a row error, got {other:?}\n{text}"),
    }
}

/// A CSV with `before` good rows, the bad row, and `after` good rows; the
/// physical line the bad row starts on.
fn csv_file(before: &[(u8, bool)], after: usize, crlf: bool, ultrasound: bool) -> (String, u64) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut text = if ultrasound {
        format!("date_added,address,name{nl}")
    } else {
        format!("address,label,category,source{nl}")
    };
    let mut line = 2u64;
    let row = |i: usize, multi: bool, a: &str| {
        let label = if multi {
            format!("\"line one{nl}line two\"")
        } else {
            format!("label {i}")
        };
        if ultrasound {
            format!("2022-04-14,{a},{label}{nl}")
        } else {
            format!("{a},{label},exchange,test{nl}")
        }
    };
    for (i, &(blanks, multi)) in before.iter().enumerate() {
        for _ in 0..blanks {
            text.push_str(nl);
            line += 1;
        }
        text.push_str(&row(i, multi, &addr(i)));
        line += if multi { 2 } else { 1 };
    }
    text.push_str(nl);
    line += 1;
    let bad_line = line;
    text.push_str(&row(999, false, "0x12zz"));
    for i in 0..after {
        text.push_str(&row(i, i % 2 == 0, &addr(100 + i)));
    }
    (text, bad_line)
}

/// A TagPack with the bad tag after `before` good ones; comments, blank
/// lines and multi-line `context` strings in between.
fn tagpack_file(before: &[(u8, bool)], after: usize, crlf: bool) -> (String, u64) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    for l in [
        "title: test pack",
        "creator: tests",
        "category: exchange",
        "currency: ETH",
        "source: https://example.org/pack",
        "lastmod: 2024-01-01",
        "# the tags",
        "tags:",
    ] {
        text.push_str(l);
        text.push_str(nl);
    }
    let mut line = 9u64;
    let tag = |a: &str, multi: bool| {
        let mut t = format!("- address: '{a}'{nl}  label: exchange wallet{nl}");
        if multi {
            t.push_str(&format!("  context: '{{\"a\": 1,{nl}    \"b\": 2}}'{nl}"));
        }
        t
    };
    for (i, &(blanks, multi)) in before.iter().enumerate() {
        for b in 0..blanks {
            text.push_str(if b == 0 { "# note" } else { "" });
            text.push_str(nl);
            line += 1;
        }
        text.push_str(&tag(&addr(i), multi));
        line += if multi { 4 } else { 2 };
    }
    text.push_str(nl);
    line += 1;
    let bad_line = line;
    text.push_str(&tag("0x12zz", false));
    for i in 0..after {
        text.push_str(&tag(&addr(100 + i), i % 2 == 1));
    }
    (text, bad_line)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn csv_bad_row_line(before in rows(), after in 0usize..4, crlf in any::<bool>()) {
        let (text, want) = csv_file(&before, after, crlf, false);
        prop_assert_eq!(reported_line(LabelFormat::Csv, "labels.csv", &text), want);
    }

    #[test]
    fn ultrasound_bad_row_line(before in rows(), after in 0usize..4, crlf in any::<bool>()) {
        let (text, want) = csv_file(&before, after, crlf, true);
        prop_assert_eq!(reported_line(LabelFormat::OfacEthUltrasound, "data.csv", &text), want);
    }

    #[test]
    fn tagpack_bad_tag_line(before in rows(), after in 0usize..4, crlf in any::<bool>()) {
        let (text, want) = tagpack_file(&before, after, crlf);
        prop_assert_eq!(reported_line(LabelFormat::Tagpack, "pack.yaml", &text), want);
    }

    #[test]
    fn ofac_list_bad_line(before in prop::collection::vec(0u8..3, 0..12), crlf in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let mut line = 1u64;
        for (i, blanks) in before.iter().enumerate() {
            for _ in 0..*blanks {
                text.push_str(nl);
                line += 1;
            }
            text.push_str(&addr(i));
            text.push_str(nl);
            line += 1;
        }
        text.push_str("0x12zz");
        text.push_str(nl);
        prop_assert_eq!(
            reported_line(LabelFormat::Ofac0xb10c, "sanctioned_addresses_ETH.txt", &text),
            line
        );
    }
}
