//! The outputs written as they are built (issue 15: "the report is written
//! as it is built") equal the in-memory ones byte for byte on a generated
//! scenario: the Parquet trace (`write_trace_result` against `write_trace`
//! of the built report), the JSON report (`report_stream` against
//! `build_report`) and the reached table (`stream_reached_table` against
//! `reached_table`).

use std::collections::BTreeMap;
use std::path::Path;

use tripoint_chain::{Address, TransferGraph};
use tripoint_export::trace::{write_trace, write_trace_result};
use tripoint_gen::{generate_into, GenConfig, RecordSink};
use tripoint_store::Store;
use tripoint_trace::report::report_stream;
use tripoint_trace::{build_report, trace, ReportOptions, TaintPolicy, TraceConfig};

/// Every file under `dir` (relative path -> bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.insert(
                    rel.display().to_string(),
                    std::fs::read(&p).expect("read file"),
                );
            }
        }
    }
    out
}

#[test]
fn streamed_trace_outputs_equal_the_in_memory_ones_on_a_generated_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join("store");
    let cfg = GenConfig {
        seed: 11,
        transfers: 300_000,
        contract_share: 0.3,
        ..Default::default()
    };
    let store = Store::open_or_create(&store_dir).expect("store");
    let mut app = store.appender().expect("appender");
    let mut sink = RecordSink::new(&mut app);
    let summary = generate_into(&cfg, &mut sink).expect("generate");
    let labels = std::mem::take(&mut sink.labels);
    app.finish().expect("finish");
    drop(store);
    let store = Store::open(&store_dir).expect("open");
    store.import_labels(labels).expect("labels");
    let store = Store::open(&store_dir).expect("reopen");

    let thief = summary
        .truth
        .seeds
        .addresses
        .first()
        .expect("a thief")
        .to_string();
    let thief = store
        .lookup(&Address::parse(&thief).expect("address"))
        .expect("thief in the store");
    let opts = ReportOptions {
        from: Some(summary.truth.seeds.start_time),
        ..Default::default()
    };

    // From the thief with the scenario's terminals and with none; and from
    // every fifth address with none (the taint then covers most of the
    // graph: more address rows than one Parquet batch of 2^16).
    let everywhere: Vec<_> = (0..store.address_count() as u32).step_by(5).collect();
    let mut big = false;
    for policy in [TaintPolicy::Haircut, TaintPolicy::Poison] {
        for (case, seeds, terminals) in [
            ("thief", vec![thief], true),
            ("thief", vec![thief], false),
            ("everywhere", everywhere.clone(), false),
        ] {
            let mut tc = TraceConfig::new(policy, seeds);
            if case == "thief" {
                tc.from = summary.truth.seeds.start_time;
            }
            if !terminals {
                tc.terminal.clear();
            }
            let what = format!("{policy:?}, {case}, terminals {terminals}");
            let terminals = format!("{case}-{terminals}");
            let result = trace(&store, &tc).expect("trace");
            assert!(result.flows.len() > 100, "{what}: the trace must spread");

            let report = build_report(&store, &result, &opts);
            let json = serde_json::to_vec_pretty(&report).expect("json");
            let streamed =
                serde_json::to_vec_pretty(&report_stream(&store, &result, &opts)).expect("json");
            assert!(json == streamed, "{what}: the streamed JSON report differs");

            let flows: Vec<_> = result.flows.iter().map(|f| (f.id, f.carried)).collect();
            let built = dir.path().join(format!("built-{policy:?}-{terminals}"));
            let made = dir.path().join(format!("streamed-{policy:?}-{terminals}"));
            let m1 = write_trace(&store, &flows, &report, &built, &mut |_, _| {}).expect("write");
            let m2 = write_trace_result(&store, &store, result, &opts, &made, &mut |_, _| {})
                .expect("write streamed");
            assert_eq!(m1.addresses.rows, m2.addresses.rows, "{what}");
            big |= m2.addresses.rows > 1 << 16;
            let (a, b) = (files(&built), files(&made));
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{what}"
            );
            for (name, bytes) in &a {
                assert!(bytes == &b[name], "{what}: {name} differs");
            }
        }
    }
    assert!(
        big,
        "one trace must write more address rows than one batch (2^16)"
    );

    // The reached table, streamed a line at a time.
    let mut tc = TraceConfig::new(TaintPolicy::Poison, vec![thief]);
    tc.terminal.clear();
    let reach = tripoint_trace::reached(&store, &tc).expect("reached");
    assert!(reach.len() > 1000, "{} reached", reach.len());
    let mut text = String::new();
    tripoint_trace::text::stream_reached_table(&store, &reach, |line| {
        text.push_str(line);
        Ok::<_, std::convert::Infallible>(())
    })
    .expect("infallible");
    assert_eq!(
        text,
        tripoint_trace::text::reached_table(&store, &reach),
        "the streamed reached table differs"
    );
    assert!(store.address_count() > 0);
}
