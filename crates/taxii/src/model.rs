//! What the store needs to know about a STIX object version, and the pure
//! rules deciding whether a new version may be stored: exact duplicates are
//! accepted silently, only the creator versions an object, `revoked` is final.

use serde_json::Value;

/// TAXII timestamps: RFC 3339 UTC with exactly six fractional digits.
pub fn format_micros(us: i64) -> String {
    tripoint_stix::Timestamp::from_unix_micros(us).to_string()
}

/// Parse an RFC 3339 timestamp (STIX or TAXII) to microseconds since the epoch.
pub fn parse_micros(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    // Sub-microsecond digits are dropped: TAXII compares at microsecond precision.
    Some(t.timestamp_micros())
}

pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// How far an object's TLP marking restricts who may read it. Ordered: a
/// partner cleared for `Red` may also read `AmberStrict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Restriction {
    /// Anything readable by every partner with `read` on the collection.
    Open = 0,
    /// TLP:AMBER+STRICT: only partners explicitly cleared for it.
    AmberStrict = 1,
    /// TLP:RED (1.0 or 2.0): only partners explicitly cleared for red.
    Red = 2,
}

impl Restriction {
    pub fn as_i16(self) -> i16 {
        self as i16
    }
    pub fn from_i16(v: i16) -> Self {
        match v {
            2 => Restriction::Red,
            1 => Restriction::AmberStrict,
            _ => Restriction::Open,
        }
    }
}

/// The restriction implied by an object's `object_marking_refs` (strictest TLP wins).
pub fn restriction_of(markings: &[String]) -> Restriction {
    use tripoint_stix::tlp::{requires_explicit_clearance, strictest, Tlp};
    match strictest(markings) {
        Some(t) if requires_explicit_clearance(t) => {
            if matches!(t, Tlp::V1Red | Tlp::V2Red) {
                Restriction::Red
            } else {
                Restriction::AmberStrict
            }
        }
        _ => Restriction::Open,
    }
}

/// One object version as the store keeps it.
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub id: String,
    pub type_: String,
    pub spec_version: String,
    /// `modified`, else `created`, in microseconds; `None` for objects with
    /// neither (SCOs), whose version becomes their `date_added`.
    pub version_us: Option<i64>,
    /// Identity id of the STIX creator (`created_by_ref`); empty for SCOs,
    /// which have no creator.
    pub creator: String,
    /// Identity id of whoever stored this version (the posting partner, or
    /// tripoint's identity for admin imports). TLP-restricted versions stay
    /// visible to their poster.
    pub poster: String,
    pub restriction: Restriction,
    pub revoked: bool,
    /// The object as JSON text, stored and served verbatim.
    pub body: String,
}

/// What the store already holds for one id in one collection.
#[derive(Clone, Debug)]
pub struct ExistingVersion {
    pub version_us: i64,
    pub creator: String,
    pub poster: String,
    pub restriction: Restriction,
    pub revoked: bool,
    pub body: String,
}

/// The outcome of the versioning rules for one new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Insert,
    /// The very same version (at this version timestamp) is already stored:
    /// success, nothing written.
    Duplicate(i64),
    Refuse(String),
}

/// Types whose objects belong to whoever first posted them, whatever their
/// `created_by_ref` says: who a party is, and what a marking means, must not
/// be rewritten by someone else.
pub fn owned_by_poster(type_: &str) -> bool {
    matches!(type_, "identity" | "marking-definition")
}

/// The one refusal for a write to an id the poster does not own. It is the
/// same whether the id belongs visibly to another creator or exists hidden
/// from the poster (TLP), and it names nobody.
pub fn not_writable(id: &str) -> String {
    format!("{id} cannot be written by this partner: another party owns it")
}

