//! Reports for people: aligned tables with header rows, amounts in whole
//! units with the asset's symbol (`400,001 ETH`), and the short summary that
//! answers "where is the money now, and what can still be frozen?".
//!
//! Machine output is the JSON of [`crate::report::Report`] (exact base units);
//! nothing here is meant to be parsed.

use std::collections::BTreeMap;
use std::fmt::Write;

use tripoint_chain::Amount;

use crate::report::{EndpointOut, Report, TotalsOut};
use crate::screen::Verdict;
use crate::taint::Role;

/// Column alignment of a [`TextTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table: a header row, then rows, columns padded to the widest
/// cell (widths in characters). The last column is not padded.
#[derive(Debug, Clone)]
pub struct TextTable {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl TextTable {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        TextTable {
            header: columns.iter().map(|c| c.0.to_string()).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Indent every line by `n` spaces.
    pub fn indent(mut self, n: usize) -> Self {
        self.indent = n;
        self
    }

    /// Add a row; missing cells are empty, extra cells are dropped.
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut width = vec![0usize; n];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            widen(&mut width, r);
        }
        let mut s = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            push_line(&mut s, r, &width, &self.align, self.indent);
        }
        s
    }
}

/// Widen `width` to the cells of one row (widths in characters).
fn widen(width: &mut [usize], row: &[String]) {
    for (w, c) in width.iter_mut().zip(row) {
        *w = (*w).max(c.chars().count());
    }
}

