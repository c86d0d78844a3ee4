//! Traffic Light Protocol markings: TLP 1.0 (STIX 2.1 §7.2.1) and TLP 2.0
//! (OASIS extension `extension-definition--60a3c5c5-…`), with their fixed ids.

use serde_json::{json, Value};

/// One TLP level of one TLP version. Both versions are kept apart because
/// partners may mark with either; [`Tlp::rank`] puts them on one scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tlp {
    V1White,
    V1Green,
    V1Amber,
    V1Red,
    V2Clear,
    V2Green,
    V2Amber,
    V2AmberStrict,
    V2Red,
}

/// Id of the OASIS TLP 2.0 property extension carried by the TLP 2.0 markings.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

impl Tlp {
    pub const ALL: [Tlp; 9] = [
        Tlp::V1White,
        Tlp::V1Green,
        Tlp::V1Amber,
        Tlp::V1Red,
        Tlp::V2Clear,
        Tlp::V2Green,
        Tlp::V2Amber,
        Tlp::V2AmberStrict,
        Tlp::V2Red,
    ];

    /// The fixed `marking-definition--…` id.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::V1White => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            Tlp::V1Green => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            Tlp::V1Amber => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            Tlp::V1Red => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            Tlp::V2Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::V2Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::V2Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::V2AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::V2Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// Display name as in the marking's `name`, e.g. `TLP:AMBER+STRICT`.
    pub fn name(self) -> &'static str {
        match self {
            Tlp::V1White => "TLP:WHITE",
            Tlp::V1Green | Tlp::V2Green => "TLP:GREEN",
            Tlp::V1Amber | Tlp::V2Amber => "TLP:AMBER",
            Tlp::V1Red | Tlp::V2Red => "TLP:RED",
            Tlp::V2Clear => "TLP:CLEAR",
            Tlp::V2AmberStrict => "TLP:AMBER+STRICT",
        }
    }

    /// Restrictiveness on one scale for both versions:
    /// WHITE/CLEAR 0 < GREEN 1 < AMBER 2 < AMBER+STRICT 3 < RED 4.
    pub fn rank(self) -> u8 {
        match self {
            Tlp::V1White | Tlp::V2Clear => 0,
            Tlp::V1Green | Tlp::V2Green => 1,
            Tlp::V1Amber | Tlp::V2Amber => 2,
            Tlp::V2AmberStrict => 3,
            Tlp::V1Red | Tlp::V2Red => 4,
        }
    }

    pub fn is_v2(self) -> bool {
        !matches!(
            self,
            Tlp::V1White | Tlp::V1Green | Tlp::V1Amber | Tlp::V1Red
        )
    }

    /// The full marking-definition object, exactly as OASIS publishes it.
    pub fn marking_definition(self) -> Value {
        if self.is_v2() {
            let level = match self {
                Tlp::V2Clear => "clear",
                Tlp::V2Green => "green",
                Tlp::V2Amber => "amber",
                Tlp::V2AmberStrict => "amber+strict",
                _ => "red",
            };
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": self.marking_id(),
                "created": "2022-10-01T00:00:00.000Z",
                "name": self.name(),
                "extensions": {
                    TLP2_EXTENSION_ID: {
                        "extension_type": "property-extension",
                        "tlp_2_0": level
                    }
                }
            })
        } else {
            let level = match self {
                Tlp::V1White => "white",
                Tlp::V1Green => "green",
                Tlp::V1Amber => "amber",
                _ => "red",
            };
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": self.marking_id(),
                "created": "2017-01-20T00:00:00.000Z",
                "definition_type": "tlp",
                "name": self.name(),
                "definition": { "tlp": level }
            })
        }
    }
}

/// The TLP level a marking-definition id stands for, if it is one of the nine fixed ids.
pub fn from_marking_id(id: &str) -> Option<Tlp> {
    Tlp::ALL.into_iter().find(|t| t.marking_id() == id)
}

/// The most restrictive TLP among `refs` (an object's `object_marking_refs`);
/// non-TLP refs are ignored. On equal rank the TLP 2.0 marking wins, so the
/// answer does not depend on the order of `refs`.
pub fn strictest(refs: &[String]) -> Option<Tlp> {
    refs.iter()
        .filter_map(|r| from_marking_id(r))
        .max_by_key(|t| (t.rank(), t.is_v2()))
}

/// RED and AMBER+STRICT objects go only to partners explicitly cleared for them.
pub fn requires_explicit_clearance(t: Tlp) -> bool {
    matches!(t, Tlp::V1Red | Tlp::V2Red | Tlp::V2AmberStrict)
}

/// All nine TLP marking-definitions (TLP 1.0 then TLP 2.0), shipped with the
/// crate so a machine without the data folder still has them.
pub fn marking_definitions() -> Vec<Value> {
    Tlp::ALL.iter().map(|t| t.marking_definition()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ts: &[Tlp]) -> Vec<String> {
        ts.iter().map(|t| t.marking_id().to_string()).collect()
    }

    #[test]
    fn strictest_picks_highest_rank_regardless_of_order() {
        let refs = ids(&[Tlp::V1Green, Tlp::V2AmberStrict, Tlp::V2Amber]);
        assert_eq!(strictest(&refs), Some(Tlp::V2AmberStrict));
        let mut rev = refs.clone();
        rev.reverse();
        assert_eq!(strictest(&rev), Some(Tlp::V2AmberStrict));
        assert_eq!(
            strictest(&ids(&[Tlp::V1Red, Tlp::V2Clear])),
            Some(Tlp::V1Red)
        );
        assert_eq!(strictest(&ids(&[Tlp::V1Red, Tlp::V2Red])), Some(Tlp::V2Red));
        assert_eq!(strictest(&ids(&[Tlp::V2Red, Tlp::V1Red])), Some(Tlp::V2Red));
        assert_eq!(
            strictest(&ids(&[Tlp::V1Amber, Tlp::V2AmberStrict])),
            Some(Tlp::V2AmberStrict)
        );
    }

    #[test]
    fn non_tlp_refs_are_ignored() {
        let other = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168".to_string();
        assert_eq!(strictest(std::slice::from_ref(&other)), None);
        assert_eq!(strictest(&[]), None);
        assert_eq!(
            strictest(&[other, Tlp::V1White.marking_id().to_string()]),
            Some(Tlp::V1White)
        );
    }

    #[test]
    fn clearance_is_required_for_red_and_amber_strict_only() {
        let need: Vec<Tlp> = Tlp::ALL
            .into_iter()
            .filter(|t| requires_explicit_clearance(*t))
            .collect();
        assert_eq!(need, vec![Tlp::V1Red, Tlp::V2AmberStrict, Tlp::V2Red]);
    }

    #[test]
    fn ids_round_trip_and_are_distinct() {
        for t in Tlp::ALL {
            assert_eq!(from_marking_id(t.marking_id()), Some(t));
            assert_eq!(t.marking_definition()["id"], t.marking_id());
        }
        let mut all: Vec<&str> = Tlp::ALL.iter().map(|t| t.marking_id()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 9);
    }
}