/// The versioning rules, with no I/O: the backends call this inside their write
/// transaction with what they hold for the id. `poster_clearance` is the most
/// restricted TLP level the poster may read in this collection.
pub fn decide(
    existing: &[ExistingVersion],
    new: &NewVersion,
    poster_clearance: Restriction,
) -> Decision {
    let visible = |e: &ExistingVersion| e.restriction <= poster_clearance || e.poster == new.poster;
    if new.creator.is_empty() {
        // An SCO has no creator: anyone may post it. A duplicate is only
        // reported against versions the poster may see, so posting never
        // reveals a hidden one.
        return match existing
            .iter()
            .find(|e| visible(e) && same_json(&e.body, &new.body))
        {
            Some(same) => Decision::Duplicate(same.version_us),
            None => Decision::Insert,
        };
    }
    if existing.iter().any(|e| !visible(e)) {
        return Decision::Refuse(not_writable(&new.id));
    }
    // Re-posting exactly what is stored confirms it, whoever posts it (two
    // partners re-sharing the same ATT&CK release).
    if let Some(v) = new.version_us {
        if let Some(same) = existing
            .iter()
            .find(|e| e.version_us == v && same_json(&e.body, &new.body))
        {
            return Decision::Duplicate(same.version_us);
        }
    }
    if existing.iter().any(|e| e.creator != new.creator)
        || (owned_by_poster(&new.type_) && existing.iter().any(|e| e.poster != new.poster))
    {
        return Decision::Refuse(not_writable(&new.id));
    }
    match new.version_us {
        Some(v) => {
            if let Some(same) = existing.iter().find(|e| e.version_us == v) {
                return if same_json(&same.body, &new.body) {
                    Decision::Duplicate(v)
                } else {
                    Decision::Refuse(format!(
                        "a different object with id {} and version {} is already stored",
                        new.id,
                        format_micros(v)
                    ))
                };
            }
            if let Some(rev) = existing.iter().find(|e| e.revoked) {
                if v > rev.version_us || !new.revoked {
                    return Decision::Refuse(format!(
                        "{} is revoked; a revoked object cannot be versioned",
                        new.id
                    ));
                }
            }
            Decision::Insert
        }
        None => match existing.iter().find(|e| same_json(&e.body, &new.body)) {
            Some(same) => Decision::Duplicate(same.version_us),
            None => Decision::Insert,
        },
    }
}

