//! Case pages over the case store of `tripoint serve --case-store DIR`: the
//! list, a case page (graph canvas drawn in the browser with the embedded
//! Cytoscape.js, endpoints and freeze candidates with the partner that has
//! jurisdiction, notes, exports, sharing as a STIX report), and the data the
//! page draws (`graph.json`), the tainted transfers as CSV and the STIX
//! bundle.
//!
//! Who sees and who writes a case is decided by the case API's own
//! functions (`tripoint_case::api::{visible, may_see, may_write}`), and a
//! shared report goes in through `Exchange::add_objects`, the TAXII POST
//! path, so the console cannot show or do more than the APIs allow.

use crate::html::{csrf_field, esc, url};
use crate::i18n::Msg;
use crate::login::check_csrf;
use crate::{blocking, error_page, respond, Console, ConsoleError, Ctx};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tripoint_case::api::{may_see, may_write, visible};
use tripoint_case::{build_case_report_traced, Case, CaseDb, CaseError, CaseReport, Status};
use tripoint_chain::{Amount, AssetId, TransferGraph};
use tripoint_store::Store;
use tripoint_taxii::server::audit_note;
use tripoint_taxii::service::Caller;
use tripoint_trace::report::{asset_key, final_balance, rfc3339};

/// A traced view and the store MANIFEST time it was traced at.
type CachedView = (Option<SystemTime>, Arc<CaseView>);

/// The case store the console reads: the case database and the transfer
/// store the cases are traced over (the same ones the case API serves).
pub struct CaseStore {
    db: Arc<dyn CaseDb>,
    store_dir: PathBuf,
    /// Traced views by case id, valid while the store's MANIFEST is unchanged.
    views: Mutex<HashMap<String, CachedView>>,
}

impl CaseStore {
    pub fn new(db: Arc<dyn CaseDb>, store_dir: PathBuf) -> Self {
        CaseStore {
            db,
            store_dir,
            views: Mutex::new(HashMap::new()),
        }
    }

    pub fn db(&self) -> &Arc<dyn CaseDb> {
        &self.db
    }

    fn manifest_time(&self) -> Option<SystemTime> {
        std::fs::metadata(self.store_dir.join("MANIFEST"))
            .and_then(|m| m.modified())
            .ok()
    }

    /// The case traced over the store (cached until the store changes).
    fn view(&self, case: &Case, partners: &[String]) -> Result<Arc<CaseView>, ConsoleError> {
        let stamp = self.manifest_time();
        let key = format!("{}/{}/{}", case.id, case.policy, case.max_hops);
        if let Some((s, v)) = self.views.lock().expect("view cache lock").get(&key) {
            if *s == stamp && stamp.is_some() {
                return Ok(v.clone());
            }
        }
        let view = Arc::new(CaseView::build(&self.store_dir, case, partners)?);
        self.views
            .lock()
            .expect("view cache lock")
            .insert(key, (stamp, view.clone()));
        Ok(view)
    }
}

/// A case traced over the store: the report, the graph the page draws, and
/// the tainted transfers.
struct CaseView {
    report: CaseReport,
    /// Per address: jurisdictions of its labels (ISO codes, upper case).
    jurisdictions: BTreeMap<String, Vec<String>>,
    /// `graph.json`, serialised once per trace (a clone shares the bytes).
    graph: Bytes,
    transfers: Vec<TransferOut>,
}

struct TransferOut {
    tx: String,
    time: i64,
    from: String,
    to: String,
    asset: String,
    amount: String,
    tainted: String,
}

fn case_err(e: CaseError) -> ConsoleError {
    match e {
        CaseError::NotFound(id) => ConsoleError::NotFound(format!("case {id}")),
        CaseError::Invalid { field, msg } => ConsoleError::BadRequest(format!("{field}: {msg}")),
        CaseError::Closed(id) => ConsoleError::BadRequest(format!("case {id} is closed")),
        CaseError::Duplicate(msg) => ConsoleError::BadRequest(msg),
        other => ConsoleError::Internal(other.to_string()),
    }
}

/// Share of `part` in `whole` as a percentage with two decimals, in integers.
fn percent(part: Amount, whole: Amount) -> String {
    if whole == Amount::ZERO {
        return "—".into();
    }
    let bp = (part.min(whole) * Amount::from(10_000u64)) / whole;
    // At most 10,000: part is capped at whole.
    let bp = bp.as_u64();
    format!("{}.{:02} %", bp / 100, bp % 100)
}

