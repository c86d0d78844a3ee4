//! Integration tests: the web console over HTTP (the browser suite is in
//! tests/console/). A real `tripoint serve` on loopback: the session and
//! sign-in cookies' flags, CSRF refusals, the Content-Security-Policy, that
//! the cookie opens the console only, and that every console request is in
//! the audit like a TAXII request.

use crate::common::{http, spawn_serve, tripoint};
use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use tripoint_taxii::config::{Config, IssuedSecrets};

struct Server {
    child: Child,
    base: String,
    config: std::path::PathBuf,
    secrets: Vec<IssuedSecrets>,
    admin: IssuedSecrets,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, secrets) = Config::trilateral("intel.db").unwrap();
    let admin = cfg.issue_admin().unwrap();
    let config = dir.path().join("intel.toml");
    cfg.save(&config).unwrap();
    let (child, base) = spawn(&config);
    Server {
        child,
        base,
        config,
        secrets,
        admin,
        _dir: dir,
    }
}

fn spawn(config: &Path) -> (Child, String) {
    let mut cmd = tripoint();
    cmd.args(["serve", "--config"]).arg(config).args([
        "--listen",
        "127.0.0.1:0",
        "--ews-synthetic",
        "7",
    ]);
    spawn_serve(cmd)
}

struct Resp {
    status: u16,
    headers: HashMap<String, Vec<String>>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map_or("", String::as_str)
    }
    /// The `Set-Cookie` header that sets `name`.
    fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get("set-cookie")?
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }
}

