//! Running one script of a standard-client suite (`tests/clients/python/`, `tests/clients/node/`)
//! against the broker under test: each script prints `OK <what>` per check and exits 0, prints
//! `FAIL <why>` and exits 1, or exits 3 when its packages are missing — which fails the test
//! with the command that installs them (the tests never skip).

/// A suite: the interpreter, the scripts' directory, and how to install its packages.
pub struct Suite {
    pub program: &'static str,
    pub dir: &'static str,
    pub install: &'static str,
}

impl Suite {
    /// Runs `script` with `args`; asserts it succeeded and printed a line starting with
    /// `OK <line>` for every `expected` line.
    pub async fn run(&self, script: &str, args: &[&str], expected: &[&str]) {
        let out = tokio::process::Command::new(self.program)
            .arg(format!("{}/{script}", self.dir))
            .args(args)
            .current_dir(self.dir)
            .output()
            .await
            .unwrap_or_else(|e| panic!("{} is required for these tests ({e})", self.program));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() != Some(3),
            "packages missing — run: {}\n{stdout}",
            self.install
        );
        assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
        for line in expected {
            assert!(
                stdout.lines().any(|l| l.starts_with(&format!("OK {line}"))),
                "missing 'OK {line}' in:\n{stdout}"
            );
        }
    }
}
