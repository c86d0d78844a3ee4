//! Supply-chain early warning for critical minerals and batteries: importers, indicators, alerts and no-look-ahead back-tests