/// A cookie's value from its `Set-Cookie` header.
fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// The value of the hidden `csrf` field of a page's form.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl Server {
    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], form: Option<&str>) -> Resp {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if form.is_some() {
            all.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let answer = http(method, &format!("{}{path}", self.base), &all, form);
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in answer.headers {
            headers.entry(name).or_default().push(value);
        }
        let (status, body) = (answer.status, answer.text);
        Resp {
            status,
            headers,
            body,
        }
    }

    fn partner(&self, id: &str) -> &IssuedSecrets {
        self.secrets.iter().find(|s| s.partner == id).unwrap()
    }

    /// Sign in through the form; the session cookie's `Set-Cookie` header.
    fn sign_in(&self, id: &str) -> String {
        let form = self.call("GET", "/console/login", &[], None);
        let token = cookie_value(form.set_cookie("tripoint_login").unwrap());
        let s = self.partner(id);
        let r = self.call(
            "POST",
            "/console/login",
            &[("Cookie", &format!("tripoint_login={token}"))],
            Some(&format!(
                "csrf={}&username={}&password={}",
                csrf_of(&form.body),
                s.username,
                s.password
            )),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        r.set_cookie("tripoint_session").unwrap().to_string()
    }

    /// The audit as JSON lines, through the admin CLI.
    fn audit(&self) -> Vec<serde_json::Value> {
        let out = tripoint()
            .args(["intel", "audit", "--format", "json", "--config"])
            .arg(&self.config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn console_sign_in_cookies_csrf_csp_and_audit() {
    let s = start();

    // Not signed in: a console page sends to the sign-in form.
    let r = s.call("GET", "/console/intel/", &[], None);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/console/login");

    // The sign-in form: strict CSP, a double-submit token in a cookie scoped to it.
    let form = s.call("GET", "/console/login", &[], None);
    assert_eq!(form.status, 200);
    assert_eq!(
        form.header("content-security-policy"),
        tripoint_console::CSP
    );
    assert!(tripoint_console::CSP.contains("default-src 'none'"));
    assert!(tripoint_console::CSP.contains("script-src 'self'"));
    assert!(!tripoint_console::CSP.contains("unsafe"));
    assert_eq!(form.header("x-frame-options"), "DENY");
    let login = form.set_cookie("tripoint_login").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console/login"] {
        assert!(login.contains(flag), "{login}");
    }
    assert!(!login.contains("Secure"), "plain HTTP: {login}");
    let token = cookie_value(login);
    assert_eq!(csrf_of(&form.body), token);
    let us = s.partner("us");
    let cookie = format!("tripoint_login={token}");

    // A form without the token, or with another one, is refused before any
    // password is checked.
    for bad in ["", "csrf=forged"] {
        let r = s.call(
            "POST",
            "/console/login",
            &[("Cookie", &cookie)],
            Some(&format!(
                "{bad}&username={}&password={}",
                us.username, us.password
            )),
        );
        assert_eq!(r.status, 403, "{bad}: {}", r.body);
        assert!(r.set_cookie("tripoint_session").is_none());
    }
    // Without the cookie, the right token is refused too (no double submit).
    let r = s.call(
        "POST",
        "/console/login",
        &[],
        Some(&format!(
            "csrf={token}&username={}&password={}",
            us.username, us.password
        )),
    );
    assert_eq!(r.status, 403);
    // A wrong password: 401, no session.
    let r = s.call(
        "POST",
        "/console/login",
        &[("Cookie", &cookie)],
        Some(&format!(
            "csrf={token}&username={}&password=wrong",
            us.username
        )),
    );
    assert_eq!(r.status, 401);
    assert!(r.set_cookie("tripoint_session").is_none());

    // The right one: a session cookie, HttpOnly, SameSite=Strict, expiring,
    // for the console's path only.
    let session = s.sign_in("us");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console/",
        "Max-Age=28800",
    ] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"));
    let jar = format!("tripoint_session={}", cookie_value(&session));
    let page = s.call("GET", "/console/intel/", &[("Cookie", &jar)], None);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-security-policy"),
        tripoint_console::CSP
    );
    assert!(page.body.contains("Indicators: wallets, domains"));
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains("style="), "no inline style");

    // The cookie opens the console, not the TAXII API.
    let taxii = s.call("GET", "/taxii2/", &[("Cookie", &jar)], None);
    assert_eq!(taxii.status, 401);
    // A forged cookie opens nothing.
    let forged = s.call(
        "GET",
        "/console/intel/",
        &[("Cookie", "tripoint_session=AAAA")],
        None,
    );
    assert_eq!(forged.status, 303);

    // Sign-out needs the session's CSRF token.
    let csrf = csrf_of(&page.body);
    let r = s.call("POST", "/console/logout", &[("Cookie", &jar)], Some(""));
    assert_eq!(r.status, 403);
    let r = s.call(
        "POST",
        "/console/logout",
        &[("Cookie", &jar)],
        Some("csrf=not-the-token"),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        s.call("GET", "/console/", &[("Cookie", &jar)], None).status,
        200,
        "a refused sign-out leaves the session"
    );
    let r = s.call(
        "POST",
        "/console/logout",
        &[("Cookie", &jar)],
        Some(&format!("csrf={csrf}")),
    );
    assert_eq!(r.status, 303);
    assert!(r
        .set_cookie("tripoint_session")
        .unwrap()
        .contains("Max-Age=0"));
    let after = s.call("GET", "/console/intel/", &[("Cookie", &jar)], None);
    assert_eq!(after.status, 303, "the old cookie is dead");

    // Every one of those requests is in the audit, by the same gate.
    let audit = s.audit();
    let has = |partner: &str, action: &str, result: &str| {
        audit.iter().any(|e| {
            e["partner"] == partner
                && e["action"] == action
                && e["result"].as_str().unwrap_or("").starts_with(result)
        })
    };
    assert!(has("-", "console-sign-in-required", "303"), "{audit:#?}");
    assert!(has("-", "console-sign-in-page", "ok"));
    assert!(has("-", "console-sign-in", "403"));
    assert!(has("-", "console-sign-in", "401"));
    assert!(has("us", "console-sign-in", "303"));
    assert!(has("us", "console-intel", "ok"));
    assert!(has("us", "console-sign-out", "403"));
    assert!(has("us", "console-sign-out", "303"));
    assert!(audit
        .iter()
        .all(|e| e["target"].as_str().unwrap_or("").len() < 600));
}

