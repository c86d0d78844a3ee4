//! A case report as a STIX 2.1 bundle for the partners' TAXII exchange:
//! a `report` created by the case's partner and marked with the case's TLP
//! (the standard TLP marking-definition id, not a copy of the object),
//! `cryptocurrency-wallet` objects for the seeds and every address the taint
//! reached, indicators for the tainted addresses (seeds, unlabelled
//! intermediaries, sanctioned wallets and mixers — not for exchanges,
//! bridges or DEXes that merely received funds), and `indicates`
//! relationships to the ATT&CK intrusion sets the seeds are attributed to.
//!
//! Ids are derived from the case id and the address, so a report generated
//! again updates the same objects (new `modified`) instead of duplicating them.

use serde_json::{json, Value};
use tripoint_chain::Chain;
use tripoint_stix::content::{
    crypto_wallet, crypto_wallet_extension_definition, crypto_wallet_pattern, partner_identity,
    partner_identity_id, tripoint_identity, Partner,
};
use tripoint_stix::ids::derived_id;

use crate::report::CaseReport;
use crate::{parse_tlp, CaseError};

/// Display name of a partner code.
fn partner_name(code: &str) -> String {
    Partner::ALL
        .into_iter()
        .find(|p| p.code() == code)
        .map(|p| p.name().to_string())
        .unwrap_or_else(|| format!("{} (partner)", code.to_ascii_uppercase()))
}

/// Categories whose addresses are services that received funds, not
/// indicators of malicious activity.
fn is_bystander(category: &str) -> bool {
    matches!(
        category,
        "exchange" | "bridge" | "dex" | "instant-exchanger" | "victim"
    )
}

/// The bundle (`type: bundle`) of a case report.
/// A relationship of the case's report: `stamps` are its created and
/// modified times, creator and TLP marking.
fn relationship(id: &str, stamps: [&str; 4], kind: &str, source: &str, target: &str) -> Value {
    let [created, modified, creator, marking] = stamps;
    json!({
        "type": "relationship",
        "spec_version": "2.1",
        "id": id,
        "created": created,
        "modified": modified,
        "created_by_ref": creator,
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
        "object_marking_refs": [marking],
    })
}

