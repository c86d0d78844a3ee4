//! Integration tests: intel. A real `tripoint serve` on loopback (SQLite, and
//! PostgreSQL when `TRIPOINT_TEST_PG_URL` is set), driven over HTTP with ureq,
//! plus the `tripoint intel` admin commands on real files.

use crate::common::{run_ok, shared_data, tripoint};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use tripoint_taxii::config::{Config, IssuedSecrets};

const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const MEDIA: &str = "application/taxii+json;version=2.1";

struct Server {
    child: Child,
    base: String,
    config: PathBuf,
    secrets: Vec<IssuedSecrets>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The storage backends to run each scenario on.
fn storages(tag: &str) -> Vec<(String, Option<String>)> {
    let mut out = vec![("sqlite".to_string(), None)];
    match std::env::var("TRIPOINT_TEST_PG_URL") {
        Ok(base) => out.push((
            "postgres".into(),
            Some(
                tripoint_taxii::store::postgres_fresh_schema(&base, tag)
                    .expect("PostgreSQL reachable"),
            ),
        )),
        Err(_) => eprintln!("skipping PostgreSQL: TRIPOINT_TEST_PG_URL is not set"),
    }
    out
}

/// Write a trilateral config (indicators: JP may read but not write) and start the server.
fn start(storage: Option<String>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, secrets) = Config::trilateral(storage.as_deref().unwrap_or("intel.db")).unwrap();
    let indicators = cfg
        .collections
        .iter_mut()
        .find(|c| c.alias.as_deref() == Some("indicators"))
        .unwrap();
    indicators.write.retain(|p| p != "jp");
    cfg.max_content_length = 200_000;
    let config = dir.path().join("intel.toml");
    cfg.save(&config).unwrap();
    let mut child = tripoint()
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tripoint serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|u| u.strip_suffix("/taxii2/"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server {
        child,
        base,
        config,
        secrets,
        _dir: dir,
    }
}

struct Resp {
    status: u16,
    headers: HashMap<String, String>,
    body: Value,
}

impl Server {
    fn basic(&self, partner: &str) -> String {
        let s = self.secrets.iter().find(|s| s.partner == partner).unwrap();
        use_base64(&format!("{}:{}", s.username, s.password))
    }
    fn bearer(&self, partner: &str) -> String {
        format!(
            "Bearer {}",
            self.secrets
                .iter()
                .find(|s| s.partner == partner)
                .unwrap()
                .api_key
        )
    }
    fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let mut req = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                (
                    n.to_ascii_lowercase(),
                    resp.header(&n).unwrap_or("").to_string(),
                )
            })
            .collect();
        let text = resp.into_string().unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }
    fn get(&self, path: &str, partner: &str) -> Resp {
        let auth = self.basic(partner);
        self.call("GET", path, Some(&auth), &[("Accept", MEDIA)], None)
    }
    fn post(&self, path: &str, partner: &str, objects: &[Value]) -> Resp {
        let auth = self.bearer(partner);
        let body = json!({ "objects": objects }).to_string();
        self.call(
            "POST",
            path,
            Some(&auth),
            &[("Content-Type", MEDIA), ("Accept", MEDIA)],
            Some(&body),
        )
    }
}

fn use_base64(s: &str) -> String {
    // A tiny encoder keeps the test free of another dependency.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::from("Basic ");
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn indicator(uuid: &str, modified: &str, markings: &[&str]) -> Value {
    let mut v = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{uuid}"),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "Lazarus wallet",
        "pattern": "[cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z"
    });
    if !markings.is_empty() {
        v["object_marking_refs"] = json!(markings);
    }
    v
}

const IND: &str = "/trilateral/collections/indicators/objects/";