#[test]
fn console_audit_page_is_for_operators_and_basic_works_too() {
    let s = start();
    // Basic credentials open the console as they open TAXII (tools, scripts).
    let us = s.partner("us");
    let basic = tripoint_taxii::auth::basic_authorization(&us.username, &us.password);
    let r = s.call("GET", "/console/audit/", &[("Authorization", &basic)], None);
    assert_eq!(r.status, 403, "partners do not read the audit");
    let admin = tripoint_taxii::auth::basic_authorization(&s.admin.username, &s.admin.password);
    let r = s.call(
        "GET",
        "/console/audit/?q=console-audit",
        &[("Authorization", &admin)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("403"), "the partner's refusal is listed");
    // The board and its chart data.
    let r = s.call("GET", "/console/ews/", &[("Authorization", &basic)], None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.matches("<td class=\"level level-").count(),
        tripoint_ews::Mineral::ALL.len() * 3
    );
    let r = s.call(
        "GET",
        "/console/ews/series.json?mineral=lithium&at=2024-12-31",
        &[("Authorization", &basic)],
        None,
    );
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["mineral"], "lithium");
    assert_eq!(v["synthetic"], true);
    let r = s.call(
        "GET",
        "/console/ews/series.json?mineral=unobtainium",
        &[("Authorization", &basic)],
        None,
    );
    assert_eq!(r.status, 400);
}

/// The rows of the audit page's table, cells unescaped, and the link to the
/// next (older) page if there is one.
fn audit_rows(html: &str) -> (Vec<Vec<String>>, Option<String>) {
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let mut rows = vec![];
    if let Some(at) = html.find("id=\"audit-entries\"") {
        let table = &html[at..html[at..].find("</table>").map_or(html.len(), |e| at + e)];
        for tr in table.split("<tr>").skip(1) {
            let cells: Vec<String> = tr
                .split("<td>")
                .skip(1)
                .map(|c| unescape(&c[..c.find("</td>").unwrap()]))
                .collect();
            if !cells.is_empty() {
                rows.push(cells);
            }
        }
    }
    let next = html.find("\" rel=\"next\"").map(|end| {
        let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
        unescape(&html[start..end])
    });
    (rows, next)
}

