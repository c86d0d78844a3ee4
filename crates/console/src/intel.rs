//! Intel pages: collections, a collection's objects (search and type
//! filters), one object (fields, relationships as links, raw JSON, versions,
//! provenance). Everything is read through the exchange's own functions
//! (`collections`, `get_page`), so TLP clearance, bilateral collections and
//! the poster's exception are the TAXII rules themselves; each page read is
//! audited with its page record, as a TAXII read is.

use crate::html::{esc, url};
use crate::i18n::{Lang, Msg};
use crate::{blocking, respond, Console, ConsoleError, Ctx};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tripoint_taxii::model::{format_micros, parse_micros};
use tripoint_taxii::service::{parse_filters, Caller, Endpoint, Exchange};
use tripoint_taxii::store::{AuditEntry, Provenance};

/// At most this many objects are read for one collection page.
const READ_CAP: usize = 5000;
/// At most this many rows are shown.
const SHOW_CAP: usize = 200;

/// Reads one collection for one caller, each page audited like the TAXII
/// read it is (with its page record, for "who received").
pub(crate) struct Reader<'a> {
    pub(crate) ex: &'a Exchange,
    pub(crate) caller: &'a Caller,
    /// The console path, as the audit entries' target.
    pub(crate) target: &'a str,
    pub(crate) root: &'a str,
    pub(crate) cid: &'a str,
}

impl Reader<'_> {
    /// One page of `get_page`.
    fn page(
        &self,
        object: Option<&str>,
        endpoint: Endpoint,
        pairs: &[(String, String)],
    ) -> Result<Value, ConsoleError> {
        let filters = parse_filters(pairs)?;
        let mut out =
            self.ex
                .get_page(self.caller, self.root, self.cid, object, endpoint, &filters)?;
        let action = match endpoint {
            Endpoint::Objects => "console-get-objects",
            Endpoint::Object => "console-get-object",
            Endpoint::Versions => "console-get-versions",
            Endpoint::Manifest => "console-get-manifest",
        };
        let mut entry = AuditEntry::new(&self.caller.partner, action, self.target, "ok");
        entry.page = Some(std::mem::take(&mut out.record));
        entry.object = object.map(str::to_string);
        self.ex.audit_blocking(entry)?;
        serde_json::from_str(&out.body)
            .map_err(|e| ConsoleError::Internal(format!("page body: {e}")))
    }

    /// Every object of the collection the caller may see (latest versions),
    /// in `date_added` order, up to [`READ_CAP`]; and whether there were more.
    pub(crate) fn visible(&self, types: &[String]) -> Result<(Vec<Value>, bool), ConsoleError> {
        let mut objects = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut pairs = vec![];
            if !types.is_empty() {
                pairs.push(("match[type]".to_string(), types.join(",")));
            }
            if let Some(n) = &next {
                pairs.push(("next".to_string(), n.clone()));
            }
            let mut page = self.page(None, Endpoint::Objects, &pairs)?;
            // Moved out of the page, not cloned.
            if let Some(Value::Array(a)) = page.get_mut("objects") {
                objects.append(a);
            }
            let more = page.get("more").and_then(Value::as_bool).unwrap_or(false);
            next = page.get("next").and_then(Value::as_str).map(str::to_string);
            if !more || next.is_none() {
                return Ok((objects, false));
            }
            if objects.len() >= READ_CAP {
                return Ok((objects, true));
            }
        }
    }
}

pub(crate) fn str_field<'a>(o: &'a Value, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or("")
}

/// A name for people: `name`, else `value` (SCOs), else the id.
pub(crate) fn display_name(o: &Value) -> &str {
    for k in ["name", "value", "pattern"] {
        let v = str_field(o, k);
        if !v.is_empty() {
            return v;
        }
    }
    str_field(o, "id")
}