fn same_json(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: i64, creator: &str, revoked: bool, body: &str) -> NewVersion {
        NewVersion {
            id: "indicator--1".into(),
            type_: "indicator".into(),
            spec_version: "2.1".into(),
            version_us: Some(version),
            creator: creator.into(),
            poster: creator.into(),
            restriction: Restriction::Open,
            revoked,
            body: body.into(),
        }
    }
    fn e(n: &NewVersion) -> ExistingVersion {
        ExistingVersion {
            version_us: n.version_us.unwrap(),
            creator: n.creator.clone(),
            poster: n.poster.clone(),
            restriction: n.restriction,
            revoked: n.revoked,
            body: n.body.clone(),
        }
    }

    #[test]
    fn first_version_is_inserted_duplicate_is_accepted_conflict_refused() {
        let a = v(1, "identity--a", false, r#"{"x":1,"y":2}"#);
        assert_eq!(decide(&[], &a, Restriction::Open), Decision::Insert);
        let same_reordered = v(1, "identity--a", false, r#"{"y":2,"x":1}"#);
        assert_eq!(
            decide(&[e(&a)], &same_reordered, Restriction::Open),
            Decision::Duplicate(1)
        );
        let different = v(1, "identity--a", false, r#"{"x":3}"#);
        assert!(matches!(
            decide(&[e(&a)], &different, Restriction::Open),
            Decision::Refuse(_)
        ));
        assert_eq!(
            decide(
                &[e(&a)],
                &v(2, "identity--a", false, "{}"),
                Restriction::Open
            ),
            Decision::Insert
        );
    }

    #[test]
    fn only_the_creator_versions_and_revoked_is_final() {
        let a = v(1, "identity--a", false, "{}");
        assert!(
            matches!(decide(&[e(&a)], &v(2, "identity--b", false, "{}"), Restriction::Open), Decision::Refuse(m) if m.contains("another party owns it"))
        );
        let revoked = v(2, "identity--a", true, r#"{"revoked":true}"#);
        assert!(
            matches!(decide(&[e(&a), e(&revoked)], &v(3, "identity--a", false, "{}"), Restriction::Open), Decision::Refuse(m) if m.contains("revoked"))
        );
        assert!(matches!(
            decide(
                &[e(&a), e(&revoked)],
                &v(3, "identity--a", true, "{}"),
                Restriction::Open
            ),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn identities_and_marking_definitions_belong_to_their_poster() {
        // JP re-posts the US identity with a created_by_ref that passes the
        // creator rule: still refused, the identity is the US poster's.
        let mut us = v(1, "identity--us", false, r#"{"name":"United States"}"#);
        us.type_ = "identity".into();
        let mut forged = v(2, "identity--us", false, r#"{"name":"FAKE"}"#);
        forged.type_ = "identity".into();
        forged.poster = "identity--jp".into();
        assert_eq!(
            decide(&[e(&us)], &forged, Restriction::Open),
            Decision::Refuse(not_writable("indicator--1"))
        );
        let mut own = v(2, "identity--us", false, r#"{"name":"USA"}"#);
        own.type_ = "identity".into();
        assert_eq!(decide(&[e(&us)], &own, Restriction::Open), Decision::Insert);
    }

    #[test]
    fn scos_have_no_creator_and_hidden_versions_are_never_revealed() {
        let sco = |poster: &str, body: &str, restriction| NewVersion {
            id: "ipv4-addr--1".into(),
            type_: "ipv4-addr".into(),
            spec_version: "2.1".into(),
            version_us: None,
            creator: String::new(),
            poster: poster.into(),
            restriction,
            revoked: false,
            body: body.into(),
        };
        let stored = |n: &NewVersion, at: i64| ExistingVersion {
            version_us: at,
            ..e(&NewVersion {
                version_us: Some(at),
                ..n.clone()
            })
        };
        let us = sco("identity--us", r#"{"value":"1.2.3.4"}"#, Restriction::Open);
        let jp = sco("identity--jp", r#"{"value":"1.2.3.4"}"#, Restriction::Open);
        // The first poster does not block the others: the same SCO is a duplicate.
        assert_eq!(
            decide(&[stored(&us, 5)], &jp, Restriction::Open),
            Decision::Duplicate(5)
        );
        // Against a version JP may not see, JP's post is a fresh version, not
        // an "already stored" that would confirm the hidden one.
        let red = sco("identity--us", r#"{"value":"1.2.3.4"}"#, Restriction::Red);
        assert_eq!(
            decide(&[stored(&red, 5)], &jp, Restriction::Open),
            Decision::Insert
        );
        // An SDO hidden from the poster: the refusal is the generic one and
        // names no creator.
        let mut hidden = v(1, "identity--us", false, "{}");
        hidden.restriction = Restriction::Red;
        let mut probe = v(2, "identity--jp", false, "{}");
        probe.poster = "identity--jp".into();
        match decide(&[e(&hidden)], &probe, Restriction::Open) {
            Decision::Refuse(m) => {
                assert_eq!(m, not_writable("indicator--1"));
                assert!(!m.contains("identity--us"));
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn timestamps_round_trip_at_microsecond_precision() {
        let us = parse_micros("2024-03-01T12:34:56.123456Z").unwrap();
        assert_eq!(format_micros(us), "2024-03-01T12:34:56.123456Z");
        assert_eq!(
            format_micros(parse_micros("2024-03-01T12:34:56.1Z").unwrap()),
            "2024-03-01T12:34:56.100000Z"
        );
        assert!(parse_micros("2024-13-01T00:00:00Z").is_none());
    }
}
