//! Importers that normalise ethereum-etl CSV, bitcoin-etl JSON lines, generic transfer CSVs and Ethereum JSON-RPC into transfer records