#[test]
fn taxii_endpoints_filters_versions_pagination_and_delete() {
    for (name, storage) in storages("endpoints") {
        let s = start(storage);
        let disc = s.get("/taxii2/", "us");
        assert_eq!(disc.status, 200, "{name}");
        assert_eq!(disc.body["api_roots"], json!(["/trilateral/"]));
        assert_eq!(disc.headers["content-type"], MEDIA);
        let root = s.get("/trilateral/", "jp");
        assert_eq!(root.body["versions"], json!([MEDIA]));
        let cols = s.get("/trilateral/collections/", "kr").body;
        let aliases: Vec<&str> = cols["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["alias"].as_str().unwrap())
            .collect();
        assert!(
            aliases.contains(&"us-kr") && !aliases.contains(&"us-jp"),
            "{name}: {aliases:?}"
        );

        // 25 synthetic objects + three versions of one indicator, posted by the US.
        let us_identity = tripoint_stix::content::partner_identity_id("us");
        let synthetic = tripoint_stix::content::synthetic_objects(7, 25, &us_identity);
        let r = s.post(IND, "us", &synthetic);
        assert_eq!(r.status, 202, "{name}: {:?}", r.body);
        assert_eq!(r.body["success_count"], json!(25), "{name}: {:?}", r.body);
        let status_id = r.body["id"].as_str().unwrap().to_string();
        let st = s.get(&format!("/trilateral/status/{status_id}/"), "us");
        assert_eq!(st.body["status"], "complete");
        assert_eq!(
            s.get(&format!("/trilateral/status/{status_id}/"), "jp")
                .status,
            404,
            "{name}: status is the poster's"
        );

        let uuid = "0b7f2d0c-1111-4a4a-9b9b-000000000001";
        for m in [
            "2026-01-02T00:00:00.000Z",
            "2026-01-01T00:00:00.000Z",
            "2026-01-03T00:00:00.123456Z",
        ] {
            let r = s.post(IND, "us", &[indicator(uuid, m, &[])]);
            assert_eq!(r.body["success_count"], json!(1), "{name}: {:?}", r.body);
        }
        // The server filled in created_by_ref with the poster's identity.
        let oid = format!("indicator--{uuid}");
        let one = s.get(&format!("{IND}{oid}/"), "jp");
        assert_eq!(one.status, 200);
        assert_eq!(one.body["objects"][0]["created_by_ref"], json!(us_identity));
        assert_eq!(
            one.body["objects"][0]["modified"], "2026-01-03T00:00:00.123456Z",
            "{name}: default is the last version"
        );
        assert!(one.headers.contains_key("x-taxii-date-added-first"));
        let vers = s.get(&format!("{IND}{oid}/versions/"), "jp");
        assert_eq!(
            vers.body["versions"],
            json!([
                "2026-01-02T00:00:00.000000Z",
                "2026-01-01T00:00:00.000000Z",
                "2026-01-03T00:00:00.123456Z"
            ]),
            "{name}: versions in date_added order"
        );
        let first = s.get(&format!("{IND}?match[id]={oid}&match[version]=first"), "jp");
        assert_eq!(
            first.body["objects"][0]["modified"],
            "2026-01-01T00:00:00.000Z"
        );
        let all = s.get(&format!("{IND}?match[id]={oid}&match[version]=all"), "jp");
        assert_eq!(all.body["objects"].as_array().unwrap().len(), 3);
        let at = s.get(
            &format!("{IND}?match[id]={oid}&match[version]=2026-01-02T00:00:00Z,first"),
            "jp",
        );
        assert_eq!(at.body["objects"].as_array().unwrap().len(), 2);

        // Pagination: 26 latest versions, pages of 10, no loss, no duplicates, ascending date_added.
        let mut seen = Vec::new();
        let mut path = format!("{IND}?limit=10");
        let mut last_added = String::new();
        loop {
            let page = s.get(&path, "kr");
            assert_eq!(page.status, 200, "{name}: {:?}", page.body);
            let objs = page.body["objects"].as_array().cloned().unwrap_or_default();
            assert!(objs.len() <= 10);
            let first_added = &page.headers["x-taxii-date-added-first"];
            assert!(*first_added > last_added, "{name}: pages ascend");
            last_added = page.headers["x-taxii-date-added-last"].clone();
            seen.extend(objs.iter().map(|o| o["id"].as_str().unwrap().to_string()));
            if page.body["more"] != json!(true) {
                break;
            }
            path = format!(
                "{IND}?limit=10&next={}",
                page.body["next"].as_str().unwrap()
            );
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (26, 26), "{name}");

        // Type filter OR within, AND with added_after.
        let typed = s.get(&format!("{IND}?match[type]=malware,infrastructure"), "jp");
        let types: Vec<&str> = typed.body["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        assert!(
            !types.is_empty()
                && types
                    .iter()
                    .all(|t| *t == "malware" || *t == "infrastructure"),
            "{name}"
        );
        let after = s.get(&format!("{IND}?added_after={last_added}"), "jp");
        assert_eq!(after.body["more"], json!(false));
        assert!(
            after.body.get("objects").is_none(),
            "{name}: nothing after the last date_added"
        );
        let spec = s.get(&format!("{IND}?match[spec_version]=2.0"), "jp");
        assert!(spec.body.get("objects").is_none());

        let manifest = s.get(
            &format!(
                "/trilateral/collections/indicators/manifest/?match[id]={oid}&match[version]=all"
            ),
            "jp",
        );
        let entries = manifest.body["objects"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2]["version"], "2026-01-03T00:00:00.123456Z");
        assert_eq!(
            entries[0]["media_type"],
            "application/stix+json;version=2.1"
        );

        // Delete: only the creator; then it is gone everywhere.
        let kr_auth = s.basic("kr");
        let denied = s.call("DELETE", &format!("{IND}{oid}/"), Some(&kr_auth), &[], None);
        assert_eq!(denied.status, 403, "{name}: {:?}", denied.body);
        let us_auth = s.basic("us");
        let deleted = s.call("DELETE", &format!("{IND}{oid}/"), Some(&us_auth), &[], None);
        assert_eq!(deleted.status, 200, "{name}: {:?}", deleted.body);
        assert_eq!(s.get(&format!("{IND}{oid}/"), "us").status, 404);
        assert_eq!(s.get(&format!("{IND}{oid}/versions/"), "us").status, 404);
    }
}

