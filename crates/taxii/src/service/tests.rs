//! The exchange's rules that an HTTP client cannot provoke: a store that
//! fails mid-envelope or cannot take audit entries, and hashing that must
//! not hold the async worker.

use super::*;
use crate::store::{SqliteStore, StoredVersion};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// SQLite, with writes that can be made to fail (a crash stand-in).
struct Flaky {
    inner: SqliteStore,
    fail_audit: AtomicBool,
    /// Object writes left before every further one fails.
    adds_left: AtomicUsize,
}

impl Store for Flaky {
    fn add(
        &self,
        c: &str,
        item: &crate::model::NewVersion,
        ctx: &AddContext,
    ) -> Result<AddOutcome, crate::store::StoreError> {
        if self
            .adds_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(crate::store::StoreError::Corrupt("simulated crash".into()));
        }
        self.inner.add(c, item, ctx)
    }
    fn query(&self, q: &ObjectQuery) -> Result<crate::store::Page, crate::store::StoreError> {
        self.inner.query(q)
    }
    fn delete(
        &self,
        c: &str,
        id: &str,
        v: &VersionFilter,
        s: &[String],
    ) -> Result<usize, crate::store::StoreError> {
        self.inner.delete(c, id, v, s)
    }
    fn count(&self, c: &str) -> Result<u64, crate::store::StoreError> {
        self.inner.count(c)
    }
    fn put_status(&self, s: &StatusRecord) -> Result<(), crate::store::StoreError> {
        self.inner.put_status(s)
    }
    fn get_status(&self, id: &str) -> Result<Option<StatusRecord>, crate::store::StoreError> {
        self.inner.get_status(id)
    }
    fn append_audit(&self, e: &[AuditEntry]) -> Result<(), crate::store::StoreError> {
        if self.fail_audit.load(Ordering::SeqCst) {
            return Err(crate::store::StoreError::Corrupt("disk full".into()));
        }
        self.inner.append_audit(e)
    }
    fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, crate::store::StoreError> {
        self.inner.audit(f)
    }
    fn audit_pages(
        &self,
        c: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<AuditEntry>, crate::store::StoreError> {
        self.inner.audit_pages(c, lo, hi)
    }
    fn delete_audit_before(&self, t: i64) -> Result<usize, crate::store::StoreError> {
        self.inner.delete_audit_before(t)
    }
    fn object_versions(&self, id: &str) -> Result<Vec<StoredVersion>, crate::store::StoreError> {
        self.inner.object_versions(id)
    }
    fn provenance(&self, id: &str) -> Result<Vec<Provenance>, crate::store::StoreError> {
        self.inner.provenance(id)
    }
    fn secret(&self, n: &str, f: &str) -> Result<String, crate::store::StoreError> {
        self.inner.secret(n, f)
    }
    fn sync_cursor(&self, link: &str) -> Result<Option<String>, crate::store::StoreError> {
        self.inner.sync_cursor(link)
    }
    fn set_sync_cursor(
        &self,
        link: &str,
        value: Option<&str>,
    ) -> Result<(), crate::store::StoreError> {
        self.inner.set_sync_cursor(link, value)
    }
}

fn exchange(
    dir: &tempfile::TempDir,
) -> (Arc<Exchange>, Arc<Flaky>, Vec<crate::config::IssuedSecrets>) {
    let (cfg, secrets) = Config::trilateral("x.db").expect("config");
    let flaky = Arc::new(Flaky {
        inner: SqliteStore::open(&dir.path().join("x.db"), 2).expect("sqlite"),
        fail_audit: AtomicBool::new(false),
        adds_left: AtomicUsize::new(usize::MAX),
    });
    (Exchange::new(flaky.clone(), cfg, None), flaky, secrets)
}

fn indicator(n: usize) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--0b7f2d0c-9999-4a4a-9b9b-{n:012}"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z"
    })
}