impl CaseView {
    fn build(
        store_dir: &std::path::Path,
        case: &Case,
        partners: &[String],
    ) -> Result<CaseView, ConsoleError> {
        let store = open_store(store_dir)?;
        let (report, traced) = build_case_report_traced(&store, case).map_err(case_err)?;
        let native = report.chain.unwrap_or(tripoint_chain::Chain::Ethereum);
        let mut jurisdictions = BTreeMap::new();
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut transfers = Vec::new();
        if let (Some(trace), Some(result)) = (&report.trace, &traced) {
            let endpoints: HashMap<&str, bool> = trace
                .endpoints
                .iter()
                .map(|e| (e.address.as_str(), e.freeze_candidate))
                .collect();
            let mut keys: HashMap<AssetId, String> = HashMap::new();
            let mut key_of = |a: AssetId| {
                keys.entry(a)
                    .or_insert_with(|| asset_key(&store, a, native))
                    .clone()
            };
            // The store ids of `nodes`, in order.
            let mut members = Vec::new();
            for n in &result.nodes {
                let address = store.address(n.addr).to_string();
                let Some(out) = trace.addresses.iter().find(|a| a.address == address) else {
                    continue;
                };
                let labels = store.labels(n.addr);
                let mut juris: Vec<String> = labels
                    .iter()
                    .flat_map(|l| l.attribution.jurisdictions.iter())
                    .map(|j| j.to_ascii_uppercase())
                    .collect();
                juris.sort();
                juris.dedup();
                let mut balance = serde_json::Map::new();
                let mut exposure = serde_json::Map::new();
                for (asset, got) in result.received_of(n.addr) {
                    let key = key_of(asset);
                    let b = final_balance(&store, n.addr, asset);
                    balance.insert(key.clone(), json!(trace.amount(&key, &b.to_string())));
                    let total = store
                        .incoming(n.addr)
                        .map(|id| store.transfer(id))
                        .filter(|r| r.asset == asset && r.src != r.dst)
                        .fold(Amount::ZERO, |s, r| s + r.amount);
                    exposure.insert(key, json!(percent(got, total)));
                }
                let shown = |m: &BTreeMap<String, String>| -> Value {
                    m.iter()
                        .map(|(k, v)| (k.clone(), json!(trace.amount(k, v))))
                        .collect::<serde_json::Map<_, _>>()
                        .into()
                };
                nodes.push(json!({
                    "id": address,
                    "hops": out.hops,
                    "role": out.role,
                    "seed": case.seeds.contains(&address),
                    "endpoint": endpoints.contains_key(address.as_str()),
                    "freeze": endpoints.get(address.as_str()).copied().unwrap_or(false),
                    "labels": labels.iter().map(|l| json!({
                        "label": l.label,
                        "category": l.category.to_string(),
                        "actor": l.attribution.actor,
                        "jurisdictions": l.attribution.jurisdictions,
                    })).collect::<Vec<_>>(),
                    "partner": partner_of(partners, &juris),
                    "jurisdictions": juris,
                    "taint": shown(&out.taint),
                    "held": shown(&out.held),
                    "balance": balance,
                    "exposure": exposure,
                    "first_tainted": out.first_tainted,
                    "patterns": out.patterns,
                }));
                jurisdictions.insert(address, juris);
                members.push(n.addr);
            }
            let clusters = clusters_of(&store, &members, native);
            for (node, addr) in nodes.iter_mut().zip(&members) {
                node["cluster"] = clusters.get(addr).map_or(Value::Null, |c| json!(c));
            }
            for f in &result.flows {
                let row = store.transfer(f.id);
                let key = key_of(row.asset);
                let from = store.address(row.src).to_string();
                let to = store.address(row.dst).to_string();
                let tx = store.tx_hash(f.id).to_string();
                let decimals = trace.asset(&key).and_then(|a| a.decimals).unwrap_or(0);
                edges.push(json!({
                    "id": format!("t{}", f.id),
                    "source": from,
                    "target": to,
                    "asset": key,
                    "symbol": trace.asset_label(&key),
                    "decimals": decimals,
                    "amount": f.carried.to_string(),
                    "shown": trace.amount(&key, &f.carried.to_string()),
                    "time": row.timestamp,
                    "tx": tx,
                }));
                transfers.push(TransferOut {
                    tx,
                    time: row.timestamp,
                    from,
                    to,
                    asset: trace.asset_label(&key).to_string(),
                    amount: trace.units(&key, &row.amount.to_string()),
                    tainted: trace.units(&key, &f.carried.to_string()),
                });
            }
        }
        let assets: serde_json::Map<String, Value> = report
            .trace
            .as_ref()
            .map(|t| {
                t.assets
                    .iter()
                    .map(|(k, a)| {
                        (
                            k.clone(),
                            json!({"symbol": t.asset_label(k), "decimals": a.decimals}),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let graph = json!({
            "case": case.id,
            "seeds": case.seeds,
            "assets": assets,
            "nodes": nodes,
            "edges": edges,
        });
        Ok(CaseView {
            report,
            jurisdictions,
            graph: Bytes::from(graph.to_string()),
            transfers,
        })
    }
}

/// A group of a case's addresses that one entity controls, drawn as a
/// compound node: `id`, `name`, and `basis` (`actor`: labels naming the same
/// actor; `deposit`: the exchange's deposit addresses, by the deposit-address
/// heuristic of `tripoint_trace::cluster`; `multi-input`: Bitcoin addresses
/// spent together in one transaction that is not a CoinJoin, by its
/// common-input-ownership heuristic).
#[derive(serde::Serialize, Clone)]
struct Cluster {
    id: String,
    name: String,
    basis: &'static str,
}

/// The clusters of a case's addresses (only groups of two or more of them):
/// addresses whose labels name the same actor; and an exchange's deposit
/// addresses (an unlabelled address that pays only that exchange's hot
/// wallet, `tripoint_trace::cluster::deposit_addresses`) with its hot wallet;
/// on Bitcoin, addresses of one multi-input cluster
/// (`tripoint_trace::cluster::multi_input`, CoinJoins left out) that no
/// label already groups.
fn clusters_of(
    store: &Store,
    members: &[tripoint_chain::AddrId],
    chain: tripoint_chain::Chain,
) -> HashMap<tripoint_chain::AddrId, Cluster> {
    use tripoint_chain::Category;
    let mut of: HashMap<tripoint_chain::AddrId, Cluster> = HashMap::new();
    let mut hot = Vec::new();
    for &a in members {
        let labels = store.labels(a);
        if labels.iter().any(|l| l.category == Category::Exchange) {
            hot.push(a);
        }
        if let Some((actor, label)) = labels
            .iter()
            .find_map(|l| l.attribution.actor.as_ref().map(|x| (x, &l.label)))
        {
            of.insert(
                a,
                Cluster {
                    id: format!("actor:{actor}"),
                    name: format!("{actor} ({label})"),
                    basis: "actor",
                },
            );
        }
    }
    let in_case: std::collections::HashSet<_> = members.iter().copied().collect();
    for (d, h) in tripoint_trace::cluster::deposit_addresses(store, &hot) {
        if !in_case.contains(&d) || of.contains_key(&d) {
            continue;
        }
        let c = of.get(&h).cloned().unwrap_or_else(|| {
            let label = store
                .labels(h)
                .into_iter()
                .next()
                .map(|l| l.label)
                .unwrap_or_default();
            Cluster {
                id: format!("wallet:{}", store.address(h)),
                name: label,
                basis: "deposit",
            }
        });
        of.entry(h).or_insert_with(|| c.clone());
        of.insert(
            d,
            Cluster {
                basis: "deposit",
                ..c
            },
        );
    }
    if chain == tripoint_chain::Chain::Bitcoin {
        let rules = tripoint_trace::cluster::CoinJoinRules::default();
        let (uf, _) = tripoint_trace::cluster::multi_input(store, &rules);
        let mut wallets: BTreeMap<tripoint_chain::AddrId, Vec<tripoint_chain::AddrId>> =
            BTreeMap::new();
        for &a in members {
            if !of.contains_key(&a) {
                wallets.entry(uf.root(a)).or_default().push(a);
            }
        }
        for (root, addrs) in wallets.into_iter().filter(|(_, v)| v.len() >= 2) {
            // Named by a member's label when one has one, else by the
            // address that stands for the wallet.
            let name = addrs
                .iter()
                .find_map(|&a| store.labels(a).into_iter().next().map(|l| l.label))
                .unwrap_or_else(|| format!("wallet {}", store.address(root)));
            for a in addrs {
                of.insert(
                    a,
                    Cluster {
                        id: format!("multi-input:{}", store.address(root)),
                        name: name.clone(),
                        basis: "multi-input",
                    },
                );
            }
        }
    }
    // A compound node of one address says nothing.
    let mut size: HashMap<String, usize> = HashMap::new();
    for c in of.values() {
        *size.entry(c.id.clone()).or_default() += 1;
    }
    of.retain(|_, c| size[&c.id] >= 2);
    of
}

/// Open the transfer store (`Store::open` waits out a writer that is
/// publishing merged files under it).
fn open_store(dir: &std::path::Path) -> Result<Store, ConsoleError> {
    Store::open(dir).map_err(|e| ConsoleError::Internal(format!("opening the case store: {e}")))
}

/// The partner with jurisdiction over an address: a partner whose id is one
/// of the address's jurisdictions (`us` for `US`, …).
fn partner_of(partners: &[String], juris: &[String]) -> Option<String> {
    juris
        .iter()
        .find_map(|j| partners.iter().find(|p| p.eq_ignore_ascii_case(j)).cloned())
}

/// "us (US)": the partner with jurisdiction and the jurisdictions; or the
/// jurisdictions alone; or "—".
fn partner_text(partners: &[String], juris: &[String]) -> String {
    match (partner_of(partners, juris), juris.is_empty()) {
        (Some(p), _) => format!("{p} ({})", juris.join(", ")),
        (None, false) => juris.join(", "),
        (None, true) => "—".into(),
    }
}

fn partner_ids(c: &Console) -> Vec<String> {
    c.exchange
        .snapshot()
        .config
        .partners
        .iter()
        .map(|p| p.id.clone())
        .collect()
}

/// The words the browser's address panel and path list show.
fn panel_words(lang: crate::i18n::Lang) -> Value {
    let t = |m: Msg| m.text(lang);
    json!({
        "address": t(Msg::Address), "labels": t(Msg::Labels), "actor": t(Msg::Actor),
        "jurisdiction": t(Msg::Jurisdiction), "balance": t(Msg::Balance),
        "tainted": t(Msg::Tainted), "held": t(Msg::HeldNow), "exposure": t(Msg::Exposure),
        "first": t(Msg::FirstTainted), "hops": t(Msg::Hops), "role": t(Msg::Role),
        "freeze": t(Msg::FreezeCandidate), "partner": t(Msg::JurisdictionPartner),
        "nopath": t(Msg::NoPath), "shown": t(Msg::NodesShown),
        "cluster": t(Msg::Cluster), "members": t(Msg::Members),
    })
}

fn tlp_badge(tlp: &str) -> String {
    let class = tlp.to_ascii_lowercase().replace('+', "-");
    format!(
        "<span class=\"tlp tlp-{}\">TLP:{}</span>",
        esc(&class),
        esc(&tlp.to_ascii_uppercase())
    )
}

fn cases_of(c: &Console) -> Result<&CaseStore, ConsoleError> {
    c.cases.as_ref().ok_or(ConsoleError::NotFound(
        "no case store on this server (tripoint serve --case-store DIR)".into(),
    ))
}

/// A case the caller may see, through the case API's own rule.
fn case_for(c: &Console, caller: &Caller, id: &str) -> Result<Case, ConsoleError> {
    visible(cases_of(c)?.db.as_ref(), caller, id).map_err(case_err)
}

pub(crate) async fn list(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let lang = ctx.lang;
            let c2 = c.clone();
            blocking(move || {
                let t = |m: Msg| m.text(lang);
                let mut body = format!("<p>{}</p>", esc(t(Msg::CasesIntro)));
                let Some(store) = c2.cases.as_ref() else {
                    body.push_str(&format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(t(Msg::NoCaseService))
                    ));
                    return Ok((t(Msg::Cases).to_string(), body, None));
                };
                let cases: Vec<Case> = store
                    .db
                    .list()
                    .map_err(case_err)?
                    .into_iter()
                    .filter(|k| may_see(k, &caller))
                    .rev()
                    .collect();
                if cases.is_empty() {
                    body.push_str(&format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(t(Msg::NoCases))
                    ));
                    return Ok((t(Msg::Cases).to_string(), body, None));
                }
                body.push_str(&format!(
                    "<table class=\"list cases\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                    esc(t(Msg::Cases)),
                    esc(t(Msg::Name)),
                    esc(t(Msg::Tlp)),
                    esc(t(Msg::Owner)),
                    esc(t(Msg::StatusWord)),
                    esc(t(Msg::Seeds)),
                    esc(t(Msg::Created)),
                ));
                for k in &cases {
                    body.push_str(&format!(
                        "<tr><td><a href=\"/console/cases/{}/\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        url(&k.id),
                        esc(&k.name),
                        tlp_badge(&k.tlp),
                        esc(&k.partner),
                        esc(status_word(lang, k.status)),
                        k.seeds.len(),
                        esc(&k.created)
                    ));
                }
                body.push_str("</tbody></table>");
                Ok((t(Msg::Cases).to_string(), body, None))
            })
            .await
        }
    };
    respond(&ctx, result, "console-cases")
}

fn status_word(lang: crate::i18n::Lang, s: Status) -> &'static str {
    match s {
        Status::Open => Msg::CaseOpen.text(lang),
        Status::Closed => Msg::CaseClosed.text(lang),
    }
}

