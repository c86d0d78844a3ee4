//! `tripoint case`: a case over a small store, its notes, and its report as
//! a STIX bundle that tripoint's STIX validator accepts; and the case HTTP
//! API of a real `tripoint serve` (SQLite, and PostgreSQL when
//! `TRIPOINT_TEST_PG_URL` is set), driven with ureq: access by owner and TLP,
//! TAXII error bodies, audit, and every route of the OpenAPI document.

use std::path::{Path, PathBuf};
use std::process::Child;

use serde_json::{json, Value};
use tripoint_taxii::config::{Config, IssuedSecrets};

use crate::common::{http, run_ok, spawn_serve, tripoint};

const THIEF: &str = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
const MULE: &str = "0x1111111111111111111111111111111111111111";
const EXCHANGE: &str = "0x4976a4a02f38326660d17bf34b431dc6e2eb2327";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

/// A store in `tmp/st`: the exchange funds the thief, the thief pays a mule
/// 100 ETH, the mule pays the exchange 60; the thief is labelled Lazarus.
fn small_store(tmp: &Path) -> PathBuf {
    let st = tmp.join("st");
    let s = st.to_str().unwrap();
    let csv = tmp.join("t.csv");
    let (thief, mule, exchange) = (THIEF, MULE, EXCHANGE);
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
    let labels = tmp.join("l.csv");
    std::fs::write(
        &labels,
        format!("address,label,category,source\n{exchange},Binance 20,exchange,test\n{thief},Lazarus Group (test),dprk-attributed,test\n"),
    )
    .unwrap();
    run_ok(&["labels", "import", "--store", s, labels.to_str().unwrap()]);
    st
}