/// One line of a [`TextTable`]: cells padded to `width`, two spaces apart,
/// the last column not padded, trailing spaces trimmed.
fn push_line(s: &mut String, row: &[String], width: &[usize], align: &[Align], indent: usize) {
    let n = width.len();
    let start = s.len();
    s.extend(std::iter::repeat_n(' ', indent));
    for (i, c) in row.iter().enumerate() {
        let pad = width[i] - c.chars().count();
        let last = i + 1 == n;
        if i > 0 {
            s.push_str("  ");
        }
        match align[i] {
            Align::Right => {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(c);
            }
            Align::Left => {
                s.push_str(c);
                if !last {
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
    }
    let kept = s[start..].trim_end().len();
    s.truncate(start + kept);
    s.push('\n');
}

/// A [`TextTable`] rendered without holding its rows, so memory stays
/// that of one row however many there are: `widths(k, w)` widens `w` to
/// the width in characters of each cell of row `k` (without making the
/// text, where it can), then `fill(k, cells)` writes row `k` into `cells`
/// (cleared, one per column), and each line goes to `line` as it is made.
/// The text equals [`TextTable::render`]'s for the same rows when
/// `widths` gives the cells' true widths.
pub fn stream_table<E>(
    columns: &[(&str, Align)],
    rows: usize,
    mut widths: impl FnMut(usize, &mut [usize]),
    mut fill: impl FnMut(usize, &mut [String]),
    mut line: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let header: Vec<String> = columns.iter().map(|c| c.0.to_string()).collect();
    let align: Vec<Align> = columns.iter().map(|c| c.1).collect();
    let mut width = vec![0usize; header.len()];
    widen(&mut width, &header);
    for k in 0..rows {
        widths(k, &mut width);
    }
    let mut cells = vec![String::new(); header.len()];
    let mut s = String::new();
    push_line(&mut s, &header, &width, &align, 0);
    line(&s)?;
    for k in 0..rows {
        cells.iter_mut().for_each(String::clear);
        fill(k, &mut cells);
        s.clear();
        push_line(&mut s, &cells, &width, &align, 0);
        line(&s)?;
    }
    Ok(())
}

use Align::{Left, Right};

/// Addresses listed in the table before it says how many more there are.
pub const TABLE_ADDRESSES: usize = 200;
/// Spam transfers listed in the table.
pub const TABLE_SPAM: usize = 50;

/// The first label of an endpoint (the service), or its category.
fn service(e: &EndpointOut) -> &str {
    e.labels
        .first()
        .map_or(e.category.as_str(), |l| l.label.as_str())
}

/// `2025-02-24T14:07:23Z` -> `2025-02-24 14:07 UTC`.
fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// The whole report for a terminal: totals, endpoints, addresses, paths, spam.
pub fn report_table(r: &Report) -> String {
    let mut s = String::new();
    let seeds = r.seeds.join(", ");
    let _ = writeln!(
        s,
        "policy {}   seeds {}{}",
        r.policy.as_str(),
        seeds,
        r.from
            .as_ref()
            .map(|f| format!("   from {}", when(f)))
            .unwrap_or_default()
    );

    let _ = writeln!(
        s,
        "\nTOTALS in whole units (seeded + swapped_in = held + exited + unaccounted + swapped_out)"
    );
    let mut t = TextTable::new(&[
        ("asset", Left),
        ("seeded", Right),
        ("swapped_in", Right),
        ("swapped_out", Right),
        ("held", Right),
        ("exited", Right),
        ("unaccounted", Right),
        ("reconciles", Left),
    ]);
    for (k, x) in totals_in_order(r) {
        let mut row = totals_cells(r, k, x);
        row.push(if x.reconciles { "yes" } else { "no" }.into());
        t.row(row);
    }
    s.push_str(&t.render());

    let _ = writeln!(
        s,
        "\nENDPOINTS ({}; * = freeze candidate: an exchange still holding tainted funds)",
        r.endpoints.len()
    );
    let mut t = TextTable::new(&[
        ("", Left),
        ("address", Left),
        ("category", Left),
        ("service", Left),
        ("received", Right),
        ("held now", Right),
        ("asset", Left),
        ("first arrival", Left),
    ]);
    for e in &r.endpoints {
        t.row(vec![
            if e.freeze_candidate { "*" } else { "" }.into(),
            e.address.clone(),
            e.category.clone(),
            service(e).to_string(),
            r.units(&e.asset, &e.amount),
            r.units(&e.asset, &e.held_amount),
            r.asset_label(&e.asset).to_string(),
            when(&e.first_arrival),
        ]);
    }
    s.push_str(&t.render());

    let _ = writeln!(s, "\nADDRESSES ({})", r.addresses.len());
    let mut t = TextTable::new(&[
        ("address", Left),
        ("hops", Right),
        ("role", Left),
        ("label", Left),
        ("patterns", Left),
        ("taint received", Left),
    ]);
    for a in r.addresses.iter().take(TABLE_ADDRESSES) {
        let taint: Vec<String> = a.taint.iter().map(|(k, v)| r.amount(k, v)).collect();
        let pats: Vec<&str> = a.patterns.iter().map(|p| p.as_str()).collect();
        t.row(vec![
            a.address.clone(),
            a.hops.to_string(),
            role_name(a.role).into(),
            a.labels
                .first()
                .map(|l| l.label.clone())
                .unwrap_or_default(),
            pats.join(","),
            taint.join(", "),
        ]);
    }
    s.push_str(&t.render());
    if r.addresses.len() > TABLE_ADDRESSES {
        let _ = writeln!(
            s,
            "… {} more (use --format json)",
            r.addresses.len() - TABLE_ADDRESSES
        );
    }

    let _ = writeln!(
        s,
        "\nTOP PATHS ({}; hop 1 leaves a seed, the last hop reaches the endpoint)",
        r.paths.len()
    );
    let mut t = TextTable::new(&[
        ("path", Right),
        ("hop", Right),
        ("from", Left),
        ("to", Left),
        ("amount", Right),
        ("asset", Left),
        ("time", Left),
        ("tx", Left),
        ("kind", Left),
    ]);
    for (i, p) in r.paths.iter().enumerate() {
        for (j, h) in p.hops.iter().enumerate() {
            t.row(vec![
                (i + 1).to_string(),
                (j + 1).to_string(),
                h.from.clone(),
                h.to.clone(),
                r.units(&h.asset, &h.amount),
                r.asset_label(&h.asset).to_string(),
                when(&h.time),
                h.tx.clone(),
                if h.kind == "internal" {
                    "internal: a call by contract `from`".to_string()
                } else {
                    String::new()
                },
            ]);
        }
    }
    s.push_str(&t.render());

    if !r.swaps.is_empty() {
        let _ = writeln!(
            s,
            "\nSWAPS ({}; found from the transaction: the trader paid one asset and got another back)",
            r.swaps.len()
        );
        let mut t = TextTable::new(&[
            ("trader", Left),
            ("gave", Right),
            ("tainted", Right),
            ("got", Right),
            ("tainted", Right),
            ("counterparty", Left),
            ("time", Left),
            ("tx", Left),
        ]);
        for x in r.swaps.iter().take(TABLE_SPAM) {
            let leg = |l: &crate::report::SwapLegOut| {
                (
                    format!(
                        "{} {}",
                        r.units(&l.asset, &l.amount),
                        r.asset_label(&l.asset)
                    ),
                    r.units(&l.asset, &l.taint),
                )
            };
            let (gave, gave_t) = leg(&x.input);
            let got: Vec<_> = x.outputs.iter().map(leg).collect();
            t.row(vec![
                x.trader.clone(),
                gave,
                gave_t,
                got.iter()
                    .map(|g| g.0.clone())
                    .collect::<Vec<_>>()
                    .join(" + "),
                got.iter()
                    .map(|g| g.1.clone())
                    .collect::<Vec<_>>()
                    .join(" + "),
                x.counterparty.clone(),
                when(&x.time),
                x.tx.clone(),
            ]);
        }
        s.push_str(&t.render());
        if r.swaps.len() > TABLE_SPAM {
            let _ = writeln!(
                s,
                "… {} more (use --format json)",
                r.swaps.len() - TABLE_SPAM
            );
        }
    }

    let _ = writeln!(s, "\nSPAM ({} transfers, never tainted)", r.spam.len());
    let mut t = TextTable::new(&[
        ("reason", Left),
        ("from", Left),
        ("to", Left),
        ("amount", Right),
        ("asset", Left),
    ]);
    for x in r.spam.iter().take(TABLE_SPAM) {
        t.row(vec![
            x.reason.clone(),
            x.from.clone(),
            x.to.clone(),
            r.units(&x.asset, &x.amount),
            r.asset_label(&x.asset).to_string(),
        ]);
    }
    s.push_str(&t.render());
    if r.spam.len() > TABLE_SPAM {
        let _ = writeln!(
            s,
            "… {} more (use --format json)",
            r.spam.len() - TABLE_SPAM
        );
    }
    s
}

/// Totals in reading order: the native coin first, then tokens by name.
fn totals_in_order(r: &Report) -> Vec<(&String, &TotalsOut)> {
    let mut v: Vec<_> = r.totals.iter().collect();
    v.sort_by_key(|(k, _)| (k.starts_with("0x"), r.asset_label(k).to_lowercase()));
    v
}

/// One asset's totals in the tables' column order: asset, seeded (stolen),
/// swapped in, swapped out, held, exited, unaccounted.
fn totals_cells(r: &Report, asset: &str, x: &TotalsOut) -> Vec<String> {
    let u = |v: &str| r.units(asset, v);
    vec![
        r.asset_label(asset).to_string(),
        u(&x.seeded),
        u(&x.swapped_in),
        u(&x.swapped_out),
        u(&x.held),
        u(&x.exited),
        u(&x.unaccounted),
    ]
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Seed => "seed",
        Role::Walked => "walked",
        Role::Endpoint => "endpoint",
        Role::Dex => "dex",
    }
}

/// How many endpoints the summary lists.
pub const SUMMARY_ENDPOINTS: usize = 5;
/// How many freeze-candidate addresses the summary lists.
pub const SUMMARY_FREEZE: usize = 5;

/// The analyst's answer in a screenful: what was stolen and when, where it
/// is now (held, exited, swapped), what can still be frozen and where, and
/// the top endpoints.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    // What was stolen, and when.
    let stolen: Vec<String> = totals_in_order(r)
        .into_iter()
        .filter(|(_, t)| t.seeded != "0")
        .map(|(k, t)| r.amount(k, &t.seeded))
        .collect();
    let seeds: Vec<String> = r
        .addresses
        .iter()
        .filter(|a| a.role == Role::Seed)
        .map(|a| match a.labels.first() {
            Some(l) => format!("{} ({})", a.address, l.label),
            None => a.address.clone(),
        })
        .collect();
    let first_move = r
        .addresses
        .iter()
        .filter(|a| a.role == Role::Seed)
        .filter_map(|a| a.first_tainted.as_deref())
        .min();
    let _ = writeln!(
        s,
        "STOLEN       {}",
        if stolen.is_empty() {
            "nothing moved from the seeds in the traced window".to_string()
        } else {
            stolen.join(" + ")
        }
    );
    let _ = writeln!(s, "  by         {}", seeds.join(", "));
    let _ = writeln!(
        s,
        "  when       {}",
        match (r.from.as_deref(), first_move) {
            (Some(f), Some(m)) => format!("traced from {}; first moved {}", when(f), when(m)),
            (None, Some(m)) => format!("first moved {}", when(m)),
            (Some(f), None) => format!("traced from {}", when(f)),
            (None, None) => "-".into(),
        }
    );

    let _ = writeln!(
        s,
        "\nWHERE IT IS NOW ({} policy; whole units)",
        r.policy.as_str()
    );
    let mut t = TextTable::new(&[
        ("asset", Left),
        ("stolen", Right),
        ("swapped in", Right),
        ("swapped out", Right),
        ("held", Right),
        ("exited", Right),
        ("unaccounted", Right),
    ])
    .indent(2);
    for (k, x) in totals_in_order(r) {
        t.row(totals_cells(r, k, x));
    }
    s.push_str(&t.render());
    let _ = writeln!(
        s,
        "  held: still in addresses the trace walked; exited: reached an endpoint\n  (exchange, bridge, mixer); swapped: traded through a DEX for another asset."
    );

    // What can still be frozen, per service.
    let mut by_service: BTreeMap<(&str, &str), Vec<&EndpointOut>> = BTreeMap::new();
    for e in r.endpoints.iter().filter(|e| e.freeze_candidate) {
        by_service
            .entry((service(e), e.address.as_str()))
            .or_default()
            .push(e);
    }
    let mut per_asset: BTreeMap<&str, Amount> = BTreeMap::new();
    for e in r.endpoints.iter().filter(|e| e.freeze_candidate) {
        *per_asset.entry(e.asset.as_str()).or_default() += base(&e.held_amount);
    }
    if by_service.is_empty() {
        let _ = writeln!(
            s,
            "\nCAN STILL BE FROZEN: nothing (no exchange endpoint still holds tainted funds)"
        );
    } else {
        let total: Vec<String> = per_asset
            .iter()
            .map(|(k, v)| r.amount(k, &v.to_string()))
            .collect();
        let _ = writeln!(
            s,
            "\nCAN STILL BE FROZEN: {} at {} exchange address{}; ask:",
            total.join(" + "),
            by_service.len(),
            if by_service.len() == 1 { "" } else { "es" }
        );
        let mut rows: Vec<(Amount, Vec<String>)> = by_service
            .iter()
            .map(|((svc, addr), es)| {
                let held: Vec<String> = es
                    .iter()
                    .map(|e| r.amount(&e.asset, &e.held_amount))
                    .collect();
                let largest = es.iter().map(|e| base(&e.held_amount)).max();
                (
                    largest.unwrap_or_default(),
                    vec![svc.to_string(), addr.to_string(), held.join(" + ")],
                )
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut t = TextTable::new(&[
            ("service", Left),
            ("address", Left),
            ("tainted funds held now", Right),
        ])
        .indent(2);
        let more = rows.len().saturating_sub(SUMMARY_FREEZE);
        for (_, row) in rows.into_iter().take(SUMMARY_FREEZE) {
            t.row(row);
        }
        s.push_str(&t.render());
        if more > 0 {
            let _ = writeln!(
                s,
                "  … and {more} more (largest holdings first; `--format table` lists every endpoint)"
            );
        }
    }

    // Top endpoints by their share of the asset's taint (no prices needed).
    let mut top: Vec<(f64, &EndpointOut)> = r.endpoints.iter().map(|e| (share(r, e), e)).collect();
    top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.address.cmp(&b.1.address)));
    let _ = writeln!(
        s,
        "\nTOP {} ENDPOINTS (of {}; by share of the asset's stolen and swapped-in amount)",
        top.len().min(SUMMARY_ENDPOINTS),
        r.endpoints.len()
    );
    let mut t = TextTable::new(&[
        ("address", Left),
        ("category", Left),
        ("service", Left),
        ("received", Right),
        ("share", Right),
        ("held now", Right),
    ])
    .indent(2);
    for (sh, e) in top.iter().take(SUMMARY_ENDPOINTS) {
        t.row(vec![
            e.address.clone(),
            e.category.clone(),
            service(e).to_string(),
            r.amount(&e.asset, &e.amount),
            format!("{:.1}%", sh * 100.0),
            if e.held {
                r.amount(&e.asset, &e.held_amount)
            } else {
                "-".into()
            },
        ]);
    }
    s.push_str(&t.render());
    s
}

/// Screening verdicts as a table. `hops` is the exposure depth used (0:
/// direct hits only, exposure not computed).
pub fn verdicts_table(verdicts: &[Verdict], hops: u32) -> String {
    let exposure = format!("exposure ≤{hops} hops");
    let mut t = TextTable::new(&[
        ("address", Left),
        ("direct hit", Left),
        (exposure.as_str(), Right),
        ("received (most exposed asset)", Right),
        ("labels", Left),
    ]);
    for v in verdicts {
        // The asset with the highest share, the largest receipt on ties.
        let top = v.exposure.as_ref().and_then(|m| {
            m.iter().max_by(|a, b| {
                a.1.share
                    .total_cmp(&b.1.share)
                    .then(base(&a.1.received).cmp(&base(&b.1.received)))
            })
        });
        let received = top.map_or(String::new(), |(k, e)| {
            let v = base(&e.received);
            let n = match e.decimals {
                Some(d) => tripoint_chain::format_units(v, d),
                None => tripoint_chain::format_base_units(v),
            };
            let name = if e.symbol.is_empty() { k } else { &e.symbol };
            format!("{n} {name}")
        });
        let exposure = if !v.in_store {
            "not in store".to_string()
        } else if hops == 0 {
            "-".to_string()
        } else {
            format!("{:.2}%", v.max_exposure * 100.0)
        };
        let labels: Vec<String> = v
            .hits
            .iter()
            .chain(&v.labels)
            .map(|h| format!("{} ({}; {})", h.category, h.label, h.source))
            .collect();
        t.row(vec![
            v.address.clone(),
            if v.direct_hit { "HIT" } else { "-" }.into(),
            exposure,
            received,
            labels.join("; "),
        ]);
    }
    t.render()
}

fn base(s: &str) -> Amount {
    Amount::from_str_radix(s, 10).unwrap_or_default()
}

/// An endpoint's arrival as a share of everything tainted in its asset
/// (seeded plus swapped in). A ratio, so a float is fine.
fn share(r: &Report, e: &EndpointOut) -> f64 {
    let Some(t) = r.totals.get(&e.asset) else {
        return 0.0;
    };
    let whole = base(&t.seeded).saturating_add(base(&t.swapped_in));
    if whole == Amount::ZERO {
        return 0.0;
    }
    base(&e.amount).as_f64() / whole.as_f64()
}

/// The poison trace's reached set as a table: one row per address in
/// discovery order, with its hop distance, the first transfer that brought
/// taint (time and block) and its category where labels give one.
pub fn reached_table<G: tripoint_chain::TransferGraph>(g: &G, r: &crate::Reach) -> String {
    let mut t = TextTable::new(&REACHED_COLUMNS);
    for n in r.iter() {
        let first = n.first.map(|id| g.transfer(id));
        t.row(vec![
            g.address(n.addr).to_string(),
            role_name(n.role).into(),
            n.hops.to_string(),
            first
                .as_ref()
                .map(|f| crate::report::rfc3339(f.timestamp))
                .unwrap_or_else(|| "-".into()),
            first
                .as_ref()
                .map(|f| f.block.to_string())
                .unwrap_or_else(|| "-".into()),
            n.category
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    format!(
        "REACHED ({} addresses; poison: everything the funds can have touched)\n{}",
        r.len(),
        t.render()
    )
}

/// The columns of [`reached_table`].
const REACHED_COLUMNS: [(&str, Align); 6] = [
    ("address", Left),
    ("role", Left),
    ("hops", Right),
    ("first tainted", Left),
    ("block", Right),
    ("category", Left),
];

/// [`reached_table`]'s text, written a line at a time to `line` as it is
/// made ([`stream_table`]): a reached set of millions of addresses is
/// never held as text. The same bytes as [`reached_table`].
pub fn stream_reached_table<G: tripoint_chain::TransferGraph, E>(
    g: &G,
    r: &crate::Reach,
    mut line: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    use std::fmt::Write;
    line(&format!(
        "REACHED ({} addresses; poison: everything the funds can have touched)\n",
        r.len()
    ))?;
    let fill = |k: usize, cells: &mut [String]| {
        let n = r.get(k);
        let first = n.first.map(|id| g.transfer(id));
        // Writing into a String cannot fail.
        let _ = write!(cells[0], "{}", g.address(n.addr));
        cells[1].push_str(role_name(n.role));
        let _ = write!(cells[2], "{}", n.hops);
        match &first {
            Some(f) => {
                cells[3].push_str(&crate::report::rfc3339(f.timestamp));
                let _ = write!(cells[4], "{}", f.block);
            }
            None => {
                cells[3].push('-');
                cells[4].push('-');
            }
        }
        cells[5].push_str(n.category.as_ref().map_or("-", |c| c.as_str()));
    };
    // The widths without the text: an Ethereum address is 42 characters,
    // a time in years 0 to 9999 is 20.
    let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as usize + 1);
    let widths = |k: usize, w: &mut [usize]| {
        let n = r.get(k);
        let address = match g.address(n.addr) {
            tripoint_chain::Address::Eth(_) => 42,
            a => a.to_string().chars().count(),
        };
        let (time, block) = match n.first.map(|id| g.transfer(id)) {
            Some(f) if (0..253_402_300_800).contains(&f.timestamp) => (20, digits(f.block)),
            Some(f) => (
                crate::report::rfc3339(f.timestamp).chars().count(),
                digits(f.block),
            ),
            None => (1, 1),
        };
        let category = n
            .category
            .as_ref()
            .map_or(1, |c| c.as_str().chars().count());
        for (w, v) in w.iter_mut().zip([
            address,
            role_name(n.role).len(),
            digits(u64::from(n.hops)),
            time,
            block,
            category,
        ]) {
            *w = (*w).max(v);
        }
    };
    stream_table(&REACHED_COLUMNS, r.len(), widths, fill, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_a_header_and_aligned_columns() {
        let mut t = TextTable::new(&[("asset", Left), ("held", Right), ("note", Left)]);
        t.row(vec!["ETH".into(), "400,001".into(), "x".into()]);
        t.row(vec!["stETH".into(), "0.5".into()]);
        assert_eq!(
            t.render(),
            "asset     held  note\nETH    400,001  x\nstETH      0.5\n"
        );
        let t = TextTable::new(&[("a", Left)]).indent(2);
        assert_eq!(t.render(), "  a\n");
        assert_eq!(when("2025-02-24T14:07:23Z"), "2025-02-24 14:07 UTC");
    }

    #[test]
    fn a_streamed_table_equals_the_rendered_one() {
        let rows: Vec<Vec<String>> = [
            ["ETH", "400,001", "x"],
            ["stETH", "0.5", ""],
            ["日本円", "12", "a longer note"],
        ]
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
        let cols = [("asset", Left), ("held", Right), ("note", Left)];
        let mut t = TextTable::new(&cols);
        for r in &rows {
            t.row(r.clone());
        }
        let mut s = String::new();
        stream_table(
            &cols,
            rows.len(),
            |k, w| widen(w, &rows[k]),
            |k, cells| {
                for (c, v) in cells.iter_mut().zip(&rows[k]) {
                    c.push_str(v);
                }
            },
            |line| {
                s.push_str(line);
                Ok::<_, ()>(())
            },
        )
        .expect("a String takes every line");
        assert_eq!(s, t.render());
        assert!(s.contains("日本円         12  a longer note\n"), "{s}");
    }
}