/// Collections of the first API root the caller may write into (for "share").
fn writable_collections(c: &Console, caller: &Caller) -> Vec<(String, String, String)> {
    let snap = c.exchange.snapshot();
    let mut out = Vec::new();
    for root in &snap.config.api_roots {
        if let Ok(list) = c.exchange.collections(caller, &root.path) {
            for col in list
                .get("collections")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if col.get("can_write").and_then(Value::as_bool) == Some(true) {
                    let s = |k: &str| col.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    out.push((root.path.clone(), s("id"), s("title")));
                }
            }
        }
    }
    out
}

pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let lang = ctx.lang;
            let csrf = csrf_field(&ctx);
            let shared = ctx.param("shared");
            let c2 = c.clone();
            blocking(move || {
                let t = |m: Msg| m.text(lang);
                let case = case_for(&c2, &caller, &id)?;
                let view = cases_of(&c2)?.view(&case, &partner_ids(&c2))?;
                let base = format!("/console/cases/{}/", url(&case.id));
                let mut b = String::new();
                if let Some(n) = shared {
                    b.push_str(&format!(
                        "<p class=\"notice\" role=\"status\">{} {}</p>",
                        esc(t(Msg::SharedObjects)),
                        esc(&n)
                    ));
                }
                b.push_str(&format!(
                    "<dl class=\"fields\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} · {} {}</dd><dt>{}</dt><dd>{}</dd></dl>",
                    esc(t(Msg::Tlp)), tlp_badge(&case.tlp),
                    esc(t(Msg::Owner)), esc(&case.partner),
                    esc(t(Msg::StatusWord)), esc(status_word(lang, case.status)),
                    esc(t(Msg::Seeds)), case.seeds.iter().map(|s| format!("<code>{}</code>", esc(s))).collect::<Vec<_>>().join(" "),
                    esc(t(Msg::Policy)), esc(&case.policy), esc(t(Msg::MaxHops)), case.max_hops,
                    esc(t(Msg::From)), esc(&case.from.map(rfc3339).unwrap_or_else(|| "—".into())),
                ));
                // Endpoints and freeze candidates first.
                b.push_str(&format!("<h2 id=\"endpoints\">{}</h2>", esc(t(Msg::Endpoints))));
                match &view.report.trace {
                    None => b.push_str(&format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(t(Msg::NoSeedInStore))
                    )),
                    Some(tr) => {
                        let mut eps: Vec<_> = tr.endpoints.iter().collect();
                        eps.sort_by_key(|e| (!e.freeze_candidate, !e.held));
                        b.push_str(&format!(
                            "<table class=\"list endpoints\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                            esc(t(Msg::Address)), esc(t(Msg::Label)), esc(t(Msg::Category)),
                            esc(t(Msg::TaintedArrived)), esc(t(Msg::HeldNow)),
                            esc(t(Msg::FreezeCandidate)), esc(t(Msg::JurisdictionPartner)),
                        ));
                        for e in eps {
                            let juris = view.jurisdictions.get(&e.address).cloned().unwrap_or_default();
                            b.push_str(&format!(
                                "<tr{}><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                                if e.freeze_candidate { " class=\"freeze\"" } else { "" },
                                esc(&e.address),
                                esc(&e.labels.first().map(|l| l.label.clone()).unwrap_or_default()),
                                esc(&e.category),
                                esc(&tr.amount(&e.asset, &e.amount)),
                                esc(&if e.held { tr.amount(&e.asset, &e.held_amount) } else { "0".into() }),
                                esc(t(if e.freeze_candidate { Msg::Yes } else { Msg::No })),
                                esc(&partner_text(&partner_ids(&c2), &juris)),
                            ));
                        }
                        b.push_str("</tbody></table>");
                    }
                }
                // Frozen and still freezable; the freezes recorded; the form.
                b.push_str(&freeze_section(&c2, &caller, &case, &view, lang, &base, &csrf)?);
                // The graph and its tools.
                b.push_str(&format!(
                    "<h2 id=\"graph\">{}</h2>\
                     <form class=\"graph-tools\" id=\"graph-filters\">\
                     <label>{} <input type=\"datetime-local\" id=\"f-from\" step=\"1\"></label> \
                     <label>{} <input type=\"datetime-local\" id=\"f-to\" step=\"1\"></label> \
                     <label>{} <select id=\"f-asset\"><option value=\"\">{}</option></select></label> \
                     <label>{} <input type=\"text\" inputmode=\"decimal\" id=\"f-min\" size=\"10\"></label> \
                     <button type=\"submit\">{}</button></form>\
                     <div class=\"graph-tools\">\
                     <button type=\"button\" id=\"g-expand-all\">{}</button> \
                     <button type=\"button\" id=\"g-collapse\">{}</button> \
                     <button type=\"button\" id=\"g-clusters-collapse\">{}</button> \
                     <button type=\"button\" id=\"g-clusters-expand\">{}</button> \
                     <label>{} <input type=\"number\" id=\"g-degree\" min=\"1\" value=\"3\" size=\"4\"></label> \
                     <button type=\"button\" id=\"g-select-degree\">{}</button> \
                     <button type=\"button\" id=\"g-png\">PNG</button> \
                     <button type=\"button\" id=\"g-svg\">SVG</button> \
                     <a href=\"{base}transfers.csv\" download>{}</a> · \
                     <a href=\"{base}report.stix.json\" download>{}</a></div>\
                     <p id=\"graph-status\" role=\"status\" aria-live=\"polite\"></p>\
                     <link rel=\"preload\" href=\"{base}graph.json\" as=\"fetch\" crossorigin=\"anonymous\">\
                     <div class=\"case-layout\"><div id=\"case-graph\" role=\"img\" aria-label=\"{}\" data-src=\"{base}graph.json\" data-case=\"{}\" data-t=\"{}\"></div>\
                     <aside id=\"address-panel\" aria-labelledby=\"panel-title\"><h3 id=\"panel-title\">{}</h3><p class=\"empty\">{}</p></aside></div>",
                    esc(t(Msg::Graph)),
                    esc(t(Msg::FromTime)), esc(t(Msg::ToTime)), esc(t(Msg::Asset)), esc(t(Msg::AllAssets)),
                    esc(t(Msg::MinAmount)), esc(t(Msg::Apply)),
                    esc(t(Msg::ExpandAll)), esc(t(Msg::Collapse)),
                    esc(t(Msg::CollapseClusters)), esc(t(Msg::ExpandClusters)), esc(t(Msg::MinDegree)),
                    esc(t(Msg::SelectByDegree)),
                    esc(t(Msg::TransfersCsv)), esc(t(Msg::StixReport)),
                    esc(t(Msg::GraphLabel)), esc(&case.id), esc(&panel_words(lang).to_string()),
                    esc(t(Msg::AddressPanel)), esc(t(Msg::ClickNode)),
                ));
                b.push_str(&format!(
                    "<h2 id=\"path\">{}</h2><form id=\"path-form\" class=\"graph-tools\">\
                     <label>{} <select id=\"path-from\"></select></label> \
                     <label>{} <select id=\"path-to\"></select></label> \
                     <button type=\"submit\">{}</button></form><ol id=\"path-result\" aria-live=\"polite\"></ol>",
                    esc(t(Msg::PathBetween)), esc(t(Msg::PathFrom)), esc(t(Msg::PathTo)), esc(t(Msg::FindPath))
                ));
                // Share as a STIX report into a collection the caller may write.
                let cols = writable_collections(&c2, &caller);
                b.push_str(&format!("<h2 id=\"share\">{}</h2>", esc(t(Msg::ShareWithPartners))));
                if cols.is_empty() {
                    b.push_str(&format!("<p class=\"empty\">{}</p>", esc(t(Msg::NoWritableCollection))));
                } else {
                    b.push_str(&format!(
                        "<form method=\"post\" action=\"{base}share\">{csrf}<label>{} <select name=\"collection\">",
                        esc(t(Msg::Collection))
                    ));
                    for (root, cid, title) in cols {
                        b.push_str(&format!(
                            "<option value=\"{}/{}\">{}</option>",
                            esc(&root), esc(&cid), esc(&title)
                        ));
                    }
                    b.push_str(&format!(
                        "</select></label> <button type=\"submit\">{}</button></form>",
                        esc(t(Msg::ShareWithPartners))
                    ));
                }
                // Notes.
                b.push_str(&format!("<h2 id=\"notes\">{}</h2>", esc(t(Msg::Notes))));
                if case.notes.is_empty() {
                    b.push_str(&format!("<p class=\"empty\">{}</p>", esc(t(Msg::NoNotes))));
                } else {
                    b.push_str("<ul class=\"notes\">");
                    for n in &case.notes {
                        b.push_str(&format!(
                            "<li><span class=\"when\">{}</span> <strong>{}</strong>: {}</li>",
                            esc(&n.time), esc(&n.author), esc(&n.text)
                        ));
                    }
                    b.push_str("</ul>");
                }
                if may_write(&case, &caller) && case.status == Status::Open {
                    b.push_str(&format!(
                        "<form method=\"post\" action=\"{base}notes\" class=\"note\">{csrf}<label for=\"note-text\">{}</label><textarea id=\"note-text\" name=\"text\" rows=\"3\" cols=\"60\" required></textarea><button type=\"submit\">{}</button></form>",
                        esc(t(Msg::AddNote)), esc(t(Msg::AddNote))
                    ));
                }
                Ok((case.name.clone(), b, Some(case.id.clone())))
            })
            .await
        }
    };
    respond(&ctx, result, "console-case")
}