#[test]
fn case_lifecycle_and_stix_report() {
    let tmp = tempfile::tempdir().unwrap();
    let st = small_store(tmp.path());
    let s = st.to_str().unwrap();
    let (thief, mule, exchange) = (THIEF, MULE, EXCHANGE);
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
    // No own minimum for the watch's new_hop alerts: the watch's applies.
    assert!(case["min_hop_ppm"].is_null(), "{case}");
    let refused = tripoint()
        .args(["case", "new", "--store", s, "--name", "x", "--seed", thief])
        .args(["--min-hop-ppm", "1000001"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("min_hop_ppm"), "{why}");
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

/// `tripoint serve --case-store DIR` on a free loopback port; killed on drop.
struct Server {
    child: Child,
    base: String,
    config: PathBuf,
    secrets: Vec<IssuedSecrets>,
    store: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The case databases to run each scenario on: the store's SQLite file,
/// and PostgreSQL in a fresh schema when the suite has a server.
fn case_dbs(tag: &str) -> Vec<Option<String>> {
    // Only PostgreSQL adds to it.
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    let mut out = vec![None];
    #[cfg(feature = "postgres")]
    match std::env::var("TRIPOINT_TEST_PG_URL") {
        Ok(base) => out.push(Some(
            tripoint_taxii::store::postgres_fresh_schema(&base, tag).expect("PostgreSQL reachable"),
        )),
        Err(_) => eprintln!("skipping PostgreSQL: TRIPOINT_TEST_PG_URL is not set"),
    }
    #[cfg(not(feature = "postgres"))]
    eprintln!("skipping PostgreSQL ({tag}): built without the postgres feature");
    out
}

fn start(case_db: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let (cfg, secrets) = Config::trilateral("intel.db").unwrap();
    let config = dir.path().join("intel.toml");
    cfg.save(&config).unwrap();
    let mut cmd = tripoint();
    cmd.args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--case-store"])
        .arg(&store)
        .env_remove("TRIPOINT_CASE_DB");
    if let Some(url) = case_db {
        cmd.args(["--case-db", url]);
    }
    let (child, base) = spawn_serve(cmd);
    Server {
        child,
        base,
        config,
        secrets,
        store,
        _dir: dir,
    }
}

impl Server {
    fn key(&self, partner: &str) -> String {
        let s = self.secrets.iter().find(|s| s.partner == partner).unwrap();
        format!("Bearer {}", s.api_key)
    }

    fn call(&self, method: &str, path: &str, partner: Option<&str>, body: Option<Value>) -> Resp {
        let key = partner.map(|p| self.key(p));
        let mut headers = Vec::new();
        if let Some(k) = &key {
            headers.push(("Authorization", k.as_str()));
        }
        let text = body.map(|b| b.to_string());
        if text.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let answer = http(
            method,
            &format!("{}{path}", self.base),
            &headers,
            text.as_deref(),
        );
        let body = answer.json();
        let (status, headers) = (answer.status, answer.headers);
        Resp {
            status,
            headers,
            body,
        }
    }

    fn new_case(&self, partner: &str, tlp: &str) -> Value {
        let r = self.call(
            "POST",
            "/api/cases/",
            Some(partner),
            Some(json!({"name": format!("{partner} {tlp}"), "seeds": [THIEF], "from": "2022-03-24", "tlp": tlp})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// The audit log (JSON lines), once it holds at least `min` entries
    /// (polled with a deadline: entries are stored before responses leave,
    /// the CLI reads them from the database).
    fn audit(&self, min: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let out = run_ok(&[
                "intel",
                "audit",
                "--config",
                self.config.to_str().unwrap(),
                "--format",
                "json",
            ]);
            let entries: Vec<Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if entries.len() >= min || std::time::Instant::now() > deadline {
                return entries;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// A TAXII error resource with this status.
fn assert_taxii_error(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["http_status"], status.to_string(), "{}", r.body);
    assert!(r.body["title"].is_string(), "{}", r.body);
}

#[test]
fn case_api_access_by_owner_and_tlp_with_taxii_errors_and_audit() {
    for db in case_dbs("case_api") {
        let s = start(db.as_deref());
        let backend = if db.is_some() { "postgres" } else { "sqlite" };

        // No credentials: 401 with a challenge, like every TAXII route.
        let r = s.call("GET", "/api/cases/", None, None);
        assert_taxii_error(&r, 401);
        assert!(r.header("www-authenticate").unwrap().contains("Basic"));

        let amber = s.new_case("us", "amber");
        let red = s.new_case("us", "red");
        let strict = s.new_case("us", "amber+strict");
        let amber_id = amber["id"].as_str().unwrap();
        let red_id = red["id"].as_str().unwrap();
        assert_eq!(amber["partner"], "us", "{backend}");
        assert_eq!(amber["status"], "open");
        assert_eq!(amber["seeds"], json!([THIEF]));

        // The owner lists all three; JP sees the AMBER one only.
        let ids = |r: &Resp| -> Vec<String> {
            r.body["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect()
        };
        let us_list = s.call("GET", "/api/cases/", Some("us"), None);
        assert_eq!(
            ids(&us_list),
            [amber_id, red_id, strict["id"].as_str().unwrap()],
            "{backend}"
        );
        let jp_list = s.call("GET", "/api/cases/", Some("jp"), None);
        assert_eq!(ids(&jp_list), [amber_id], "{backend}");
        assert_eq!(
            s.call("GET", &format!("/api/cases/{amber_id}/"), Some("jp"), None)
                .body["name"],
            "us amber"
        );
        // Hidden cases do not exist to other partners, nor do their alerts.
        for path in [
            format!("/api/cases/{red_id}/"),
            format!("/api/cases/{red_id}/alerts/"),
            format!("/api/cases/{red_id}/report?format=stix"),
        ] {
            assert_taxii_error(&s.call("GET", &path, Some("kr"), None), 404);
        }
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{red_id}/notes/"),
                Some("kr"),
                Some(json!({"text": "probe"})),
            ),
            404,
        );
        // Visible but not owned: read-only.
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{amber_id}/notes/"),
                Some("jp"),
                Some(json!({"text": "mine?"})),
            ),
            403,
        );
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{amber_id}/close/"),
                Some("jp"),
                None,
            ),
            403,
        );
        let noted = s.call(
            "POST",
            &format!("/api/cases/{amber_id}/notes/"),
            Some("us"),
            Some(json!({"text": "asked Binance to freeze"})),
        );
        assert_eq!(noted.status, 200, "{}", noted.body);
        assert_eq!(noted.body["notes"][0]["author"], "us");
        assert_eq!(noted.body["notes"][0]["text"], "asked Binance to freeze");

        // Bad input: 4xx TAXII errors naming the field; nothing stored.
        let bad = s.call(
            "POST",
            "/api/cases/",
            Some("us"),
            Some(json!({"name": "x", "seeds": ["0xdead"]})),
        );
        assert_taxii_error(&bad, 400);
        assert!(bad.body["description"].as_str().unwrap().contains("seed"));
        let unknown_field = s.call(
            "POST",
            "/api/cases/",
            Some("us"),
            Some(json!({"name": "x", "seeds": [THIEF], "partner": "jp"})),
        );
        assert_taxii_error(&unknown_field, 400);
        let wrong_type = ureq::post(&format!("{}/api/cases/", s.base))
            .set("Authorization", &s.key("us"))
            .set("Content-Type", "text/plain")
            .send_string("{}");
        match wrong_type {
            Err(ureq::Error::Status(415, _)) => {}
            other => panic!("expected 415, got {other:?}"),
        }
        assert_eq!(
            ids(&s.call("GET", "/api/cases/", Some("us"), None)).len(),
            3
        );
        assert_taxii_error(
            &s.call(
                "GET",
                &format!("/api/cases/{amber_id}/report?format=xml"),
                Some("us"),
                None,
            ),
            400,
        );
        assert_taxii_error(
            &s.call("GET", "/api/cases/?status=maybe", Some("us"), None),
            400,
        );

        // Reports: the trace over the store, and the STIX bundle.
        let report = s.call(
            "GET",
            &format!("/api/cases/{amber_id}/report?format=json"),
            Some("jp"),
            None,
        );
        assert_eq!(report.status, 200, "{}", report.body);
        assert_eq!(report.body["trace"]["endpoints"][0]["address"], EXCHANGE);
        assert_eq!(
            report.body["trace"]["endpoints"][0]["amount"],
            "60000000000000000000"
        );
        assert_eq!(report.body["attribution"][0]["name"], "Lazarus Group");
        let stix = s.call(
            "GET",
            &format!("/api/cases/{amber_id}/report?format=stix"),
            Some("us"),
            None,
        );
        assert_eq!(stix.status, 200);
        assert!(stix
            .header("content-type")
            .unwrap()
            .starts_with("application/stix+json"));
        let objects = stix.body["objects"].as_array().unwrap();
        let rep = objects.iter().find(|o| o["type"] == "report").unwrap();
        assert_eq!(rep["object_marking_refs"], json!([AMBER]));
        for o in objects {
            if let Err(issues) = tripoint_stix::validate(o) {
                panic!("{o}: {issues:?}");
            }
        }

        // Alerts the watch stored show through the API, to whoever sees the case.
        let cases = tripoint_case::open(&s.store, db.as_deref()).unwrap();
        let alert = json!({"alert_id": "alert-1", "case_id": amber_id, "kind": "service", "amount": "60000000000000000000"});
        assert!(cases.add_alert(amber_id, "alert-1", &alert).unwrap());
        let alerts = s.call(
            "GET",
            &format!("/api/cases/{amber_id}/alerts/"),
            Some("jp"),
            None,
        );
        assert_eq!(alerts.status, 200, "{}", alerts.body);
        assert_eq!(alerts.body["alerts"][0]["alert"], alert);
        assert_eq!(
            s.call(
                "GET",
                &format!("/api/cases/{red_id}/alerts/"),
                Some("us"),
                None
            )
            .body["alerts"],
            json!([])
        );

        // Closing: the owner once; a second close and a late note are 409s.
        let closed = s.call(
            "POST",
            &format!("/api/cases/{amber_id}/close/"),
            Some("us"),
            None,
        );
        assert_eq!(closed.status, 200, "{}", closed.body);
        assert_eq!(closed.body["status"], "closed");
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{amber_id}/close/"),
                Some("us"),
                None,
            ),
            409,
        );
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{amber_id}/notes/"),
                Some("us"),
                Some(json!({"text": "late"})),
            ),
            409,
        );
        let open_only = s.call("GET", "/api/cases/?status=open", Some("us"), None);
        assert!(!ids(&open_only).contains(&amber_id.to_string()));

        // Every response was audited, refusals included, with the case id.
        let entries = s.audit(20);
        let has = |partner: &str, action: &str, result: &str| {
            entries.iter().any(|e| {
                e["partner"] == partner
                    && e["action"] == action
                    && e["result"].as_str().unwrap().starts_with(result)
            })
        };
        assert!(has("us", "case-create", "ok"), "{entries:?}");
        assert!(has("kr", "case-show", "404"), "{entries:?}");
        assert!(has("jp", "case-note", "403"), "{entries:?}");
        assert!(has("us", "case-close", "409"), "{entries:?}");
        assert!(entries
            .iter()
            .any(|e| e["partner"] == "-" && e["result"].as_str().unwrap().starts_with("401")));
        assert!(entries
            .iter()
            .any(|e| e["action"] == "case-show" && e["object"] == red_id));
    }
}