#[test]
fn tlp_red_write_permission_and_next_tokens_are_enforced() {
    for (name, storage) in storages("access") {
        let s = start(storage);
        let red_uuid = "0b7f2d0c-2222-4a4a-9b9b-000000000002";
        let red_id = format!("indicator--{red_uuid}");
        let r = s.post(
            IND,
            "us",
            &[indicator(red_uuid, "2026-01-01T00:00:00.000Z", &[RED])],
        );
        assert_eq!(r.body["success_count"], json!(1), "{name}: {:?}", r.body);
        let green: Vec<Value> = (0..3)
            .map(|i| {
                indicator(
                    &format!("0b7f2d0c-3333-4a4a-9b9b-00000000000{i}"),
                    "2026-01-01T00:00:00.000Z",
                    &[],
                )
            })
            .collect();
        s.post(IND, "us", &green);

        // The creator sees its RED object; KR (readable collection, not cleared) never does.
        assert_eq!(s.get(&format!("{IND}{red_id}/"), "us").status, 200);
        for path in [
            format!("{IND}{red_id}/"),
            format!("{IND}{red_id}/versions/"),
        ] {
            assert_eq!(s.get(&path, "kr").status, 404, "{name}: {path}");
        }
        for path in [
            IND.to_string(),
            format!("{IND}?match[id]={red_id}"),
            "/trilateral/collections/indicators/manifest/".to_string(),
        ] {
            let body = s.get(&path, "kr").body.to_string();
            assert!(
                !body.contains(red_uuid),
                "{name}: RED leaked through {path}"
            );
        }
        // Clearing KR for red in this collection at run time lets it read; the server reloads the file.
        run_ok(&[
            "intel",
            "collection",
            "grant",
            "--config",
            s.config.to_str().unwrap(),
            "indicators",
            "kr",
            "--red",
        ]);
        let mut visible = false;
        for _ in 0..40 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if s.get(&format!("{IND}{red_id}/"), "kr").status == 200 {
                visible = true;
                break;
            }
        }
        assert!(visible, "{name}: grant did not take effect");

        // JP may read indicators but not write; in us-kr it is not even told the collection exists.
        let refused = s.post(IND, "jp", &green);
        assert_eq!(refused.status, 403, "{name}");
        assert_eq!(refused.body["http_status"], "403");
        assert_eq!(
            s.get("/trilateral/collections/us-kr/objects/", "jp").status,
            404
        );

        // A next token is bound to the partner it was issued to.
        let page = s.get(&format!("{IND}?limit=1"), "us");
        let token = page.body["next"].as_str().unwrap().to_string();
        let stolen = s.get(&format!("{IND}?limit=1&next={token}"), "jp");
        assert_eq!(stolen.status, 400, "{name}");
        assert!(stolen.body.get("objects").is_none());
        assert_eq!(
            s.get(&format!("{IND}?limit=1&next={token}"), "us").status,
            200
        );

        // Only the creator versions an object, created_by_ref must be the poster's.
        let kr_version = s.post(
            IND,
            "kr",
            &[indicator(red_uuid, "2026-02-01T00:00:00.000Z", &[RED])],
        );
        assert_eq!(kr_version.body["failure_count"], json!(1), "{name}");
        let mut forged = indicator(
            "0b7f2d0c-4444-4a4a-9b9b-000000000004",
            "2026-01-01T00:00:00.000Z",
            &[],
        );
        forged["created_by_ref"] = json!(tripoint_stix::content::partner_identity_id("us"));
        let r = s.post(IND, "kr", &[forged.clone(), green[0].clone()]);
        assert_eq!(
            (
                r.body["failure_count"].clone(),
                r.body["success_count"].clone()
            ),
            (json!(2), json!(0)),
            "{name}: {:?}",
            r.body
        );
        // Revoked is final.
        let mut revoked = indicator(
            "0b7f2d0c-5555-4a4a-9b9b-000000000005",
            "2026-01-02T00:00:00.000Z",
            &[],
        );
        revoked["revoked"] = json!(true);
        assert_eq!(
            s.post(IND, "us", &[revoked]).body["success_count"],
            json!(1)
        );
        let later = indicator(
            "0b7f2d0c-5555-4a4a-9b9b-000000000005",
            "2026-01-03T00:00:00.000Z",
            &[],
        );
        let r = s.post(IND, "us", &[later]);
        assert!(
            r.body["failures"][0]["message"]
                .as_str()
                .unwrap()
                .contains("revoked"),
            "{name}: {:?}",
            r.body
        );
        // An exact duplicate is a success.
        let dup = s.post(IND, "us", &green[..1]);
        assert_eq!(dup.body["success_count"], json!(1));
    }
}