/// The object's strictest TLP marking as a badge.
fn tlp_badge(lang: Lang, o: &Value) -> String {
    let refs: Vec<String> = o
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    match tripoint_stix::tlp::strictest(&refs) {
        Some(t) => {
            let name = t.name();
            let class = name
                .trim_start_matches("TLP:")
                .to_ascii_lowercase()
                .replace('+', "-");
            format!("<span class=\"tlp tlp-{class}\">{}</span>", esc(name))
        }
        None => format!(
            "<span class=\"tlp tlp-none\">{}</span>",
            esc(Msg::NoTlp.text(lang))
        ),
    }
}

pub(crate) fn object_href(root: &str, cid: &str, oid: &str) -> String {
    format!(
        "/console/intel/{}/{}/objects/{}/",
        url(root),
        url(cid),
        url(oid)
    )
}

/// Identity id → a name: partners from the configuration, then identities
/// among the objects the caller can see.
fn identity_names(ex: &Exchange, objects: &[Value]) -> HashMap<String, String> {
    let mut names: HashMap<String, String> = ex
        .snapshot()
        .config
        .partners
        .iter()
        .map(|p| (p.identity.clone(), p.id.clone()))
        .collect();
    for o in objects
        .iter()
        .filter(|o| str_field(o, "type") == "identity")
    {
        let n = str_field(o, "name");
        if !n.is_empty() {
            names
                .entry(str_field(o, "id").to_string())
                .or_insert_with(|| n.to_string());
        }
    }
    names
}

/// Who first posted each object's version (as [`version_us`] keys it) into
/// the collection whose store key is `key`, by (id, version): the
/// provenance of a whole page in one store query.
pub(crate) fn first_posts(
    ex: &Exchange,
    key: &str,
    objects: &[&Value],
) -> Result<HashMap<(String, i64), Provenance>, ConsoleError> {
    let ids: Vec<&str> = objects.iter().map(|o| str_field(o, "id")).collect();
    let mut first: HashMap<(String, i64), Provenance> = HashMap::new();
    for p in ex.provenance_of(&ids)? {
        if p.collection != key {
            continue;
        }
        match first.entry((p.id.clone(), p.version_us)) {
            Entry::Occupied(mut e) => {
                if p.posted_us < e.get().posted_us {
                    e.insert(p);
                }
            }
            Entry::Vacant(e) => {
                e.insert(p);
            }
        }
    }
    Ok(first)
}

/// The version of an object as the store keys it (`modified`, else `created`).
pub(crate) fn version_us(o: &Value) -> Option<i64> {
    ["modified", "created"]
        .iter()
        .find_map(|k| o.get(*k).and_then(Value::as_str).and_then(parse_micros))
}

pub(crate) async fn collections(State(c): State<Arc<Console>>, ctx: Ctx) -> Response {
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let ex = c.exchange.clone();
            let lang = ctx.lang;
            blocking(move || {
                let roots = ex.api_root_paths();
                let mut rows = String::new();
                for root in roots {
                    let list = ex.collections(&caller, &root)?;
                    let mut cols: Vec<&Value> = list
                        .get("collections")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().collect())
                        .unwrap_or_default();
                    cols.sort_by_key(|c| str_field(c, "title").to_lowercase());
                    for col in cols {
                        let id = str_field(col, "id");
                        let mut access = vec![];
                        if col.get("can_read").and_then(Value::as_bool) == Some(true) {
                            access.push(Msg::Read.text(lang));
                        }
                        if col.get("can_write").and_then(Value::as_bool) == Some(true) {
                            access.push(Msg::Write.text(lang));
                        }
                        let title = esc(str_field(col, "title"));
                        let link = if col.get("can_read").and_then(Value::as_bool) == Some(true) {
                            format!(
                                "<a href=\"/console/intel/{}/{}/\">{title}</a>",
                                url(&root),
                                url(id)
                            )
                        } else {
                            title
                        };
                        rows.push_str(&format!(
                            "<tr><td>{link}</td><td>{}</td><td>{}</td></tr>",
                            esc(str_field(col, "description")),
                            esc(&access.join(", "))
                        ));
                    }
                }
                Ok(rows)
            })
            .await
            .map(|rows| {
                let body = if rows.is_empty() {
                    format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(ctx.t(Msg::NoCollections))
                    )
                } else {
                    format!(
                        "<p>{}</p><table class=\"list\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
                        esc(ctx.t(Msg::IntelIntro)),
                        esc(ctx.t(Msg::Collections)),
                        esc(ctx.t(Msg::Title)),
                        esc(ctx.t(Msg::Description)),
                        esc(ctx.t(Msg::Access)),
                    )
                };
                (ctx.t(Msg::Intel).to_string(), body, None)
            })
        }
    };
    respond(&ctx, result, "console-intel")
}