/// A non-HTML response of a case, audited as `action` with the case id.
/// A data answer: content type, body, and the file name to download it as.
type DataBody = (&'static str, Bytes, Option<String>);

fn data_response(
    ctx: &Ctx,
    result: Result<DataBody, ConsoleError>,
    action: &'static str,
    id: &str,
) -> Response {
    match result {
        Ok((ctype, body, filename)) => {
            let mut resp = body.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            if let Some(f) = filename {
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{f}\"")) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
            }
            audit_note(resp, action, Some(id.to_string()))
        }
        Err(e) => error_page(ctx, &e, action),
    }
}

/// A case export: the caller's view of case `id`, rendered by `render` off the
/// async workers, answered by [`data_response`] and audited as `action`.
async fn case_data(
    c: Arc<Console>,
    ctx: &Ctx,
    id: String,
    action: &'static str,
    render: impl FnOnce(&Case, &CaseView) -> Result<DataBody, ConsoleError> + Send + 'static,
) -> Response {
    let id2 = id.clone();
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            blocking(move || {
                let case = case_for(&c, &caller, &id2)?;
                let view = cases_of(&c)?.view(&case, &partner_ids(&c))?;
                render(&case, &view)
            })
            .await
        }
    };
    data_response(ctx, result, action, &id)
}