#[test]
fn errors_are_taxii_error_resources_with_matching_status() {
    let s = start(None);
    let noauth = s.call("GET", "/trilateral/collections/", None, &[], None);
    assert_eq!(noauth.status, 401);
    assert!(noauth.headers["www-authenticate"].contains("Basic"));
    let wrong = s.call("GET", "/taxii2/", Some("Basic dXM6bm9wZQ=="), &[], None);
    assert_eq!(wrong.status, 401);
    let us = s.basic("us");
    let check = |r: Resp, want: u16| {
        assert_eq!(r.status, want, "{:?}", r.body);
        assert_eq!(
            r.body["http_status"],
            json!(want.to_string()),
            "{:?}",
            r.body
        );
        assert!(r.body["title"].is_string());
    };
    check(
        s.call(
            "GET",
            "/taxii2/",
            Some(&us),
            &[("Accept", "application/json")],
            None,
        ),
        406,
    );
    check(
        s.call(
            "GET",
            "/taxii2/",
            Some(&us),
            &[("Accept", "application/taxii+json;version=2.0")],
            None,
        ),
        406,
    );
    assert_eq!(
        s.call(
            "GET",
            "/taxii2/",
            Some(&us),
            &[("Accept", "text/html;q=0.9, application/taxii+json;q=0.1")],
            None
        )
        .status,
        200
    );
    assert_eq!(
        s.call(
            "GET",
            "/taxii2/",
            Some(&us),
            &[("Accept", "application/taxii+json")],
            None
        )
        .status,
        200
    );
    for bad in [
        "limit=0",
        "limit=x",
        "added_after=yesterday",
        "match[version]=newest",
        "match[id]=nope",
        "match[spec_version]=two",
        "next=unknown",
    ] {
        check(
            s.call("GET", &format!("{IND}?{bad}"), Some(&us), &[], None),
            400,
        );
    }
    check(
        s.call("GET", "/trilateral/collections/nope/", Some(&us), &[], None),
        404,
    );
    check(s.call("PUT", IND, Some(&us), &[], Some("{}")), 405);
    check(
        s.call("GET", "/nowhere/collections/", Some(&us), &[], None),
        404,
    );
    check(
        s.call("GET", &format!("{IND}not-an-id/"), Some(&us), &[], None),
        400,
    );
    let key = s.bearer("us");
    check(
        s.call(
            "POST",
            IND,
            Some(&key),
            &[("Content-Type", "application/json")],
            Some("{\"objects\":[]}"),
        ),
        415,
    );
    check(
        s.call(
            "POST",
            IND,
            Some(&key),
            &[("Content-Type", MEDIA)],
            Some("{not json"),
        ),
        400,
    );
    check(
        s.call(
            "POST",
            IND,
            Some(&key),
            &[("Content-Type", MEDIA)],
            Some("[1,2]"),
        ),
        422,
    );
    // Over max_content_length: refused from the declared length, before the body is read
    // (a raw request, because an HTTP client would still be writing the body).
    let host = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&host).unwrap();
    use std::io::{Read, Write};
    write!(conn, "POST {IND} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {key}\r\nContent-Type: {MEDIA}\r\nContent-Length: 300000\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    let _ = conn.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("\"http_status\":\"413\""), "{raw}");
    // A bad object is a failure with its reason; the good ones of the same envelope are stored.
    let r = s.post(
        IND,
        "us",
        &[
            json!({"type": "indicator", "id": "indicator--0b7f2d0c-6666-4a4a-9b9b-000000000006"}),
            indicator(
                "0b7f2d0c-7777-4a4a-9b9b-000000000007",
                "2026-01-01T00:00:00.000Z",
                &[],
            ),
        ],
    );
    assert_eq!(r.status, 202);
    assert_eq!(
        (
            r.body["success_count"].clone(),
            r.body["failure_count"].clone()
        ),
        (json!(1), json!(1))
    );
    assert!(!r.body["failures"][0]["message"]
        .as_str()
        .unwrap()
        .is_empty());
}

