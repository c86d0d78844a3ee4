//! Where the project's files are, found at run time rather than baked in at
//! compile time, so an installed binary works away from its source tree.

use std::path::{Path, PathBuf};

/// The project directory: `$TRIPOINT_HOME` when set, else the nearest
/// ancestor of the running executable (then of the current directory) that
/// holds `scripts/peers/` — a checkout's `target/*/tripoint` finds its
/// checkout this way.
pub fn project_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("TRIPOINT_HOME") {
        return Some(PathBuf::from(home));
    }
    let is_project = |d: &Path| d.join("scripts/peers").is_dir();
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| is_project(d))
            .map(Path::to_path_buf)
    });
    from_exe.or_else(|| {
        let cwd = std::env::current_dir().ok()?;
        cwd.ancestors()
            .find(|d| is_project(d))
            .map(Path::to_path_buf)
    })
}

/// The project's `scripts/` folder (peers and the Python set-up script).
pub fn scripts_dir() -> crate::Result<PathBuf> {
    match project_dir() {
        Some(p) => Ok(p.join("scripts")),
        None => crate::error::fail!(
            "cannot find the project's scripts/ folder: set TRIPOINT_HOME to the tripoint source tree"
        ),
    }
}
