//! The one runner of the Python peers in `scripts/peers/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{fail, Context as _};

/// The Python with the benchmark peers installed, and the folder of their
/// scripts.
#[derive(Debug, Clone)]
pub struct Peers {
    python: PathBuf,
    scripts: PathBuf,
}

impl Peers {
    /// `$TRIPOINT_BENCH_PYTHON` or `$TRIPOINT_PYTHON` when set, else the
    /// project's venv, made or refreshed by `scripts/setup-python.sh --bench`.
    pub fn find() -> crate::Result<Peers> {
        let scripts = crate::locate::scripts_dir()?;
        let given = std::env::var_os("TRIPOINT_BENCH_PYTHON")
            .or_else(|| std::env::var_os("TRIPOINT_PYTHON"));
        let python = match given {
            Some(p) => PathBuf::from(p),
            None => {
                let setup = scripts.join("setup-python.sh");
                let out = Command::new("bash")
                    .arg(&setup)
                    .arg("--bench")
                    .output()
                    .with_context(|| format!("running {} --bench", setup.display()))?;
                if !out.status.success() {
                    fail!(
                        "{} --bench failed: {}",
                        setup.display(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let printed = String::from_utf8_lossy(&out.stdout);
                PathBuf::from(printed.trim().lines().last().unwrap_or("").trim())
            }
        };
        Ok(Peers { python, scripts })
    }

    /// With this Python, explicitly.
    pub fn with_python(python: PathBuf) -> crate::Result<Peers> {
        Ok(Peers {
            python,
            scripts: crate::locate::scripts_dir()?,
        })
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The path of `scripts/peers/<script>`.
    pub fn script(&self, script: &str) -> PathBuf {
        self.scripts.join("peers").join(script)
    }

    /// Run `scripts/peers/<script>` with `args`; its result is the JSON it
    /// prints last (one line, or a pretty-printed object).
    pub fn run_json(&self, script: &str, args: &[String]) -> crate::Result<serde_json::Value> {
        let path = self.script(script);
        let out = Command::new(&self.python)
            .arg(&path)
            .args(args)
            .output()
            .with_context(|| format!("starting {} {}", self.python.display(), path.display()))?;
        if !out.status.success() {
            fail!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        last_json(&String::from_utf8_lossy(&out.stdout))
            .with_context(|| format!("{script} printed no JSON result"))
    }
}

/// The last JSON value of a program's output: its last line that parses, or
/// else everything from the first `{` (a pretty-printed object).
pub(crate) fn last_json(text: &str) -> Option<serde_json::Value> {
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .or_else(|| serde_json::from_str(&text[text.find('{')?..]).ok())
}

#[cfg(test)]
mod tests {
    use super::last_json;

    #[test]
    fn finds_the_result_after_chatter() {
        let v = last_json("loading...\n{\"a\": 1}\n").expect("one-line JSON");
        assert_eq!(v["a"], 1);
        let v = last_json("note\n{\n  \"b\": [1, 2]\n}\n").expect("pretty JSON");
        assert_eq!(v["b"][1], 2);
        assert!(last_json("no json here").is_none());
    }
}