pub(crate) async fn collection(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path((root, cid)): Path<(String, String)>,
) -> Response {
    let query = ctx.param("q").unwrap_or_default();
    let chosen: Vec<String> = ctx.params("type");
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let ex = c.exchange.clone();
            let target = ctx.path.clone();
            let lang = ctx.lang;
            let q = query.clone();
            let chosen2 = chosen.clone();
            blocking(move || {
                let col = ex.collection(&caller, &root, &cid)?;
                let title = str_field(&col, "title").to_string();
                let key = ex.collection_key(str_field(&col, "id")).unwrap_or_default();
                let reader = Reader { ex: &ex, caller: &caller, target: &target, root: &root, cid: &cid };
                let (objects, truncated) = reader.visible(&[])?;
                let names = identity_names(&ex, &objects);
                let mut types: BTreeMap<String, usize> = BTreeMap::new();
                for o in &objects {
                    *types.entry(str_field(o, "type").to_string()).or_default() += 1;
                }
                let needle = q.to_lowercase();
                let shown: Vec<&Value> = objects
                    .iter()
                    .rev() // newest first
                    .filter(|o| chosen2.is_empty() || chosen2.iter().any(|t| t == str_field(o, "type")))
                    .filter(|o| {
                        needle.is_empty()
                            || ["name", "id", "description", "value", "pattern"]
                                .iter()
                                .any(|k| str_field(o, k).to_lowercase().contains(&needle))
                    })
                    .collect();
                let mut rows = String::new();
                let listed: Vec<&Value> = shown.iter().take(SHOW_CAP).copied().collect();
                let posted = first_posts(&ex, &key, &listed)?;
                for o in listed {
                    let id = str_field(o, "id");
                    let (by, at) = version_us(o)
                        .and_then(|v| posted.get(&(id.to_string(), v)))
                        .map(|p| (p.partner.clone(), format_micros(p.posted_us)))
                        .unwrap_or_default();
                    let creator = str_field(o, "created_by_ref");
                    let creator = names.get(creator).cloned().unwrap_or_else(|| creator.to_string());
                    rows.push_str(&format!(
                        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        object_href(&root, &cid, id),
                        esc(display_name(o)),
                        esc(str_field(o, "type")),
                        tlp_badge(lang, o),
                        esc(&creator),
                        esc(&by),
                        esc(&at),
                    ));
                }
                let writer = col.get("can_write").and_then(Value::as_bool) == Some(true);
                Ok((title, rows, shown.len(), objects.len(), truncated, types, root, cid, writer))
            })
            .await
            .map(|(title, rows, matched, total, truncated, types, root, cid, writer)| {
                let mut body = String::new();
                if writer {
                    body.push_str(&upload_form(&ctx, &root, &cid));
                }
                body.push_str(&format!(
                    "<form class=\"filters\" method=\"get\" action=\"/console/intel/{}/{}/\" role=\"search\">\
                     <p><label for=\"q\">{}</label> <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></p>\
                     <fieldset><legend>{}</legend>",
                    url(&root),
                    url(&cid),
                    esc(ctx.t(Msg::SearchObjects)),
                    esc(&query),
                    esc(ctx.t(Msg::Types)),
                ));
                for (i, (t, n)) in types.iter().enumerate() {
                    body.push_str(&format!(
                        "<label class=\"type\" for=\"type-{i}\"><input type=\"checkbox\" id=\"type-{i}\" name=\"type\" value=\"{}\"{}> {} ({n})</label> ",
                        esc(t),
                        if chosen.contains(t) { " checked" } else { "" },
                        esc(t)
                    ));
                }
                body.push_str(&format!(
                    "</fieldset><p><button type=\"submit\">{}</button></p></form>",
                    esc(ctx.t(Msg::Search))
                ));
                if rows.is_empty() {
                    body.push_str(&format!(
                        "<p class=\"empty\" role=\"status\">{}</p>",
                        esc(ctx.t(Msg::NoObjects))
                    ));
                } else {
                    if matched > SHOW_CAP {
                        body.push_str(&format!(
                            "<p role=\"status\">{} {SHOW_CAP} {} {matched}</p>",
                            esc(ctx.t(Msg::ShowingFirst)),
                            esc(ctx.t(Msg::OfTotal))
                        ));
                    }
                    body.push_str(&format!(
                        "<table class=\"list objects\"><caption>{} ({matched}/{total}{})</caption><thead><tr>\
                         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
                         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>{rows}</tbody></table>",
                        esc(ctx.t(Msg::Objects)),
                        if truncated { "+" } else { "" },
                        esc(ctx.t(Msg::Name)),
                        esc(ctx.t(Msg::Type)),
                        esc(ctx.t(Msg::Tlp)),
                        esc(ctx.t(Msg::Creator)),
                        esc(ctx.t(Msg::PostedBy)),
                        esc(ctx.t(Msg::PostedAt)),
                    ));
                }
                (title, body, None)
            })
        }
    };
    respond(&ctx, result, "console-collection")
}