#[test]
fn import_and_audit_cli() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let cfg = config.to_str().unwrap();
    let out = run_ok(&["intel", "init", "--config", cfg]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("api-key").count(), 3, "{text}");
    // Not overwritten without --force.
    assert!(!tripoint()
        .args(["intel", "init", "--config", cfg])
        .status()
        .unwrap()
        .success());
    let hash = String::from_utf8(run_ok(&["intel", "hash-secret", "s3cret"]).stdout).unwrap();
    assert!(tripoint_taxii::auth::verify_secret("s3cret", hash.trim()));

    // A bad object in a bundle: the good ones are stored, the exit is non-zero, the reason is named.
    let bundle = dir.path().join("b.json");
    let good = indicator(
        "0b7f2d0c-8888-4a4a-9b9b-000000000008",
        "2026-01-01T00:00:00.000Z",
        &[],
    );
    std::fs::write(&bundle, json!({"type": "bundle", "id": "bundle--0b7f2d0c-8888-4a4a-9b9b-000000000009", "objects": [good, {"type": "malware", "id": "malware--0b7f2d0c-8888-4a4a-9b9b-00000000000a", "spec_version": "2.1"}]}).to_string()).unwrap();
    let r = tripoint()
        .args([
            "intel",
            "import",
            "--config",
            cfg,
            "--collection",
            "indicators",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("1 stored"),
        "{r:?}"
    );
    assert!(String::from_utf8_lossy(&r.stderr)
        .contains("malware--0b7f2d0c-8888-4a4a-9b9b-00000000000a"));

    if let Some(data) = shared_data() {
        let attack = data.join("intel/mitre-attack-dprk/dprk-attack-v18.1.stix21.json");
        let import_attack = || {
            run_ok(&[
                "intel",
                "import",
                "--config",
                cfg,
                "--collection",
                "actors",
                attack.to_str().unwrap(),
            ])
        };
        let out = import_attack();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("2165 objects: 2165 stored"),
            "{out:?}"
        );
        // Re-import: every object is an exact duplicate.
        let out = import_attack();
        assert!(String::from_utf8_lossy(&out.stdout).contains("0 stored, 2165 already stored"));
        let ofac =
            data.join("intel/ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json");
        let out = run_ok(&[
            "intel",
            "import",
            "--config",
            cfg,
            "--collection",
            "indicators",
            "--format",
            "ofac-dprk-crypto",
            ofac.to_str().unwrap(),
        ]);
        assert!(String::from_utf8_lossy(&out.stdout).contains(" 0 failed"));
    }
    let audit = run_ok(&["intel", "audit", "--config", cfg, "--format", "json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|e| e["action"] == "import" && e["partner"] == "admin"));
    // What an import stored is in the provenance records.
    let posted = run_ok(&[
        "intel",
        "audit",
        "--config",
        cfg,
        "--object",
        "indicator--0b7f2d0c-8888-4a4a-9b9b-000000000008",
        "--format",
        "json",
    ]);
    let posted: Vec<Value> = String::from_utf8_lossy(&posted.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        posted
            .iter()
            .any(|e| e["kind"] == "posted" && e["partner"] == "admin"),
        "{posted:?}"
    );
    assert!(lines
        .iter()
        .all(|e| e["at"].as_str().is_some_and(|t| t.ends_with('Z'))));
    run_ok(&[
        "intel",
        "partner",
        "add",
        "--config",
        cfg,
        "--id",
        "au",
        "--name",
        "Australia",
    ]);
    let list =
        String::from_utf8(run_ok(&["intel", "partner", "list", "--config", cfg]).stdout).unwrap();
    assert!(list.contains("au ") && list.contains("kr "));
    let bad = Path::new(cfg);
    std::fs::write(bad, "listen = 5\n").unwrap();
    let r = tripoint()
        .args(["intel", "partner", "list", "--config", cfg])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("c.toml:1:"),
        "{r:?}"
    );
}