#[test]
fn an_envelope_cut_short_leaves_whole_objects_and_a_pending_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ex, flaky, _) = exchange(&dir);
    let us = Caller {
        partner: "us".into(),
        identity: tripoint_stix::content::partner_identity_id("us"),
    };
    flaky.adds_left.store(3, Ordering::SeqCst);
    let objects: Vec<Value> = (0..5).map(indicator).collect();
    assert!(ex
        .add_objects(&us, "trilateral", "actors", objects)
        .is_err());
    let mut status_ids = std::collections::HashSet::new();
    for n in 0..5 {
        let id = indicator(n)["id"].as_str().expect("id").to_string();
        let posted = ex.provenance(&id).expect("provenance");
        // Objects 0-2 were stored, each with its provenance; 3-4 not at all.
        assert_eq!(posted.len(), usize::from(n < 3), "object {n}");
        status_ids.extend(posted.into_iter().filter_map(|p| p.status_id));
    }
    assert_eq!(status_ids.len(), 1);
    let sid = status_ids.into_iter().next().expect("status id");
    let status = flaky
        .get_status(&sid)
        .expect("read")
        .expect("status exists");
    let body: Value = serde_json::from_str(&status.body).expect("json");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["total_count"], 5);
}

#[test]
fn a_request_whose_audit_entry_cannot_be_stored_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ex, flaky, _) = exchange(&dir);
    ex.set_audit_retry(Duration::from_millis(200));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(ex.audit(AuditEntry::new("us", "discovery", "/taxii2/", "ok")));
    assert!(ok.is_ok());
    flaky.fail_audit.store(true, Ordering::SeqCst);
    let failed = rt.block_on(ex.audit(AuditEntry::new("us", "discovery", "/taxii2/", "ok")));
    assert!(
        matches!(failed, Err(Error::AuditUnavailable(_))),
        "{failed:?}"
    );
    assert_eq!(Error::AuditUnavailable(String::new()).http_status(), 503);
}

#[test]
fn password_hashing_does_not_hold_the_async_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ex, _, _) = exchange(&dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let header = crate::auth::basic_authorization("jp", "wrong");
    let first = rt.block_on(async {
        tokio::select! {
            biased;
            _ = ex.authenticate(Some(&header), None) => "authentication",
            _ = async { for _ in 0..2 { tokio::task::yield_now().await } } => "other task",
        }
    });
    // argon2 inline would finish inside the first poll, before the other
    // task ever ran; on a blocking thread the worker stays free.
    assert_eq!(first, "other task");
}

#[test]
fn wrong_passwords_are_limited_per_user_and_per_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ex, _, secrets) = exchange(&dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ip: IpAddr = "192.0.2.1".parse().expect("ip");
    let other: IpAddr = "192.0.2.2".parse().expect("ip");
    let jp_right = crate::auth::basic_authorization("jp", &secrets[1].password);
    let us_right = crate::auth::basic_authorization("us", &secrets[0].password);
    rt.block_on(async {
        // A partner verified before keeps working whatever happens next.
        assert!(ex.authenticate(Some(&us_right), Some(ip)).await.is_ok());
        for _ in 0..10 {
            let r = ex
                .authenticate(Some(&crate::auth::basic_authorization("jp", "x")), Some(ip))
                .await;
            assert!(matches!(r, Err(Error::Unauthenticated)), "{r:?}");
        }
        // The source is now limited: even the right password is not hashed.
        let r = ex.authenticate(Some(&jp_right), Some(ip)).await;
        assert!(matches!(r, Err(Error::TooManyRequests { .. })), "{r:?}");
        // So is the user name, from another source.
        let r = ex.authenticate(Some(&jp_right), Some(other)).await;
        assert!(matches!(r, Err(Error::TooManyRequests { .. })), "{r:?}");
        assert!(ex.authenticate(Some(&us_right), Some(ip)).await.is_ok());
    });
}
