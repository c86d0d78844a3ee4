//! One behaviour suite, run against SQLite always and against PostgreSQL when
//! `TRIPOINT_TEST_PG_URL` is set (each run in its own fresh schema).

use super::*;
use crate::model::{NewVersion, Restriction};

fn version(id: &str, v: Option<i64>, creator: &str, restriction: Restriction) -> NewVersion {
    NewVersion {
        id: id.into(),
        type_: id.split("--").next().unwrap().into(),
        spec_version: "2.1".into(),
        version_us: v,
        creator: creator.into(),
        poster: creator.into(),
        restriction,
        revoked: false,
        body: format!(r#"{{"id":"{id}","v":{}}}"#, v.unwrap_or(-1)),
    }
}

/// Store versions one by one (each its own transaction), as an envelope is.
/// `n` open indicators of one creator, `indicator--0000` onwards, version
/// 1000 + i each.
fn open_indicators(n: i64) -> Vec<NewVersion> {
    (0..n)
        .map(|i| {
            version(
                &format!("indicator--{i:04}"),
                Some(1000 + i),
                "identity--a",
                Restriction::Open,
            )
        })
        .collect()
}

fn add_all(store: &dyn Store, collection: &str, items: &[NewVersion]) -> Vec<AddOutcome> {
    let ctx = AddContext {
        partner: "admin".into(),
        clearance: Restriction::Red,
        status_id: None,
    };
    items
        .iter()
        .map(|i| store.add(collection, i, &ctx).unwrap())
        .collect()
}

fn viewer(identity: &str, max: Restriction) -> Viewer {
    Viewer {
        identity: identity.into(),
        max_restriction: max,
    }
}

fn query(collection: &str, limit: usize) -> ObjectQuery {
    ObjectQuery {
        collection: collection.into(),
        added_after: None,
        ids: vec![],
        types: vec![],
        versions: VersionFilter::last(),
        spec_versions: vec![],
        viewer: viewer("identity--reader", Restriction::Open),
        limit,
        with_body: true,
    }
}

#[cfg(feature = "postgres")]
fn pg_url_with_fresh_schema(tag: &str) -> Option<String> {
    let base = std::env::var("TRIPOINT_TEST_PG_URL").ok()?;
    Some(postgres_fresh_schema(&base, tag).expect("TRIPOINT_TEST_PG_URL reachable"))
}

// Without PostgreSQL the list stays SQLite's and the tag is unused.
#[cfg_attr(not(feature = "postgres"), allow(unused_mut, unused_variables))]
fn backends(tag: &str) -> Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out: Vec<(&'static str, Box<dyn Store>, tempfile::TempDir)> = vec![(
        "sqlite",
        Box::new(SqliteStore::open(&dir.path().join("t.db"), 2).unwrap()),
        dir,
    )];
    #[cfg(feature = "postgres")]
    if let Some(url) = pg_url_with_fresh_schema(tag) {
        out.push((
            "postgres",
            Box::new(PostgresStore::open(&url, 2).unwrap()),
            tempfile::tempdir().unwrap(),
        ));
    } else {
        eprintln!("skipping PostgreSQL: TRIPOINT_TEST_PG_URL is not set");
    }
    #[cfg(not(feature = "postgres"))]
    eprintln!("skipping PostgreSQL: this build has no `postgres` feature");
    out
}

#[test]
fn date_added_is_strictly_increasing_and_pages_lose_nothing() {
    for (name, store, _dir) in backends("pages") {
        let items = open_indicators(250);
        let out = add_all(&*store, "c1", &items);
        let added: Vec<i64> = out
            .iter()
            .map(|o| match o {
                AddOutcome::Stored { date_added, .. } => *date_added,
                other => panic!("{name}: {other:?}"),
            })
            .collect();
        assert!(added.windows(2).all(|w| w[0] < w[1]), "{name}");
        // A second batch continues the clock.
        let more = add_all(
            &*store,
            "c1",
            &[version(
                "indicator--x",
                Some(5),
                "identity--a",
                Restriction::Open,
            )],
        );
        assert!(
            matches!(more[0], AddOutcome::Stored { date_added, .. } if date_added > *added.last().unwrap())
        );

        let mut seen = Vec::new();
        let mut q = query("c1", 100);
        loop {
            let page = store.query(&q).unwrap();
            assert!(page.rows.len() <= 100);
            seen.extend(page.rows.iter().map(|r| r.id.clone()));
            if !page.more {
                break;
            }
            q.added_after = Some(page.rows.last().unwrap().date_added);
        }
        assert_eq!(seen.len(), 251, "{name}");
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 251, "{name}: duplicates across pages");
        assert_eq!(store.count("c1").unwrap(), 251);
        assert_eq!(store.count("other").unwrap(), 0);
    }
}