pub fn bundle(r: &CaseReport) -> Result<Value, CaseError> {
    let case = &r.case;
    let tlp = parse_tlp(&case.tlp).ok_or_else(|| CaseError::Invalid {
        field: "tlp",
        msg: format!("stored TLP '{}' is unknown", case.tlp),
    })?;
    let marking = tlp.marking_id();
    let creator = partner_identity_id(&case.partner);
    let chain = match r.chain.unwrap_or(Chain::Ethereum) {
        Chain::Ethereum => "ethereum",
        Chain::Bitcoin => "bitcoin",
    };
    let created = &case.created;
    let modified = &r.generated;
    let key = |what: &str| format!("case/{}/{what}", case.id);

    // The TLP marking-definition itself is left out: its id is fixed by the
    // standard, and the exchange refuses to store a copy of it.
    let mut objects: Vec<Value> = vec![
        partner_identity(&case.partner, &partner_name(&case.partner)),
        tripoint_identity(),
        crypto_wallet_extension_definition(),
    ];
    let mut refs: Vec<String> = Vec::new();

    // (address, role, category, taint summary, first tainted)
    let mut addresses: Vec<(String, String, String, String, Option<String>)> = Vec::new();
    if let Some(t) = &r.trace {
        for a in &t.addresses {
            let category = a
                .labels
                .first()
                .map(|l| l.category.clone())
                .unwrap_or_default();
            let taint = a
                .taint
                .iter()
                .map(|(asset, v)| format!("{v} {asset}"))
                .collect::<Vec<_>>()
                .join(", ");
            let role = serde_json::to_value(a.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            addresses.push((
                a.address.clone(),
                role,
                category,
                taint,
                a.first_tainted.clone(),
            ));
        }
        for e in &t.endpoints {
            if let Some(x) = addresses.iter_mut().find(|x| x.0 == e.address) {
                x.2 = e.category.clone();
            }
        }
    }
    for s in &r.seeds_not_in_store {
        addresses.push((s.clone(), "seed".into(), String::new(), String::new(), None));
    }

    let indicator_ids: Vec<String> = Vec::new();
    let mut indicator_ids = indicator_ids;
    for (address, role, category, taint, first) in &addresses {
        let mut wallet = crypto_wallet(chain, address);
        wallet["object_marking_refs"] = json!([marking]);
        let wallet_id = wallet["id"].as_str().unwrap_or_default().to_string();
        objects.push(wallet);
        refs.push(wallet_id.clone());
        if is_bystander(category) {
            continue;
        }
        let indicator_id = derived_id("indicator", &key(&format!("indicator/{address}")));
        let what = if role == "seed" {
            "seed of the case".to_string()
        } else if category.is_empty() {
            format!("received tainted funds ({role})")
        } else {
            format!("received tainted funds ({category})")
        };
        let mut description = format!("Case '{}': {address} is a {what}.", case.name);
        if !taint.is_empty() {
            description.push_str(&format!(" Tainted amount (base units): {taint}."));
        }
        let valid_from = first
            .as_deref()
            .and_then(|t| tripoint_stix::Timestamp::parse(t).ok())
            .map(|t| t.to_string())
            .unwrap_or_else(|| created.clone());
        objects.push(json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": indicator_id,
            "created": created,
            "modified": modified,
            "created_by_ref": creator,
            "name": format!("Tainted address {address}"),
            "description": description,
            "indicator_types": ["malicious-activity"],
            "pattern": crypto_wallet_pattern(chain, address),
            "pattern_type": "stix",
            "valid_from": valid_from,
            "object_marking_refs": [marking],
        }));
        let rel_id = derived_id("relationship", &key(&format!("related/{address}")));
        objects.push(relationship(
            &rel_id,
            [created, modified, &creator, marking],
            "related-to",
            &indicator_id,
            &wallet_id,
        ));
        refs.push(indicator_id.clone());
        refs.push(rel_id);
        indicator_ids.push(indicator_id);
    }

    for a in &r.attribution {
        refs.push(a.intrusion_set.clone());
        for ind in &indicator_ids {
            let rel_id = derived_id(
                "relationship",
                &key(&format!("indicates/{ind}/{}", a.intrusion_set)),
            );
            let mut rel = relationship(
                &rel_id,
                [created, modified, &creator, marking],
                "indicates",
                ind,
                &a.intrusion_set,
            );
            rel["description"] = json!(format!(
                "Attributed to {} ({}) by the seeds' labels: {}",
                a.name,
                a.external_id,
                a.evidence.join("; ")
            ));
            objects.push(rel);
            refs.push(rel_id);
        }
    }

    let mut summary = format!(
        "tripoint case '{}' ({}), policy {}, seeds {}.",
        case.name,
        case.id,
        case.policy,
        case.seeds.join(", ")
    );
    if let Some(t) = &r.trace {
        for e in t.endpoints.iter().take(20) {
            summary.push_str(&format!(
                " Endpoint {} ({}{}): {} {} arrived{}.",
                e.address,
                e.category,
                e.labels
                    .first()
                    .map(|l| format!(", {}", l.label))
                    .unwrap_or_default(),
                e.amount,
                e.asset,
                if e.freeze_candidate {
                    ", still held: freeze candidate"
                } else {
                    ""
                }
            ));
        }
    }
    for f in &r.freezes {
        summary.push_str(&format!(
            " Frozen {} {} (base units) at {}{} on {}{}{}.",
            f.amount,
            f.asset,
            f.address,
            f.label
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default(),
            f.time,
            f.partner
                .as_deref()
                .map(|p| format!(", asked by {p}"))
                .unwrap_or_default(),
            f.reference
                .as_deref()
                .map(|x| format!(", reference {x}"))
                .unwrap_or_default(),
        ));
    }
    for l in r
        .freeze_status
        .iter()
        .filter(|l| l.candidate && l.still_freezable != "0")
    {
        summary.push_str(&format!(
            " Still freezable: {} {} (base units) at {}.",
            l.still_freezable, l.asset, l.address
        ));
    }
    for a in &r.attribution {
        summary.push_str(&format!(" Attributed to {} ({}).", a.name, a.external_id));
    }
    let report_id = derived_id("report", &key("report"));
    let mut report = json!({
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created": created,
        "modified": modified,
        "created_by_ref": creator,
        "name": format!("tripoint case: {}", case.name),
        "description": summary,
        "report_types": ["threat-report"],
        "published": modified,
        "object_refs": refs,
        "object_marking_refs": [marking],
        "external_references": [{"source_name": "tripoint", "external_id": case.id}],
    });
    if refs_is_empty(&report) {
        // A report needs at least one reference; a case with nothing traced
        // yet refers to its partner.
        report["object_refs"] = json!([creator]);
    }
    objects.push(report);
    Ok(json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid::Uuid::new_v4()),
        "objects": objects,
    }))
}

