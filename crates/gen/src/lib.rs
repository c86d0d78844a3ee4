//! Deterministic generator of laundering scenarios as ethereum-etl CSVs with ground-truth labels