pub(crate) async fn graph(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    case_data(c, &ctx, id, "console-case-graph", |_, view| {
        Ok(("application/json", view.graph.clone(), None))
    })
    .await
}

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(crate) async fn transfers_csv(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    case_data(c, &ctx, id, "console-case-transfers", |case, view| {
        let mut out = String::from("tx_hash,time,from,to,asset,amount,tainted_amount\n");
        for t in &view.transfers {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                csv_field(&t.tx),
                rfc3339(t.time),
                csv_field(&t.from),
                csv_field(&t.to),
                csv_field(&t.asset),
                csv_field(&t.amount),
                csv_field(&t.tainted)
            ));
        }
        Ok((
            "text/csv; charset=utf-8",
            out.into(),
            Some(format!("{}-transfers.csv", case.id)),
        ))
    })
    .await
}

fn stix_of(view: &CaseView) -> Result<Value, ConsoleError> {
    tripoint_case::stix::bundle(&view.report).map_err(case_err)
}

pub(crate) async fn stix(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    case_data(c, &ctx, id, "console-case-stix", |case, view| {
        let bundle = stix_of(view)?;
        Ok((
            "application/stix+json;version=2.1",
            serde_json::to_string_pretty(&bundle)
                .map_err(|e| ConsoleError::Internal(e.to_string()))?
                .into(),
            Some(format!("{}-report.stix.json", case.id)),
        ))
    })
    .await
}

fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A form posted on a case page: the CSRF token and the signed-in caller
/// are checked, then `work` runs on a blocking thread with the case the
/// caller may see and the form; its answer is where to send the browser.
/// Audited as `action` with the case id, errors as error pages.
async fn case_form(
    c: Arc<Console>,
    ctx: Ctx,
    id: String,
    fields: HashMap<String, String>,
    action: &'static str,
    work: impl FnOnce(&Console, &Caller, Case, HashMap<String, String>) -> Result<String, ConsoleError>
        + Send
        + 'static,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &fields) {
        return error_page(&ctx, &e, action);
    }
    let caller = match ctx.caller() {
        Ok(c) => c,
        Err(e) => return error_page(&ctx, &e, action),
    };
    let id2 = id.clone();
    let done = blocking(move || {
        let case = case_for(&c, &caller, &id2)?;
        work(&c, &caller, case, fields)
    })
    .await;
    match done {
        Ok(to) => audit_note(see_other(&to), action, Some(id)),
        Err(e) => error_page(&ctx, &e, action),
    }
}

/// [`case_form`] for the case's owner only (the case API's `may_write`):
/// anyone else gets a 403 and `work` does not run.
async fn owner_form(
    c: Arc<Console>,
    ctx: Ctx,
    id: String,
    fields: HashMap<String, String>,
    action: &'static str,
    work: impl FnOnce(&Console, &Caller, Case, HashMap<String, String>) -> Result<String, ConsoleError>
        + Send
        + 'static,
) -> Response {
    case_form(c, ctx, id, fields, action, |c, caller, case, fields| {
        if !may_write(&case, caller) {
            return Err(ConsoleError::Forbidden(format!(
                "case {} belongs to partner {}",
                case.id, case.partner
            )));
        }
        work(c, caller, case, fields)
    })
    .await
}

pub(crate) async fn add_note(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    owner_form(
        c,
        ctx,
        id,
        fields,
        "console-case-note",
        |c, caller, case, fields| {
            let text = fields.get("text").map(String::as_str).unwrap_or_default();
            cases_of(c)?
                .db
                .note(&case.id, &caller.partner, text)
                .map_err(case_err)?;
            Ok(format!("/console/cases/{}/#notes", url(&case.id)))
        },
    )
    .await
}