fn refs_is_empty(report: &Value) -> bool {
    report["object_refs"]
        .as_array()
        .is_none_or(|a| a.is_empty())
}

/// The STIX objects that share one live-watch alert (docs/watch.md, the
/// alert's JSON) of `case` with the partners: an `indicator` for the
/// tainted address — the same id as in the case's report, so the two meet
/// in the exchange — and a `sighting` of it in the alert's transfer. Both
/// are created by the case's partner (`creator`: its identity in the
/// exchange) and marked with the case's TLP. Ids and timestamps derive from
/// the case and the alert (the indicator from the case and the address
/// alone, so every alert on an address posts the same indicator), so
/// delivering an alert again posts the very same objects (the exchange
/// stores them once).
///
/// The tainted address is the payee (`to`) of a `new_hop` or
/// `large_movement`, and the payer (`from`) of a `service` alert: a
/// service that received funds is not an indicator (as in the report).
///
/// `generation`: how many times a chain reorganisation withdrew this alert
/// before it was raised again. A withdrawn alert's sighting is revoked
/// ([`revoked_sighting`]), and a revoked object is final, so each raising
/// after the first gets a sighting id of its own.
pub fn alert_objects(
    case: &crate::Case,
    creator: &str,
    alert: &Value,
    generation: u32,
) -> Result<Vec<Value>, CaseError> {
    let field = |name: &'static str| -> Result<&str, CaseError> {
        alert[name].as_str().ok_or_else(|| CaseError::Invalid {
            field: "alert",
            msg: format!("the alert has no `{name}`"),
        })
    };
    let tlp = parse_tlp(&case.tlp).ok_or_else(|| CaseError::Invalid {
        field: "tlp",
        msg: format!("stored TLP '{}' is unknown", case.tlp),
    })?;
    let marking = tlp.marking_id();
    let alert_id = field("alert_id")?;
    let kind = field("kind")?;
    let chain = field("chain")?;
    let (from, to) = (field("from")?, field("to")?);
    let address = if kind == "service" { from } else { to };
    // STIX wants at least millisecond precision in `created`/`modified`.
    let stamp = |s: &str| -> Result<tripoint_stix::Timestamp, CaseError> {
        tripoint_stix::Timestamp::parse(s)
            .map(|t| {
                if t.frac_digits() < 3 {
                    t.with_precision(3)
                } else {
                    t
                }
            })
            .map_err(|e| CaseError::Invalid {
                field: "alert",
                msg: format!("time '{s}': {e}"),
            })
    };
    let created_t = stamp(&case.created)?;
    let seen_t = stamp(field("time")?)?;
    // A sighting is never older than the indicator it is a sighting of.
    let at = if seen_t.unix_micros() > created_t.unix_micros() {
        seen_t.to_string()
    } else {
        created_t.to_string()
    };
    let (created, seen) = (created_t.to_string(), seen_t.to_string());
    let key = |what: &str| format!("case/{}/{what}", case.id);
    let indicator_id = derived_id("indicator", &key(&format!("indicator/{address}")));
    let what = match kind {
        "service" => "paid tainted funds into a service",
        "new_hop" => "received tainted funds for the first time",
        _ => "moved a large share of the case's tainted funds",
    };
    let service = alert["service"]["label"].as_str();
    let mut summary = format!(
        "Case '{}' ({}), live watch alert {alert_id} ({kind}): {address} {what}. \
         Transfer {} in block {} of {chain}: {} -> {}, {} {} of which {} tainted ({} policy, {} hops).",
        case.name,
        case.id,
        field("tx_hash")?,
        alert["block"],
        from,
        to,
        field("amount")?,
        field("asset")?,
        field("taint")?,
        field("policy")?,
        alert["hops"],
    );
    if let Some(s) = service {
        summary.push_str(&format!(" Service: {s}"));
        if let Some(p) = alert["partner_with_jurisdiction"].as_str() {
            summary.push_str(&format!(" (jurisdiction of partner {p})"));
        }
        summary.push('.');
    }
    let indicator = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created": created,
        "modified": created,
        "created_by_ref": creator,
        "name": format!("Tainted address {address}"),
        "description": format!(
            "Case '{}': {address} holds or moved the case's tainted funds (live watch).",
            case.name
        ),
        "indicator_types": ["malicious-activity"],
        "pattern": crypto_wallet_pattern(chain, address),
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": [marking],
    });
    let sighting = json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": derived_id("sighting", &key(&sighting_key(alert_id, generation))),
        "created": at,
        "modified": at,
        "created_by_ref": creator,
        "sighting_of_ref": indicator_id,
        "first_seen": seen,
        "last_seen": seen,
        "count": 1,
        "description": summary,
        "external_references": [
            {"source_name": "tripoint", "external_id": alert_id},
            {"source_name": "tripoint-case", "external_id": case.id},
        ],
        "object_marking_refs": [marking],
    });
    Ok(vec![indicator, sighting])
}