#[test]
fn console_audit_pages_and_search_list_every_entry_once_newest_first() {
    let s = start();
    // 130 requests of three partners, each its own audit entry.
    let basic: Vec<String> = ["us", "jp", "kr"]
        .iter()
        .map(|p| {
            let p = s.partner(p);
            tripoint_taxii::auth::basic_authorization(&p.username, &p.password)
        })
        .collect();
    for i in 0..130 {
        let r = s.call(
            "GET",
            &format!("/console/probe-{i}"),
            &[("Authorization", &basic[i % 3])],
            None,
        );
        assert_eq!(r.status, 404, "{}", r.body);
    }
    let admin = tripoint_taxii::auth::basic_authorization(&s.admin.username, &s.admin.password);
    // Walk the pages by their "older" links, as a reader would.
    let walk = |first: &str| {
        let (mut rows, mut pages, mut before) = (vec![], 0, None);
        let mut next = Some(first.to_string());
        while let Some(path) = next {
            let r = s.call("GET", &path, &[("Authorization", &admin)], None);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let (page, more) = audit_rows(&r.body);
            assert!(page.len() <= 50, "{path}");
            if more.is_some() {
                assert_eq!(page.len(), 50, "{path}: a page with an older one is full");
            }
            if let Some(link) = &more {
                let b = link
                    .split("before=")
                    .nth(1)
                    .unwrap()
                    .split('&')
                    .next()
                    .unwrap();
                assert!(
                    before.is_none_or(|x: i64| x.to_string() == b),
                    "{link}: one anchor"
                );
                before = Some(b.parse::<i64>().unwrap());
            }
            rows.extend(page);
            pages += 1;
            next = more;
        }
        (rows, pages, before)
    };
    let (listed, pages, before) = walk("/console/audit/");
    assert!(pages >= 3, "{pages} pages");
    // The same entries, newest first, as the admin CLI reads them (the
    // walk's own page views are newer than its anchor and not listed).
    let before = before.unwrap();
    let all = s.audit();
    let row = |e: &serde_json::Value| -> Vec<String> {
        ["at", "partner", "action", "target", "result"]
            .iter()
            .map(|k| e[*k].as_str().unwrap().to_string())
            .collect()
    };
    let at_us = |e: &serde_json::Value| {
        tripoint_taxii::model::parse_micros(e["at"].as_str().unwrap()).unwrap()
    };
    let expected: Vec<Vec<String>> = all
        .iter()
        .rev()
        .filter(|e| at_us(e) < before)
        .map(row)
        .collect();
    assert!(expected.len() >= 130, "{}", expected.len());
    assert_eq!(listed, expected);
    for i in 0..130 {
        let target = format!("/console/probe-{i}");
        assert_eq!(
            listed.iter().filter(|r| r[3] == target).count(),
            1,
            "{target}"
        );
    }
    // A search over several pages: every match once, newest first, and only
    // matches (in any field, whatever the case).
    let hit = |e: &serde_json::Value, needle: &str| {
        ["partner", "action", "target", "result", "object"]
            .iter()
            .any(|k| {
                e[*k]
                    .as_str()
                    .is_some_and(|v| v.to_lowercase().contains(needle))
            })
    };
    for (q, needle, least) in [
        ("PROBE-", "probe-", 130),
        ("probe-12", "probe-12", 11),
        ("kr", "kr", 43),
    ] {
        let (found, pages, before) = walk(&format!("/console/audit/?q={q}"));
        let before = before.unwrap_or(i64::MAX);
        let expected: Vec<Vec<String>> = s
            .audit()
            .iter()
            .rev()
            .filter(|e| at_us(e) < before && hit(e, needle))
            .map(row)
            .collect();
        assert!(expected.len() >= least, "{q}: {}", expected.len());
        assert_eq!(found, expected, "{q} ({pages} pages)");
    }
    // A search that matches nothing says so.
    let r = s.call(
        "GET",
        "/console/audit/?q=no-such-entry-anywhere",
        &[("Authorization", &admin)],
        None,
    );
    assert_eq!(audit_rows(&r.body), (vec![], None));
    assert!(r.body.contains("id=\"audit-entries\""), "{}", r.body);
}

#[test]
fn console_cookies_are_secure_under_tls() {
    let tools = ["openssl", "curl"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok()
    });
    if !tools {
        eprintln!("skipped: openssl or curl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, secrets) = Config::trilateral("intel.db").unwrap();
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-keyout", "server.key", "-out", "server.crt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    cfg.tls = Some(tripoint_taxii::config::TlsConfig {
        cert: "server.crt".into(),
        key: "server.key".into(),
    });
    let config = dir.path().join("intel.toml");
    cfg.save(&config).unwrap();
    let (child, base) = spawn(&config);
    let _guard = Server {
        child,
        base: base.clone(),
        config: config.clone(),
        secrets: vec![],
        admin: secrets[0].clone(),
        _dir: dir,
    };
    assert!(base.starts_with("https://"), "{base}");
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sk", "-D", "-", "-o", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let page = std::process::Command::new("curl")
        .args(["-sk", "-c", "-"])
        .arg(format!("{base}/console/login"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&page.stdout).to_string();
    let token = csrf_of(&text);
    let head = curl(&[&format!("{base}/console/login")]);
    let login = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: tripoint_login=")
        })
        .unwrap_or_else(|| panic!("{head}"));
    assert!(login.contains("; Secure"), "{login}");
    let us = &secrets[0];
    let head = curl(&[
        "-H",
        &format!("Cookie: tripoint_login={token}"),
        "--data",
        &format!(
            "csrf={token}&username={}&password={}",
            us.username, us.password
        ),
        &format!("{base}/console/login"),
    ]);
    let session = head
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: tripoint_session=")
        })
        .unwrap_or_else(|| panic!("{head}"));
    for flag in ["; Secure", "HttpOnly", "SameSite=Strict", "Max-Age="] {
        assert!(session.contains(flag), "{session}");
    }
}