pub(crate) async fn add_freeze(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    owner_form(
        c,
        ctx,
        id,
        fields,
        "console-case-freeze",
        |c, caller, case, fields| {
            let field = |k: &str| fields.get(k).cloned().filter(|v| !v.trim().is_empty());
            let store = cases_of(c)?;
            // The case API's own path: the same checks, the same table.
            tripoint_case::api::record_freeze(
                store.db.as_ref(),
                &store.store_dir,
                tripoint_case::NewFreeze {
                    case_id: case.id.clone(),
                    address: field("address").unwrap_or_default(),
                    label: field("label"),
                    asset: field("asset").unwrap_or_default(),
                    amount: field("amount").unwrap_or_default(),
                    partner: field("partner"),
                    reference: field("reference"),
                    time: field("time"),
                    recorded_by: caller.partner.clone(),
                    note: field("note"),
                },
            )
            .map_err(case_err)?;
            Ok(format!("/console/cases/{}/#freezes", url(&case.id)))
        },
    )
    .await
}

/// An amount of the case's trace in whole units with its symbol (grouped
/// base units and the asset key for an asset the trace does not know).
fn shown_amount(view: &CaseView, asset: &str, base_units: &str) -> String {
    match &view.report.trace {
        Some(t) => t.amount(asset, base_units),
        None => format!("{base_units} {asset}"),
    }
}

/// The case page's section on freezes: per freeze candidate and per
/// address where a freeze was recorded, held / frozen / still freezable
/// (`tripoint_case::freeze::status`, as `case report`); the freezes
/// recorded; and, for the owner, the form that records one.
fn freeze_section(
    c: &Console,
    caller: &Caller,
    case: &Case,
    view: &CaseView,
    lang: crate::i18n::Lang,
    base: &str,
    csrf: &str,
) -> Result<String, ConsoleError> {
    let t = |m: Msg| m.text(lang);
    let freezes = cases_of(c)?.db.freezes(&case.id).map_err(case_err)?;
    let lines = tripoint_case::freeze::status(&view.report, &freezes);
    let partners = partner_ids(c);
    let mut b = format!(
        "<h2 id=\"freezes\">{}</h2>",
        esc(t(Msg::FrozenAndFreezable))
    );
    if lines.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NothingFreezable))
        ));
    } else {
        b.push_str(&format!(
            "<table class=\"list\" id=\"freeze-status\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t(Msg::Address)), esc(t(Msg::Label)), esc(t(Msg::HeldNow)),
            esc(t(Msg::Frozen)), esc(t(Msg::StillFreezable)), esc(t(Msg::JurisdictionPartner)),
        ));
        for l in &lines {
            let juris = view
                .jurisdictions
                .get(&l.address)
                .cloned()
                .unwrap_or_default();
            b.push_str(&format!(
                "<tr data-address=\"{}\" data-frozen=\"{}\" data-freezable=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.address), esc(&l.frozen), esc(&l.still_freezable),
                esc(&l.address),
                esc(l.label.as_deref().unwrap_or("")),
                esc(&shown_amount(view, &l.asset, &l.held)),
                esc(&shown_amount(view, &l.asset, &l.frozen)),
                if l.candidate { esc(&shown_amount(view, &l.asset, &l.still_freezable)) } else { "—".into() },
                esc(&partner_text(&partners, &juris)),
            ));
        }
        b.push_str("</tbody></table>");
    }
    b.push_str(&format!(
        "<h3 id=\"freezes-recorded\">{}</h3>",
        esc(t(Msg::FreezesRecorded))
    ));
    if freezes.is_empty() {
        b.push_str(&format!(
            "<p class=\"empty\">{}</p>",
            esc(t(Msg::NoFreezes))
        ));
    } else {
        b.push_str(&format!(
            "<table class=\"list\" id=\"freeze-list\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t(Msg::Time)), esc(t(Msg::Frozen)), esc(t(Msg::Address)), esc(t(Msg::Label)),
            esc(t(Msg::AskedBy)), esc(t(Msg::Reference)), esc(t(Msg::RecordedBy)), esc(t(Msg::NoteWord)),
        ));
        for f in &freezes {
            b.push_str(&format!(
                "<tr id=\"{}\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.id), esc(&f.time), esc(&shown_amount(view, &f.asset, &f.amount)), esc(&f.address),
                esc(f.label.as_deref().unwrap_or("")), esc(f.partner.as_deref().unwrap_or("—")),
                esc(f.reference.as_deref().unwrap_or("")), esc(&f.recorded_by),
                esc(f.note.as_deref().unwrap_or("")),
            ));
        }
        b.push_str("</tbody></table>");
    }
    if may_write(case, caller) {
        // Suggestions: the freeze candidates and the trace's assets.
        let mut opts = String::new();
        for l in lines.iter().filter(|l| l.candidate) {
            opts.push_str(&format!(
                "<option value=\"{}\">{}</option>",
                esc(&l.address),
                esc(l.label.as_deref().unwrap_or(""))
            ));
        }
        let mut assets = String::new();
        if let Some(tr) = &view.report.trace {
            for k in tr.assets.keys() {
                assets.push_str(&format!(
                    "<option value=\"{}\">{}</option>",
                    esc(k),
                    esc(tr.asset_label(k))
                ));
            }
        }
        b.push_str(&format!(
            "<form method=\"post\" action=\"{base}freezes\" class=\"freeze-form\" id=\"freeze-form\">{csrf}<fieldset><legend>{}</legend>\
             <p><label for=\"fz-address\">{}</label> <input id=\"fz-address\" name=\"address\" list=\"fz-candidates\" size=\"44\" required autocomplete=\"off\"><datalist id=\"fz-candidates\">{opts}</datalist></p>\
             <p><label for=\"fz-asset\">{}</label> <input id=\"fz-asset\" name=\"asset\" list=\"fz-assets\" size=\"44\" required autocomplete=\"off\"><datalist id=\"fz-assets\">{assets}</datalist></p>\
             <p><label for=\"fz-amount\">{}</label> <input id=\"fz-amount\" name=\"amount\" inputmode=\"numeric\" size=\"32\" required></p>\
             <p><label for=\"fz-partner\">{}</label> <select id=\"fz-partner\" name=\"partner\"><option value=\"\">—</option><option>US</option><option>JP</option><option>KR</option></select></p>\
             <p><label for=\"fz-reference\">{}</label> <input id=\"fz-reference\" name=\"reference\" size=\"32\" maxlength=\"200\"></p>\
             <p><label for=\"fz-time\">{}</label> <input id=\"fz-time\" name=\"time\" size=\"24\"></p>\
             <p><label for=\"fz-label\">{}</label> <input id=\"fz-label\" name=\"label\" size=\"32\"></p>\
             <p><label for=\"fz-note\">{}</label> <textarea id=\"fz-note\" name=\"note\" rows=\"2\" cols=\"60\" maxlength=\"4000\"></textarea></p>\
             <button type=\"submit\">{}</button></fieldset></form>",
            esc(t(Msg::RecordFreeze)), esc(t(Msg::FreezeAddress)), esc(t(Msg::Asset)),
            esc(t(Msg::AmountBaseUnits)), esc(t(Msg::AskedBy)), esc(t(Msg::Reference)),
            esc(t(Msg::FrozenAt)), esc(t(Msg::ServiceLabel)), esc(t(Msg::NoteWord)),
            esc(t(Msg::RecordFreeze)),
        ));
    }
    Ok(b)
}