fn sighting_key(alert_id: &str, generation: u32) -> String {
    match generation {
        0 => format!("sighting/{alert_id}"),
        g => format!("sighting/{alert_id}/{g}"),
    }
}

/// The alert a retraction (the live watch's JSON: `alert`, `retracted_at`,
/// `block`, `fork_block`) withdraws, as its sighting's next version:
/// `revoked: true`, `modified` the time of the retraction (at least a
/// millisecond after the version shared), the description saying why.
/// `generation` is the withdrawn alert's (see [`alert_objects`]).
pub fn revoked_sighting(
    case: &crate::Case,
    creator: &str,
    retraction: &Value,
    generation: u32,
) -> Result<Value, CaseError> {
    let mut objects = alert_objects(case, creator, &retraction["alert"], generation)?;
    let mut sighting = objects.pop().expect("an indicator and its sighting");
    let invalid = |msg: String| CaseError::Invalid {
        field: "retraction",
        msg,
    };
    let parse = |v: &Value, what: &str| {
        v.as_str()
            .ok_or_else(|| invalid(format!("no `{what}`")))
            .and_then(|t| {
                tripoint_stix::Timestamp::parse(t)
                    .map_err(|e| invalid(format!("{what} '{t}': {e}")))
            })
    };
    let shared = parse(&sighting["modified"], "modified")?;
    let at = parse(&retraction["retracted_at"], "retracted_at")?;
    let modified = tripoint_stix::Timestamp::from_unix_micros(
        at.unix_micros().max(shared.unix_micros() + 1_000),
    )
    .with_precision(3);
    sighting["modified"] = json!(modified.to_string());
    sighting["revoked"] = json!(true);
    let why = format!(
        " Withdrawn: block {} was orphaned by a chain reorganisation (the chains fork at block {}).",
        retraction["block"], retraction["fork_block"]
    );
    if let Some(d) = sighting["description"].as_str() {
        sighting["description"] = json!(format!("{d}{why}"));
    }
    Ok(sighting)
}