/// A property value for people: strings as text, references as links,
/// anything else as compact JSON.
fn render_value(root: &str, cid: &str, key: &str, v: &Value) -> String {
    let is_ref = key.ends_with("_ref") || key.ends_with("_refs");
    match v {
        Value::String(s) if is_ref && s.contains("--") => {
            format!("<a href=\"{}\">{}</a>", object_href(root, cid, s), esc(s))
        }
        Value::String(s) => esc(s),
        Value::Array(a) if is_ref => a
            .iter()
            .map(|x| render_value(root, cid, key, x))
            .collect::<Vec<_>>()
            .join("<br>"),
        other => format!("<code>{}</code>", esc(&other.to_string())),
    }
}

pub(crate) async fn object(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path((root, cid, oid)): Path<(String, String, String)>,
) -> Response {
    let version = ctx.param("version");
    let result = match ctx.caller() {
        Err(e) => Err(e),
        Ok(caller) => {
            let ex = c.exchange.clone();
            let target = ctx.path.clone();
            let lang = ctx.lang;
            let oid2 = oid.clone();
            blocking(move || {
                let oid = oid2;
                let col = ex.collection(&caller, &root, &cid)?;
                let key = ex.collection_key(str_field(&col, "id")).unwrap_or_default();
                let mut pairs = vec![];
                if let Some(v) = &version {
                    pairs.push(("match[version]".to_string(), v.clone()));
                }
                let reader = Reader { ex: &ex, caller: &caller, target: &target, root: &root, cid: &cid };
                let page = reader.page(Some(&oid), Endpoint::Object, &pairs)?;
                let obj = page
                    .get("objects")
                    .and_then(Value::as_array)
                    .and_then(|a| a.last())
                    .cloned()
                    .ok_or_else(|| ConsoleError::NotFound(format!("object `{oid}`")))?;
                let versions: Vec<String> = reader.page(Some(&oid), Endpoint::Versions, &[])?
                    .get("versions")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                let (rels, _) = reader.visible(&["relationship".to_string()])?;
                let visible_versions: Vec<i64> = versions.iter().filter_map(|v| parse_micros(v)).collect();
                let provenance: Vec<_> = ex
                    .provenance(&oid)?
                    .into_iter()
                    .filter(|p| p.collection == key && visible_versions.contains(&p.version_us))
                    .collect();

                let mut body = String::new();
                body.push_str(&format!(
                    "<p><a href=\"/console/intel/{}/{}/\">{}</a></p><p>{} <code>{}</code></p>",
                    url(&root),
                    url(&cid),
                    esc(Msg::Back.text(lang)),
                    tlp_badge(lang, &obj),
                    esc(&oid)
                ));
                body.push_str(&format!("<h2>{}</h2><dl class=\"fields\">", esc(Msg::Fields.text(lang))));
                if let Value::Object(m) = &obj {
                    for (k, v) in m {
                        body.push_str(&format!(
                            "<dt>{}</dt><dd>{}</dd>",
                            esc(k),
                            render_value(&root, &cid, k, v)
                        ));
                    }
                }
                body.push_str("</dl>");
                body.push_str(&format!("<h2>{}</h2>", esc(Msg::Relationships.text(lang))));
                let mine: Vec<&Value> = rels
                    .iter()
                    .filter(|r| str_field(r, "source_ref") == oid || str_field(r, "target_ref") == oid)
                    .collect();
                if mine.is_empty() {
                    body.push_str(&format!("<p class=\"empty\">{}</p>", esc(Msg::NoRelationships.text(lang))));
                } else {
                    body.push_str("<ul class=\"rels\">");
                    for r in mine {
                        let (s, t) = (str_field(r, "source_ref"), str_field(r, "target_ref"));
                        body.push_str(&format!(
                            "<li><a href=\"{}\">{}</a> — <a href=\"{}\">{}</a> → <a href=\"{}\">{}</a></li>",
                            object_href(&root, &cid, s),
                            esc(s),
                            object_href(&root, &cid, str_field(r, "id")),
                            esc(str_field(r, "relationship_type")),
                            object_href(&root, &cid, t),
                            esc(t),
                        ));
                    }
                    body.push_str("</ul>");
                }
                body.push_str(&format!("<h2>{}</h2><ul class=\"versions\">", esc(Msg::Versions.text(lang))));
                for v in versions.iter().rev() {
                    body.push_str(&format!(
                        "<li><a href=\"{}?version={}\">{}</a></li>",
                        object_href(&root, &cid, &oid),
                        url(v),
                        esc(v)
                    ));
                }
                body.push_str("</ul>");
                body.push_str(&format!(
                    "<h2>{}</h2><table class=\"list\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                    esc(Msg::Provenance.text(lang)),
                    esc(Msg::PostedAt.text(lang)),
                    esc(Msg::PostedBy.text(lang)),
                    esc(Msg::Versions.text(lang)),
                ));
                for p in &provenance {
                    body.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&format_micros(p.posted_us)),
                        esc(&p.partner),
                        esc(&format_micros(p.version_us))
                    ));
                }
                body.push_str("</tbody></table>");
                let raw = serde_json::to_string_pretty(&obj).unwrap_or_default();
                body.push_str(&format!(
                    "<h2>{}</h2><pre class=\"raw\" tabindex=\"0\">{}</pre>",
                    esc(Msg::RawJson.text(lang)),
                    esc(&raw)
                ));
                Ok((display_name(&obj).to_string(), body, Some(oid)))
            })
            .await
        }
    };
    respond(&ctx, result, "console-object")
}