#[test]
fn every_route_of_the_openapi_document_is_served() {
    let s = start(None);
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/case-api.openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        s.call("GET", "/api/openapi.json", Some("us"), None).body,
        doc,
        "the server serves the document in docs/"
    );
    let case = s.new_case("us", "green");
    let id = case["id"].as_str().unwrap();
    let mut ops: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_ascii_uppercase(), path.replace("{id}", id)));
        }
    }
    // Close last, so the routes before it act on an open case.
    ops.sort_by_key(|(_, p)| p.ends_with("/close/"));
    assert_eq!(ops.len(), tripoint_case::api::ROUTES.len());
    for (method, path) in ops {
        let body = match (method.as_str(), path.as_str()) {
            ("POST", "/api/cases/") => Some(json!({"name": "another", "seeds": [MULE]})),
            ("POST", p) if p.ends_with("/notes/") => Some(json!({"text": "a note"})),
            ("POST", p) if p.ends_with("/freezes/") => {
                Some(json!({"address": EXCHANGE, "asset": "ETH", "amount": "1"}))
            }
            _ => None,
        };
        let r = s.call(&method, &path, Some("us"), body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
    // And a path the document does not list is the exchange's unknown route.
    assert_taxii_error(
        &s.call(
            "GET",
            &format!("/api/cases/{id}/nothing/"),
            Some("us"),
            None,
        ),
        404,
    );
    assert_taxii_error(
        &s.call("DELETE", &format!("/api/cases/{id}/"), Some("us"), None),
        405,
    );
}

/// `case report --publish CONFIG:COLLECTION` posts the report's STIX bundle
/// into the exchange in one command, as the case's partner, with its TLP.
#[test]
fn case_report_is_published_into_the_exchange_with_one_command() {
    let tmp = tempfile::tempdir().unwrap();
    let st = small_store(tmp.path());
    let s = st.to_str().unwrap();
    let case: Value = serde_json::from_slice(
        &run_ok(&[
            "case",
            "new",
            "--store",
            s,
            "--name",
            "share",
            "--seed",
            THIEF,
            "--from",
            "2022-03-24",
            "--tlp",
            "amber",
            "--partner",
            "jp",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    let id = case["id"].as_str().unwrap();
    let config = tmp.path().join("exchange.toml");
    run_ok(&["intel", "init", "--config", config.to_str().unwrap()]);
    let target = format!("{}:indicators", config.display());
    let out = run_ok(&[
        "case",
        "report",
        "--store",
        s,
        id,
        "--format",
        "stix",
        "--publish",
        &target,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("objects stored"), "{err}");
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "report")
        .unwrap()
        .clone();
    // Read back as another partner through the exchange's service.
    let cfg = Config::load(&config).unwrap();
    let col = cfg
        .collections
        .iter()
        .find(|c| c.alias.as_deref() == Some("indicators"))
        .unwrap()
        .clone();
    let jp = cfg
        .partners
        .iter()
        .find(|p| p.id == "jp")
        .unwrap()
        .identity
        .clone();
    let store = tripoint_taxii::service::open_store(&cfg, &config).unwrap();
    let ex = tripoint_taxii::service::Exchange::new(store, cfg, None);
    let caller = tripoint_taxii::service::Caller {
        partner: "us".into(),
        identity: String::new(),
    };
    let page = ex
        .get_page(
            &caller,
            &col.api_root,
            &col.id,
            Some(report["id"].as_str().unwrap()),
            tripoint_taxii::service::Endpoint::Object,
            &tripoint_taxii::service::Filters::default(),
        )
        .unwrap();
    let env: Value = serde_json::from_str(&page.body).unwrap();
    let stored = &env["objects"][0];
    assert_eq!(stored["id"], report["id"]);
    assert_eq!(stored["created_by_ref"], jp.as_str());
    assert_eq!(stored["object_marking_refs"], json!([AMBER]));
}

/// `tripoint case ARGS --store S [--db URL]`.
fn case_cmd(s: &str, db: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = tripoint();
    cmd.arg("case")
        .arg(args[0])
        .args(["--store", s])
        .args(&args[1..])
        .env_remove("TRIPOINT_CASE_DB");
    if let Some(url) = db {
        cmd.args(["--db", url]);
    }
    cmd.output().unwrap()
}

fn case_ok(s: &str, db: Option<&str>, args: &[&str]) -> Vec<u8> {
    let out = case_cmd(s, db, args);
    assert!(
        out.status.success(),
        "case {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `case freeze ID --address A --asset ETH --amount N` followed by `extra`.
fn freeze_cmd(
    s: &str,
    db: Option<&str>,
    id: &str,
    address: &str,
    amount: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["freeze", id, "--address", address, "--asset", "ETH"];
    args.extend(["--amount", amount]);
    args.extend(extra);
    case_cmd(s, db, &args)
}

/// [`freeze_cmd`] that must succeed.
fn freeze_ok(s: &str, db: Option<&str>, id: &str, address: &str, amount: &str, extra: &[&str]) {
    let out = freeze_cmd(s, db, id, address, amount, extra);
    assert!(
        out.status.success(),
        "freeze {address} {amount} {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `case freeze` records a freeze (SQLite and PostgreSQL): every bad field
/// is refused by name with a non-zero exit and nothing stored; a reference
/// is recorded once; the report sets the freezes against the freeze
/// candidates (held 60 ETH at the exchange, 20 frozen, 40 still freezable)
/// as JSON, table and STIX.
#[test]
fn case_freeze_is_recorded_checked_and_reported() {
    for db in case_dbs("case_freeze") {
        let backend = if db.is_some() { "postgres" } else { "sqlite" };
        let db = db.as_deref();
        let tmp = tempfile::tempdir().unwrap();
        let st = small_store(tmp.path());
        let s = st.to_str().unwrap();
        let case: Value = serde_json::from_slice(&case_ok(
            s,
            db,
            &[
                "new",
                "--name",
                "drill",
                "--seed",
                THIEF,
                "--from",
                "2022-03-24",
                "--json",
            ],
        ))
        .unwrap();
        let id = case["id"].as_str().unwrap();
        // Bad input: the field is named, the exit is non-zero, nothing is stored.
        for (amount, extra, field) in [
            ("1.5", &[][..], "amount"),
            ("0", &[], "amount"),
            ("20", &["--partner", "CN"], "partner"),
            ("20", &["--time", "2999-01-01"], "time"),
            ("20", &["--time", "last week"], "time"),
        ] {
            let out = freeze_cmd(s, db, id, EXCHANGE, amount, extra);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{backend} {amount} {extra:?}");
            assert!(err.contains(field), "{backend} {amount} {extra:?}: {err}");
        }
        let out = freeze_cmd(s, db, id, "0xnope", "1", &[]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("address"));
        let out = freeze_cmd(s, db, "case-0", EXCHANGE, "1", &[]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no case with id 'case-0'"));
        let report = |fmt: &str| case_ok(s, db, &["report", id, "--format", fmt]);
        let json_report = || -> Value { serde_json::from_slice(&report("json")).unwrap() };
        let r = json_report();
        assert_eq!(r["freezes"], json!([]), "{backend}: nothing half-written");
        // Before any freeze, the whole 60 ETH held at the exchange is freezable.
        assert_eq!(
            r["freeze_status"],
            json!([{
                "address": EXCHANGE, "label": "Binance 20", "asset": "ETH",
                "held": "60000000000000000000", "frozen": "0",
                "still_freezable": "60000000000000000000", "candidate": true, "freezes": [],
            }]),
            "{backend}"
        );

        let f: Value = serde_json::from_slice(&case_ok(
            s,
            db,
            &[
                "freeze",
                id,
                "--address",
                &EXCHANGE.to_ascii_uppercase().replace("0X", "0x"),
                "--asset",
                "eth",
                "--amount",
                "20000000000000000000",
                "--partner",
                "kr",
                "--reference",
                "KoFIU-2022-17",
                "--time",
                "2022-03-26T09:30:00Z",
                "--note",
                "exchange confirmed by letter",
                "--recorded-by",
                "analyst-1",
                "--json",
            ],
        ))
        .unwrap();
        assert!(f["id"].as_str().unwrap().starts_with("freeze-"));
        assert_eq!(f["address"], EXCHANGE);
        assert_eq!(
            f["label"], "Binance 20",
            "the store's label names the service"
        );
        assert_eq!(
            (f["asset"].as_str(), f["amount"].as_str()),
            (Some("ETH"), Some("20000000000000000000"))
        );
        assert_eq!(
            (f["partner"].as_str(), f["reference"].as_str()),
            (Some("KR"), Some("KoFIU-2022-17"))
        );
        assert_eq!(f["time"], "2022-03-26T09:30:00Z");
        assert_eq!(f["recorded_by"], "analyst-1");
        // The same reference again: refused, not counted twice.
        let out = freeze_cmd(
            s,
            db,
            id,
            EXCHANGE,
            "20000000000000000000",
            &["--reference", "KoFIU-2022-17"],
        );
        assert!(!out.status.success(), "{backend}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("already recorded"));

        let r = json_report();
        assert_eq!(r["freezes"].as_array().unwrap().len(), 1, "{backend}");
        assert_eq!(r["freezes"][0], f);
        let line = &r["freeze_status"][0];
        assert_eq!(line["frozen"], "20000000000000000000", "{backend}");
        assert_eq!(line["still_freezable"], "40000000000000000000", "{backend}");
        assert_eq!(line["freezes"], json!([f["id"]]));
        let table = String::from_utf8(report("table")).unwrap();
        assert!(table.contains("FROZEN AND STILL FREEZABLE"), "{table}");
        assert!(
            table.contains("40000000000000000000") && table.contains("KoFIU-2022-17"),
            "{table}"
        );
        let bundle: Value = serde_json::from_slice(&report("stix")).unwrap();
        let rep = bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "report")
            .unwrap();
        let d = rep["description"].as_str().unwrap();
        assert!(
            d.contains(&format!(
                "Frozen 20000000000000000000 ETH (base units) at {EXCHANGE} (Binance 20)"
            )),
            "{d}"
        );
        assert!(
            d.contains(&format!(
                "Still freezable: 40000000000000000000 ETH (base units) at {EXCHANGE}"
            )),
            "{d}"
        );

        // More frozen than the trace says is held (untainted funds too): nothing
        // is left to freeze, never a negative amount. A freeze at an address
        // that is not a candidate (a token issuer at the mule) is listed too.
        freeze_ok(s, db, id, EXCHANGE, "50000000000000000000", &[]);
        freeze_ok(s, db, id, MULE, "1", &["--label", "issuer"]);
        // Closed cases still take freezes (the confirmation comes later).
        case_ok(s, db, &["close", id]);
        freeze_ok(s, db, id, MULE, "2", &[]);
        let r = json_report();
        assert_eq!(r["freezes"].as_array().unwrap().len(), 4, "{backend}");
        let lines = r["freeze_status"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["address"], EXCHANGE);
        assert_eq!(lines[0]["frozen"], "70000000000000000000");
        assert_eq!(lines[0]["still_freezable"], "0");
        assert_eq!(
            (
                lines[1]["address"].as_str(),
                lines[1]["label"].as_str(),
                lines[1]["frozen"].as_str(),
                lines[1]["candidate"].as_bool()
            ),
            (Some(MULE), Some("issuer"), Some("3"), Some(false))
        );
    }
}

/// The case API records freezes: the owner only (403 for a partner that
/// sees the case, 404 for one that does not), 400 naming the field, 409
/// for a reference recorded before; audited as `case-freeze`; the report
/// carries them.
#[test]
fn case_api_records_freezes_for_the_owner_only() {
    for db in case_dbs("case_api_freeze") {
        let backend = if db.is_some() { "postgres" } else { "sqlite" };
        let s = start(db.as_deref());
        let amber = s.new_case("us", "amber");
        let red = s.new_case("us", "red");
        let (amber_id, red_id) = (amber["id"].as_str().unwrap(), red["id"].as_str().unwrap());
        let path = format!("/api/cases/{amber_id}/freezes/");
        let body = json!({"address": EXCHANGE, "asset": "ETH", "amount": "7000000000000000000",
                          "partner": "JP", "reference": "JFSA-1", "time": "2022-03-26"});
        assert_taxii_error(&s.call("POST", &path, Some("jp"), Some(body.clone())), 403);
        assert_taxii_error(
            &s.call(
                "POST",
                &format!("/api/cases/{red_id}/freezes/"),
                Some("kr"),
                Some(body.clone()),
            ),
            404,
        );
        assert_taxii_error(
            &s.call(
                "GET",
                &format!("/api/cases/{red_id}/freezes/"),
                Some("kr"),
                None,
            ),
            404,
        );
        let mut bad = body.clone();
        bad["amount"] = json!("7 ETH");
        let r = s.call("POST", &path, Some("us"), Some(bad));
        assert_taxii_error(&r, 400);
        assert!(
            r.body["description"].as_str().unwrap().contains("amount"),
            "{}",
            r.body
        );
        let r = s.call("POST", &path, Some("us"), Some(body.clone()));
        assert_eq!(r.status, 201, "{backend}: {}", r.body);
        assert_eq!(r.body["recorded_by"], "us");
        assert_eq!(r.body["label"], "Binance 20");
        assert_eq!(r.header("location"), Some(path.as_str()));
        assert_taxii_error(&s.call("POST", &path, Some("us"), Some(body)), 409);
        // Every partner that sees the case sees its freezes.
        let listed = s.call("GET", &path, Some("jp"), None);
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["freezes"], json!([r.body.clone()]), "{backend}");
        let report = s.call(
            "GET",
            &format!("/api/cases/{amber_id}/report?format=json"),
            Some("jp"),
            None,
        );
        assert_eq!(
            report.body["freeze_status"][0]["frozen"],
            "7000000000000000000"
        );
        assert_eq!(
            report.body["freeze_status"][0]["still_freezable"],
            "53000000000000000000"
        );
        let entries = s.audit(10);
        let freeze_results: Vec<&str> = entries
            .iter()
            .filter(|e| e["action"] == "case-freeze")
            .map(|e| e["result"].as_str().unwrap())
            .collect();
        assert_eq!(freeze_results.len(), 5, "{backend}: {freeze_results:?}");
        // Refusals carry their status, the success "ok".
        for code in ["403", "404", "400", "ok", "409"] {
            assert!(
                freeze_results.iter().any(|r| r.starts_with(code)),
                "{code}: {freeze_results:?}"
            );
        }
    }
}
