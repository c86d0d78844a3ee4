//! TAXII 2.1 server over a STIX 2.1 store (SQLite or PostgreSQL), with partner access, markings enforcement and audit