/// The form that posts a STIX bundle file into a collection (writers only).
fn upload_form(ctx: &Ctx, root: &str, cid: &str) -> String {
    format!(
        "<details class=\"upload\"><summary>{}</summary>\
         <form method=\"post\" enctype=\"multipart/form-data\" action=\"/console/intel/{}/{}/objects\">{}\
         <p><label for=\"bundle\">{}</label> <input type=\"file\" id=\"bundle\" name=\"bundle\" accept=\".json,application/json,application/stix+json\" required> \
         <button type=\"submit\">{}</button></p></form></details>",
        esc(ctx.t(Msg::PostBundle)),
        url(root),
        url(cid),
        crate::html::csrf_field(ctx),
        esc(ctx.t(Msg::BundleFile)),
        esc(ctx.t(Msg::Post)),
    )
}

/// The fields of a multipart form: text fields by name, and the file of
/// field `file_field` (its name and bytes).
type Upload = (HashMap<String, String>, Option<(String, Vec<u8>)>);

async fn read_upload(
    mut form: axum::extract::Multipart,
    file_field: &str,
) -> Result<Upload, ConsoleError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ConsoleError::TooLarge(format!("the upload: {e}"))
        } else {
            ConsoleError::BadRequest(format!("the upload is not a readable form: {e}"))
        }
    };
    let mut fields = HashMap::new();
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == file_field {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            file = Some((file_name, bytes.to_vec()));
        } else {
            fields.insert(name, field.text().await.map_err(unreadable)?);
        }
    }
    Ok((fields, file))
}

