//! Case storage on both backends (SQLite always; PostgreSQL when
//! `TRIPOINT_TEST_PG_URL` is set, as scripts/test.sh does).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use tripoint_case::{CaseDb, CaseError, NewCase, PostgresCases, SqliteCases, Status};

fn new_case(name: &str) -> NewCase {
    NewCase {
        name: name.into(),
        seeds: vec![
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96".into(),
            "0x098b716b8aaf21512996dc57eb0615e2383e2f96".into(),
        ],
        from: Some("2022-03-23".into()),
        ..NewCase::default()
    }
}

fn pg() -> Option<PostgresCases> {
    let base = std::env::var("TRIPOINT_TEST_PG_URL").ok()?;
    // Each run in a fresh schema, so runs do not see each other's cases.
    let schema = format!("case_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).expect("PG reachable");
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(PostgresCases::open(&format!("{base}{sep}options=-csearch_path%3D{schema}")).unwrap())
}

fn exercise(db: &dyn CaseDb) {
    let case = new_case("Ronin").validate().unwrap();
    assert_eq!(case.seeds, ["0x098b716b8aaf21512996dc57eb0615e2383e2f96"]);
    assert_eq!(case.from, Some(1_647_993_600));
    assert_eq!(
        (case.policy.as_str(), case.tlp.as_str()),
        ("haircut", "amber")
    );
    db.create(&case).unwrap();
    let other = new_case("Second").validate().unwrap();
    db.create(&other).unwrap();
    assert_eq!(db.get(&case.id).unwrap(), case);
    let noted = db
        .note(&case.id, "analyst", "Binance asked to freeze")
        .unwrap();
    let noted = db.note(&noted.id, "lead", "second note").unwrap();
    assert_eq!(noted.notes.len(), 2);
    assert_eq!(noted.notes[0].text, "Binance asked to freeze");
    assert_eq!(noted.notes[1].author, "lead");
    let list = db.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].notes.len(), 2);
    assert_eq!(
        db.open_cases()
            .unwrap()
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [case.id.as_str(), other.id.as_str()]
    );

    // Alerts: stored once per alert_id, read back in the order stored.
    let alert = |n: u64| serde_json::json!({"alert_id": format!("a-{n}"), "case_id": case.id, "amount": n.to_string()});
    assert!(db.add_alert(&case.id, "a-2", &alert(2)).unwrap());
    assert!(db.add_alert(&case.id, "a-1", &alert(1)).unwrap());
    // The same id again (a restarted watch): not stored twice, first body kept.
    assert!(!db.add_alert(&case.id, "a-2", &alert(99)).unwrap());
    let got = db.alerts(&case.id).unwrap();
    assert_eq!(
        got.iter().map(|a| a.alert_id.as_str()).collect::<Vec<_>>(),
        ["a-2", "a-1"]
    );
    assert!(got[0].seq < got[1].seq);
    assert_eq!(got[0].alert, alert(2));
    assert_eq!(got[1].case_id, case.id);
    assert!(db.alerts(&other.id).unwrap().is_empty());
    assert!(matches!(
        db.add_alert(&other.id, "a-1", &alert(1)),
        Err(CaseError::Invalid {
            field: "alert_id",
            ..
        })
    ));
    assert!(matches!(
        db.add_alert("case-nope", "a-3", &alert(3)),
        Err(CaseError::NotFound(_))
    ));
    assert!(matches!(
        db.alerts("case-nope"),
        Err(CaseError::NotFound(_))
    ));
    // Withdrawn (a reorg orphaned its block): gone, only from its own
    // case, once; then it can be stored anew (the new chain raised it).
    assert!(!db.remove_alert(&other.id, "a-1").unwrap());
    assert!(db.remove_alert(&case.id, "a-1").unwrap());
    assert!(!db.remove_alert(&case.id, "a-1").unwrap());
    assert_eq!(
        db.alerts(&case.id)
            .unwrap()
            .iter()
            .map(|a| a.alert_id.as_str())
            .collect::<Vec<_>>(),
        ["a-2"]
    );
    assert!(db.add_alert(&case.id, "a-1", &alert(1)).unwrap());
    assert_eq!(db.alerts(&case.id).unwrap().len(), 2);
    // A batch (a block's alerts) in one transaction: new ones stored in
    // order, known ones kept; an unknown case refuses the whole batch.
    let (a3, a4) = (alert(3), alert(4));
    let batch = |ids: [(&'static str, &'static str); 2]| {
        let cases = [case.id.as_str(), "case-nope"];
        ids.map(|(c, id)| tripoint_case::NewAlert {
            case_id: cases[usize::from(c == "nope")],
            alert_id: id,
            alert: if id == "a-3" { &a3 } else { &a4 },
        })
    };
    assert!(matches!(
        db.add_alerts(&batch([("case", "a-4"), ("nope", "a-3")])),
        Err(CaseError::NotFound(_))
    ));
    assert_eq!(db.alerts(&case.id).unwrap().len(), 2);
    assert_eq!(
        db.add_alerts(&batch([("case", "a-3"), ("case", "a-3")]))
            .unwrap(),
        [true, false]
    );
    let ids: Vec<String> = db
        .alerts(&case.id)
        .unwrap()
        .into_iter()
        .map(|a| a.alert_id)
        .collect();
    assert_eq!(ids, ["a-2", "a-1", "a-3"]);
    assert!(db.remove_alert(&case.id, "a-3").unwrap());
    // A retraction (the watch's JSON) withdraws the newest alert and is
    // numbered after it, in the one sequence of alerts and retractions, so
    // the console's feed never sees a number twice; only the alert's own
    // case withdraws it, once.
    assert!(db.add_alert(&case.id, "a-5", &alert(5)).unwrap());
    let seq_of = |id: &str| {
        db.alerts_after(0, 100)
            .unwrap()
            .into_iter()
            .find(|a| a.alert_id == id)
            .unwrap()
            .seq
    };
    let a5 = seq_of("a-5");
    let why = serde_json::json!({"event": "retraction", "alert_id": "a-5", "reason": "reorg"});
    assert!(!db.retract_alert(&other.id, "a-5", &why).unwrap());
    assert!(db.retract_alert(&case.id, "a-5", &why).unwrap());
    assert!(!db.retract_alert(&case.id, "a-5", &why).unwrap());
    let gone = db.retractions_after(0, 10).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0].alert_id.as_str(), &gone[0].retraction),
        ("a-5", &why)
    );
    assert_eq!(gone[0].case_id, case.id);
    assert!(gone[0].seq > a5, "{gone:?} after {a5}");
    assert!(db.retractions_after(gone[0].seq, 10).unwrap().is_empty());
    assert!(db
        .alerts(&case.id)
        .unwrap()
        .iter()
        .all(|a| a.alert_id != "a-5"));
    assert!(db.add_alert(&case.id, "a-6", &alert(6)).unwrap());
    assert!(seq_of("a-6") > gone[0].seq);
    let closed = db.close(&case.id).unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.closed.is_some());
    assert!(matches!(db.close(&case.id), Err(CaseError::Closed(_))));
    assert!(matches!(
        db.note(&case.id, "a", "late"),
        Err(CaseError::Closed(_))
    ));
    assert!(matches!(db.get("case-nope"), Err(CaseError::NotFound(_))));
    assert_eq!(db.get(&other.id).unwrap().status, Status::Open);
    let open = db.open_cases().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, other.id);
}

