//! The properties the store indexes, read from any object without typing it fully.

use serde_json::Value;

use crate::{vocab, StixError, Timestamp};

/// Common, store-relevant properties of one STIX object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub id: String,
    pub type_: String,
    /// `spec_version`; SCOs may omit it, then it is `"2.1"`.
    pub spec_version: String,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub created_by_ref: Option<String>,
    pub object_marking_refs: Vec<String>,
    pub revoked: bool,
}

impl ObjectMeta {
    /// Reads the common properties; fails if `id`/`type` are missing or a
    /// present property has the wrong shape. This is not validation: use
    /// [`crate::validate`] for that.
    pub fn from_value(v: &Value) -> Result<Self, StixError> {
        let obj = v.as_object().ok_or_else(|| StixError::Format {
            context: "STIX object".into(),
            message: "not a JSON object".into(),
        })?;
        let context = obj
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("STIX object")
            .to_string();
        let string = |p: &str, required: bool| -> Result<Option<String>, StixError> {
            match obj.get(p) {
                None if required => Err(StixError::MissingProperty {
                    context: context.clone(),
                    property: p.into(),
                }),
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(StixError::InvalidProperty {
                    context: context.clone(),
                    property: p.into(),
                    message: "must be a string".into(),
                }),
            }
        };
        let timestamp = |p: &str| -> Result<Option<Timestamp>, StixError> {
            string(p, false)?
                .map(|s| {
                    Timestamp::parse(&s).map_err(|e| StixError::InvalidProperty {
                        context: context.clone(),
                        property: p.into(),
                        message: e.to_string(),
                    })
                })
                .transpose()
        };
        let id = string("id", true)?.unwrap_or_default();
        let type_ = string("type", true)?.unwrap_or_default();
        let spec_version = string("spec_version", false)?.unwrap_or_else(|| "2.1".into());
        let object_marking_refs = match obj.get("object_marking_refs") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|r| r.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| StixError::InvalidProperty {
                    context: context.clone(),
                    property: "object_marking_refs".into(),
                    message: "must be a list of identifiers".into(),
                })?,
            Some(_) => {
                return Err(StixError::InvalidProperty {
                    context,
                    property: "object_marking_refs".into(),
                    message: "must be a list of identifiers".into(),
                })
            }
        };
        let revoked = match obj.get("revoked") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(StixError::InvalidProperty {
                    context,
                    property: "revoked".into(),
                    message: "must be a boolean".into(),
                })
            }
        };
        Ok(ObjectMeta {
            created: timestamp("created")?,
            modified: timestamp("modified")?,
            created_by_ref: string("created_by_ref", false)?,
            id,
            type_,
            spec_version,
            object_marking_refs,
            revoked,
        })
    }

    /// The object's version for TAXII: `modified`, else `created`; `None` for
    /// SCOs (they are not versioned: the id is derived from content).
    pub fn version(&self) -> Option<Timestamp> {
        if self.is_sco() {
            return None;
        }
        self.modified.or(self.created)
    }

    /// A Cyber-observable Object: one of the STIX SCO types (or our
    /// `cryptocurrency-wallet`), or an unknown type without `created`
    /// (custom SCOs have no common timestamps, custom SDOs must have them).
    pub fn is_sco(&self) -> bool {
        if vocab::is_sco_type(&self.type_) {
            return true;
        }
        !vocab::is_known_type(&self.type_) && self.created.is_none() && self.modified.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_common_properties_and_version() {
        let v = json!({
            "type": "malware", "spec_version": "2.1",
            "id": "malware--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
            "created": "2017-01-20T00:00:00.000Z", "modified": "2018-01-20T00:00:00Z",
            "created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
            "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"],
            "revoked": true, "name": "x", "is_family": true
        });
        let m = ObjectMeta::from_value(&v).unwrap();
        assert!(m.revoked);
        assert!(!m.is_sco());
        assert_eq!(m.version().unwrap().to_string(), "2018-01-20T00:00:00Z");
        assert_eq!(m.object_marking_refs.len(), 1);
    }

    #[test]
    fn scos_have_no_version_and_default_spec_version() {
        let v = json!({"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", "value": "198.51.100.3"});
        let m = ObjectMeta::from_value(&v).unwrap();
        assert!(m.is_sco());
        assert_eq!(m.version(), None);
        assert_eq!(m.spec_version, "2.1");
        let custom =
            json!({"type": "x-thing", "id": "x-thing--28bb3599-77cd-5a82-a950-b5bc3caf07c4"});
        assert!(ObjectMeta::from_value(&custom).unwrap().is_sco());
    }

    #[test]
    fn malformed_common_properties_are_errors_naming_the_property() {
        let v = json!({"type": "tool", "id": "tool--28bb3599-77cd-4a82-a950-b5bc3caf07c4", "created": "2017-01-20 00:00:00Z"});
        let e = ObjectMeta::from_value(&v).unwrap_err().to_string();
        assert!(e.contains("'created'"), "{e}");
        let e = ObjectMeta::from_value(&json!({"type": "tool"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'id'"), "{e}");
    }
}
