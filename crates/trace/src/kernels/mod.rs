//! Fast kernels: special cases of the general engine that give bit-identical
//! results or decline (`None`), after which the caller runs the engine.

pub mod reach;
pub mod sweep;