#[test]
fn sqlite_and_postgres_keep_cases_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.sqlite");
    exercise(&SqliteCases::open(&path).unwrap());
    // Reopened, the cases are still there.
    assert_eq!(SqliteCases::open(&path).unwrap().list().unwrap().len(), 2);
    // A database from a newer tripoint is refused, not misread.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE case_meta SET value = '99' WHERE key = 'format'", [])
        .unwrap();
    match SqliteCases::open(&path) {
        Err(CaseError::Corrupt(m)) => assert!(m.contains("newer"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    match pg() {
        Some(db) => exercise(&db),
        None => eprintln!("skipping PostgreSQL: TRIPOINT_TEST_PG_URL is not set"),
    }
}

#[test]
fn bad_input_is_refused_with_the_field() {
    let bad = |f: fn(&mut NewCase), field: &str| {
        let mut c = new_case("x");
        f(&mut c);
        match c.validate() {
            Err(CaseError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    };
    bad(|c| c.seeds = vec!["0xdeadbeef".into()], "seed");
    bad(|c| c.seeds = vec![], "seed");
    bad(|c| c.name = " ".into(), "name");
    bad(|c| c.policy = "avg".into(), "policy");
    bad(|c| c.tlp = "purple".into(), "tlp");
    bad(|c| c.from = Some("yesterday".into()), "from");
    bad(|c| c.partner = "u s".into(), "partner");
}