/// A STIX bundle file posted from the collection page: parsed as `tripoint
/// intel import` parses one (`parse_bundle_or_envelope`), then stored
/// through `Exchange::add_objects`, the TAXII POST path (write access, the
/// collection's TLP clearance, validation, creator and versioning rules).
/// The page shows what was stored and, per object, why one was refused.
pub(crate) async fn upload(
    State(c): State<Arc<Console>>,
    ctx: Ctx,
    Path((root, cid)): Path<(String, String)>,
    form: axum::extract::Multipart,
) -> Response {
    const ACTION: &str = "console-upload";
    let max = c.exchange.snapshot().config.max_content_length;
    let result = async {
        let (fields, file) = read_upload(form, "bundle").await?;
        crate::login::check_csrf(&ctx, &fields)?;
        let caller = ctx.caller()?;
        let (name, bytes) = file
            .filter(|(_, b)| !b.is_empty())
            .ok_or_else(|| ConsoleError::BadRequest("bundle: no file chosen, or the file is empty".into()))?;
        if bytes.len() > max {
            return Err(ConsoleError::TooLarge(format!(
                "{name}: {} bytes; this server takes at most {max} bytes per post",
                bytes.len()
            )));
        }
        let ex = c.exchange.clone();
        let lang = ctx.lang;
        blocking(move || {
            let objects = tripoint_stix::import::parse_bundle_or_envelope(&bytes)
                .map_err(|e| ConsoleError::BadRequest(format!("{name}: {e}")))?;
            if objects.is_empty() {
                return Err(ConsoleError::BadRequest(format!("{name}: the bundle has no objects")));
            }
            let (status, status_id) = ex.add_objects(&caller, &root, &cid, objects)?;
            let t = |m: Msg| m.text(lang);
            let count = |k: &str| status.get(k).and_then(Value::as_u64).unwrap_or(0);
            let mut body = format!(
                "<p class=\"notice\" role=\"status\" id=\"upload-result\" data-stored=\"{}\" data-failed=\"{}\"><code>{}</code>: {} {}, {} {}</p>",
                count("success_count"),
                count("failure_count"),
                esc(&name),
                count("success_count"),
                esc(t(Msg::StoredWord)),
                count("failure_count"),
                esc(t(Msg::FailedWord)),
            );
            let failures = status.get("failures").and_then(Value::as_array).cloned().unwrap_or_default();
            if !failures.is_empty() {
                body.push_str(&format!(
                    "<table class=\"list\" id=\"upload-failures\"><caption>{}</caption><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                    esc(t(Msg::Refused)),
                    esc(t(Msg::Reason)),
                ));
                for f in &failures {
                    body.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td></tr>",
                        esc(str_field(f, "id")),
                        esc(str_field(f, "message"))
                    ));
                }
                body.push_str("</tbody></table>");
            }
            body.push_str(&format!(
                "<p><a href=\"/console/intel/{}/{}/\">{}</a></p>",
                url(&root),
                url(&cid),
                esc(t(Msg::BackToCollection))
            ));
            Ok((t(Msg::PostBundle).to_string(), body, Some(status_id)))
        })
        .await
    }
    .await;
    respond(&ctx, result, ACTION)
}