#[test]
fn audit_records_reads_and_refusals_from_the_server() {
    let s = start(None);
    let _ = s.get(IND, "us");
    let _ = s.call("GET", "/taxii2/", None, &[], None);
    let _ = s.post(IND, "jp", &[]);
    let mut entries = Vec::new();
    for _ in 0..50 {
        let out = run_ok(&[
            "intel",
            "audit",
            "--config",
            s.config.to_str().unwrap(),
            "--format",
            "json",
        ]);
        entries = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        if entries.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        entries
            .iter()
            .any(|e| e["partner"] == "us" && e["action"] == "get-objects" && e["result"] == "ok"),
        "{entries:?}"
    );
    assert!(entries
        .iter()
        .any(|e| e["partner"] == "-" && e["result"].as_str().unwrap().starts_with("401")));
    assert!(entries
        .iter()
        .any(|e| e["partner"] == "jp" && e["result"].as_str().unwrap().starts_with("403")));
    let only_jp = run_ok(&[
        "intel",
        "audit",
        "--config",
        s.config.to_str().unwrap(),
        "--partner",
        "jp",
        "--format",
        "json",
    ]);
    assert!(String::from_utf8_lossy(&only_jp.stdout)
        .lines()
        .all(|l| l.contains("\"partner\":\"jp\"")));
}

#[test]
fn https_with_rustls_and_no_plain_http_off_loopback() {
    // Plain HTTP on a non-loopback address is refused outright.
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, secrets) = Config::trilateral("intel.db").unwrap();
    let config = dir.path().join("intel.toml");
    cfg.save(&config).unwrap();
    let r = tripoint()
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("refusing plain HTTP"),
        "{r:?}"
    );

    let tools = ["openssl", "curl"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok()
    });
    if !tools {
        eprintln!("skipping the HTTPS half: openssl or curl is not installed");
        return;
    }
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-keyout", "server.key", "-out", "server.crt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    cfg.tls = Some(tripoint_taxii::config::TlsConfig {
        cert: "server.crt".into(),
        key: "server.key".into(),
    });
    cfg.save(&config).unwrap();
    let mut child = tripoint()
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    assert!(url.starts_with("https://"), "{line}");
    let user = format!("{}:{}", secrets[0].username, secrets[0].password);
    let curl = |extra: &[&str]| {
        std::process::Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-u", &user])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let tls12 = curl(&["--tlsv1.2", "--tls-max", "1.2"]);
    assert_eq!(String::from_utf8_lossy(&tls12.stdout), "200", "{tls12:?}");
    let tls13 = curl(&["--tlsv1.3"]);
    assert_eq!(String::from_utf8_lossy(&tls13.stdout), "200");
    // TLS 1.1 is not offered.
    let tls11 = curl(&["--tlsv1.1", "--tls-max", "1.1"]);
    assert_ne!(String::from_utf8_lossy(&tls11.stdout), "200");
    let _ = child.kill();
    let _ = child.wait();
}
