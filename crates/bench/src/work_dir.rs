//! The one work directory every benchmark writes into.

use std::path::{Path, PathBuf};

use crate::error::fail;

/// A benchmark's scratch folder: the user's `--dir` (created if missing,
/// refused if it holds anything, kept afterwards), or a temporary one removed
/// when the run ends, however it ends.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    /// `given`, or a fresh temporary folder named after `engine`.
    pub fn new(given: Option<&Path>, engine: &str) -> crate::Result<WorkDir> {
        match given {
            Some(p) => {
                // A leftover run is neither appended to nor deleted: it may
                // be the user's data.
                if p.read_dir().is_ok_and(|mut d| d.next().is_some()) {
                    fail!(
                        "--dir {}: the directory is not empty (a previous run?); remove it or give a new one",
                        p.display()
                    );
                }
                std::fs::create_dir_all(p)?;
                Ok(WorkDir {
                    path: p.to_path_buf(),
                    remove: false,
                })
            }
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let p = std::env::temp_dir().join(format!(
                    "tripoint-bench-{engine}-{}-{nanos}",
                    std::process::id()
                ));
                std::fs::create_dir_all(&p)?;
                Ok(WorkDir {
                    path: p,
                    remove: true,
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WorkDir;

    #[test]
    fn a_given_dir_must_be_empty_and_is_kept_a_temporary_one_is_removed() {
        let base =
            std::env::temp_dir().join(format!("tripoint-workdir-test-{}", std::process::id()));
        let given = base.join("given");
        {
            let w = WorkDir::new(Some(&given), "t").expect("a new dir is fine");
            std::fs::write(w.path().join("x"), b"x").expect("writable");
        }
        assert!(given.join("x").is_file(), "the user's dir is kept");
        let err = WorkDir::new(Some(&given), "t").expect_err("not empty");
        assert!(err.to_string().contains("not empty"), "{err}");
        let temp = WorkDir::new(None, "t")
            .expect("temporary")
            .path()
            .to_path_buf();
        assert!(!temp.exists(), "removed on drop");
        std::fs::remove_dir_all(&base).expect("cleanup");
    }
}