#[test]
fn versions_filters_first_last_all_and_timestamps() {
    for (name, store, _dir) in backends("versions") {
        let id = "malware--0001";
        // Out of order on purpose: the flags must follow version order, not arrival.
        for v in [20, 10, 30] {
            let out = add_all(
                &*store,
                "c",
                &[version(id, Some(v), "identity--a", Restriction::Open)],
            );
            assert!(matches!(out[0], AddOutcome::Stored { .. }), "{name}");
        }
        let dup = add_all(
            &*store,
            "c",
            &[version(id, Some(20), "identity--a", Restriction::Open)],
        );
        assert_eq!(dup[0], AddOutcome::Duplicate { version_us: 20 }, "{name}");
        let mut q = query("c", 10);
        let versions = |q: &ObjectQuery| {
            store
                .query(q)
                .unwrap()
                .rows
                .iter()
                .map(|r| r.version_us)
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(&q), vec![30], "{name}: last");
        q.versions = VersionFilter {
            first: true,
            ..Default::default()
        };
        assert_eq!(versions(&q), vec![10], "{name}: first");
        q.versions = VersionFilter {
            first: true,
            last: true,
            ..Default::default()
        };
        assert_eq!(
            versions(&q),
            vec![10, 30],
            "{name}: first,last in date_added order"
        );
        q.versions = VersionFilter::all();
        assert_eq!(versions(&q), vec![20, 10, 30], "{name}: all");
        q.versions = VersionFilter {
            at: vec![20, 99],
            ..Default::default()
        };
        assert_eq!(versions(&q), vec![20], "{name}: timestamp");

        let removed = store
            .delete(
                "c",
                id,
                &VersionFilter {
                    last: true,
                    ..Default::default()
                },
                &[],
            )
            .unwrap();
        assert_eq!(removed, 1);
        q.versions = VersionFilter::last();
        assert_eq!(versions(&q), vec![20], "{name}: last after deleting 30");
        assert_eq!(
            store.delete("c", id, &VersionFilter::all(), &[]).unwrap(),
            2
        );
        assert!(versions(&q).is_empty());
    }
}

#[test]
fn restricted_objects_are_visible_to_cleared_viewers_and_creators_only() {
    for (name, store, _dir) in backends("tlp") {
        add_all(
            &*store,
            "c",
            &[
                version("indicator--open", Some(1), "identity--a", Restriction::Open),
                version(
                    "indicator--amber",
                    Some(1),
                    "identity--a",
                    Restriction::AmberStrict,
                ),
                version("indicator--red", Some(1), "identity--a", Restriction::Red),
            ],
        );
        let ids = |v: Viewer| {
            let mut q = query("c", 10);
            q.viewer = v;
            store
                .query(&q)
                .unwrap()
                .rows
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(viewer("identity--b", Restriction::Open)),
            vec!["indicator--open"],
            "{name}"
        );
        assert_eq!(
            ids(viewer("identity--b", Restriction::AmberStrict)),
            vec!["indicator--open", "indicator--amber"]
        );
        assert_eq!(ids(viewer("identity--b", Restriction::Red)).len(), 3);
        assert_eq!(
            ids(viewer("identity--a", Restriction::Open)).len(),
            3,
            "{name}: the creator sees its own"
        );
    }
}

#[test]
fn other_creators_cannot_version_and_filters_combine() {
    for (name, store, _dir) in backends("creator") {
        add_all(
            &*store,
            "c",
            &[version(
                "tool--1",
                Some(1),
                "identity--a",
                Restriction::Open,
            )],
        );
        let out = add_all(
            &*store,
            "c",
            &[version(
                "tool--1",
                Some(2),
                "identity--b",
                Restriction::Open,
            )],
        );
        assert!(
            matches!(&out[0], AddOutcome::Refused(r) if r.contains("another party owns it")),
            "{name}: {out:?}"
        );
        // A batch is not all-or-nothing: the good item after a refused one is stored.
        let out = add_all(
            &*store,
            "c",
            &[
                version("tool--1", Some(3), "identity--b", Restriction::Open),
                version("malware--2", Some(1), "identity--b", Restriction::Open),
            ],
        );
        assert!(matches!(out[0], AddOutcome::Refused(_)));
        assert!(matches!(out[1], AddOutcome::Stored { .. }));
        let mut q = query("c", 10);
        q.types = vec!["malware".into(), "tool".into()];
        q.ids = vec!["tool--1".into()];
        let rows = store.query(&q).unwrap().rows;
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].id, "tool--1");
        q.spec_versions = vec!["2.0".into()];
        assert!(
            store.query(&q).unwrap().rows.is_empty(),
            "{name}: spec_version filter"
        );
    }
}

