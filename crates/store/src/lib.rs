//! On-disk, memory-mapped, columnar transfer-graph store with immutable segments, an atomic manifest and labels with provenance