/// The frozen / still-freezable lines of a case and its freezes, with
/// amounts shown in whole units and symbols (the quarterly report).
pub(crate) struct CaseFreezes {
    /// (line, held, frozen, still freezable, partner with jurisdiction)
    pub lines: Vec<(tripoint_case::FreezeLine, String, String, String, String)>,
    /// (freeze, amount shown)
    pub freezes: Vec<(tripoint_case::Freeze, String)>,
}

/// [`CaseFreezes`] of a case, from the same traced view the case page shows.
pub(crate) fn freezes_of(c: &Console, case: &Case) -> Result<CaseFreezes, ConsoleError> {
    let partners = partner_ids(c);
    let store = cases_of(c)?;
    let view = store.view(case, &partners)?;
    let freezes = store.db.freezes(&case.id).map_err(case_err)?;
    let lines = tripoint_case::freeze::status(&view.report, &freezes)
        .into_iter()
        .map(|l| {
            let juris = view
                .jurisdictions
                .get(&l.address)
                .cloned()
                .unwrap_or_default();
            let held = shown_amount(&view, &l.asset, &l.held);
            let frozen = shown_amount(&view, &l.asset, &l.frozen);
            let still = shown_amount(&view, &l.asset, &l.still_freezable);
            (l, held, frozen, still, partner_text(&partners, &juris))
        })
        .collect();
    let freezes = freezes
        .into_iter()
        .map(|f| {
            let shown = shown_amount(&view, &f.asset, &f.amount);
            (f, shown)
        })
        .collect();
    Ok(CaseFreezes { lines, freezes })
}

pub(crate) async fn share(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    case_form(
        c,
        ctx,
        id,
        fields,
        "console-case-share",
        |c, caller, case, fields| {
            let target = fields.get("collection").cloned().unwrap_or_default();
            let (root, cid) = target
                .split_once('/')
                .ok_or_else(|| ConsoleError::BadRequest("collection: expected ROOT/ID".into()))?;
            let view = cases_of(c)?.view(&case, &partner_ids(c))?;
            let bundle = stix_of(&view)?;
            let objects = bundle
                .get("objects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            // The TAXII POST path: write access, validation, creator and TLP rules.
            let (status, _) = c.exchange.add_objects(caller, root, cid, objects)?;
            let count = |k: &str| status.get(k).and_then(Value::as_u64).unwrap_or(0);
            let summary = format!(
                "{} ok, {} failed → {target}",
                count("success_count"),
                count("failure_count")
            );
            Ok(format!(
                "/console/cases/{}/?shared={}#share",
                url(&case.id),
                url(&summary)
            ))
        },
    )
    .await
}

/// One endpoint of a case, as the quarterly report lists it.
pub(crate) struct EndpointLine {
    pub address: String,
    pub label: String,
    /// Tainted amount that arrived, with its symbol.
    pub arrived: String,
    /// Base units arrived (for ordering).
    pub arrived_base: Amount,
    /// Tainted amount still held, with its symbol (None: nothing held).
    pub held: Option<String>,
    pub freeze: bool,
}

/// The endpoints of a case's trace (empty when no seed is in the store),
/// from the same traced view the case page shows.
pub(crate) fn endpoints_of(c: &Console, case: &Case) -> Result<Vec<EndpointLine>, ConsoleError> {
    let partners = partner_ids(c);
    let view = cases_of(c)?.view(case, &partners)?;
    let Some(tr) = &view.report.trace else {
        return Ok(Vec::new());
    };
    Ok(tr
        .endpoints
        .iter()
        .map(|e| EndpointLine {
            address: e.address.clone(),
            label: e
                .labels
                .first()
                .map(|l| l.label.clone())
                .unwrap_or_default(),
            arrived: tr.amount(&e.asset, &e.amount),
            arrived_base: Amount::from_str_radix(&e.amount, 10).unwrap_or(Amount::ZERO),
            held: e.held.then(|| tr.amount(&e.asset, &e.held_amount)),
            freeze: e.freeze_candidate,
        })
        .collect())
}