#[test]
fn status_and_audit_round_trip() {
    for (name, store, _dir) in backends("status") {
        let now = crate::model::now_micros();
        let s = StatusRecord {
            id: "s1".into(),
            api_root: "trilateral".into(),
            partner: "us".into(),
            created_us: now,
            body: "{}".into(),
        };
        store.put_status(&s).unwrap();
        assert_eq!(
            store.get_status("s1").unwrap().unwrap().partner,
            "us",
            "{name}"
        );
        // Older than 24 h: purged on the next write and never returned.
        store
            .put_status(&StatusRecord {
                id: "old".into(),
                created_us: now - STATUS_RETENTION_US - 1,
                ..s.clone()
            })
            .unwrap();
        assert!(store.get_status("old").unwrap().is_none(), "{name}");
        let e = |p: &str, at: i64| AuditEntry {
            at_us: at,
            partner: p.into(),
            action: "get-objects".into(),
            target: "trilateral/c".into(),
            result: "ok".into(),
            page: Some(PageRecord {
                collection: "c".into(),
                filter: "match%5Bversion%5D=last".into(),
                first_added: Some(at),
                last_added: Some(at + 5),
                returned: 2,
                clearance: 0,
            }),
            object: None,
            object_ids: vec![],
        };
        store
            .append_audit(&[e("us", 10), e("jp", 20), e("us", 30)])
            .unwrap();
        let all = store.audit(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 3, "{name}");
        assert_eq!(all[0], e("us", 10), "{name}");
        // The entries a filter of `limit`, `offset`, `before_us` and
        // `partner` reads (the rest of the filter its default).
        let page = |limit, offset, before_us, partner: Option<&str>| {
            store
                .audit(&AuditFilter {
                    limit,
                    offset,
                    before_us,
                    partner: partner.map(str::to_string),
                    ..Default::default()
                })
                .unwrap()
        };
        // --limit keeps the newest entries.
        let newest = page(Some(2), 0, None, None);
        assert_eq!(newest, vec![e("jp", 20), e("us", 30)], "{name}");
        // A page counted from the newest entry: skip `offset`, keep `limit`.
        assert_eq!(page(Some(1), 1, None, None), vec![e("jp", 20)], "{name}");
        assert_eq!(page(Some(5), 2, None, None), vec![e("us", 10)], "{name}");
        assert_eq!(page(Some(5), 3, None, None), vec![], "{name}");
        assert_eq!(page(None, 1, None, None), vec![e("us", 10), e("jp", 20)]);
        assert_eq!(page(Some(1), 0, Some(30), None), vec![e("jp", 20)]);
        assert_eq!(page(Some(1), 1, None, Some("us")), vec![e("us", 10)]);
        assert_eq!(store.audit_pages("c", 24, 24).unwrap(), vec![e("jp", 20)]);
        assert_eq!(store.delete_audit_before(25).unwrap(), 2, "{name}");
        let us = store
            .audit(&AuditFilter {
                partner: Some("us".into()),
                since_us: Some(15),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(us, vec![e("us", 30)], "{name}");
        // A batch mixing entries without a page (NULL columns), with an
        // object, and with an empty filter reads back as written, in order.
        let refusal = AuditEntry {
            page: None,
            object: Some("status--1".into()),
            result: "401 Unauthorized".into(),
            ..e("-", 40)
        };
        let mut unfiltered = e("kr", 50);
        if let Some(p) = unfiltered.page.as_mut() {
            p.filter = String::new();
            p.first_added = None;
        }
        let batch: Vec<AuditEntry> = (0..300)
            .map(|i| {
                if i % 2 == 0 {
                    refusal.clone()
                } else {
                    unfiltered.clone()
                }
            })
            .collect();
        store.append_audit(&batch).unwrap();
        let back = store
            .audit(&AuditFilter {
                since_us: Some(40),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(back, batch, "{name}");
    }
}

#[test]
fn provenance_of_many_objects_is_each_objects_provenance() {
    for (name, store, _dir) in backends("provenance-of") {
        // More objects than one SQLite query takes; some in two collections,
        // some with two versions.
        let items = open_indicators(620);
        add_all(&*store, "c1", &items);
        add_all(&*store, "c2", &items[..40]);
        let newer: Vec<_> = items[10..30]
            .iter()
            .map(|v| NewVersion {
                version_us: v.version_us.map(|x| x + 5000),
                ..v.clone()
            })
            .collect();
        add_all(&*store, "c1", &newer);
        let key = |p: &Provenance| (p.id.clone(), p.collection.clone(), p.version_us);
        let mut ids: Vec<String> = items.iter().map(|v| v.id.clone()).collect();
        ids.push("indicator--unknown".into());
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut many = store.provenance_of(&refs).unwrap();
        let mut one_by_one: Vec<Provenance> = refs
            .iter()
            .flat_map(|id| store.provenance(id).unwrap())
            .collect();
        assert_eq!(one_by_one.len(), 620 + 40 + 20, "{name}");
        many.sort_by_key(key);
        one_by_one.sort_by_key(key);
        assert_eq!(many.len(), one_by_one.len(), "{name}");
        for (a, b) in many.iter().zip(&one_by_one) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}");
        }
        assert!(store.provenance_of(&[]).unwrap().is_empty(), "{name}");
    }
}
