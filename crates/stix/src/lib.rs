//! STIX 2.1 object model, validation, patterns, TLP markings and content importers
