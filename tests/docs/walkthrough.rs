//! `docs/walkthrough.md`, run: the real `tessera dev` on free ports, and every command of the
//! page's `console walkthrough` blocks run by `sh` as written (ports and the printed
//! credentials substituted), each printing what the page shows and answering the HTTP status
//! it documents. `curl` reports each status on stderr through a `.curlrc` of the test's own
//! (`write-out`), so the commands stay exactly as a reader pastes them.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::transcript::{output_matches, parse, Step};

/// The ports the page is written for: `tessera dev`'s defaults (broker, proxy, backend, proxy
/// status, broker status).
const DOC_PORTS: [u16; 5] = [8080, 8081, 8082, 8083, 8084];

/// A running `tessera dev`, killed on drop, and what it printed for the walk-through.
struct Dev {
    child: Child,
    base_port: u16,
    /// ID, SECRET, ADMIN_TOKEN, REGISTRATION.
    values: Vec<(&'static str, String)>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A first port N with N..N+4 free on 127.0.0.1, for `tessera dev --port N`.
fn free_port_block(seed: u64) -> u16 {
    (0..2000)
        .map(|i| 20_000 + ((seed + i * 7919) % 40_000) as u16)
        .find(|&n| (n..n + 5).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()))
        .expect("five free consecutive ports")
}

impl Dev {
    /// Starts `tessera dev`, retrying on other ports if one was taken meanwhile.
    fn start() -> Dev {
        let seed = u64::from(std::process::id()) * 31 + now_secs();
        for attempt in 0..5 {
            if let Some(dev) = Dev::try_start(free_port_block(seed + attempt * 104_729)) {
                return dev;
            }
        }
        panic!("tessera dev did not start on five port blocks");
    }

    fn try_start(base_port: u16) -> Option<Dev> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["dev", "--port", &base_port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TESSERA_")) {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().expect("spawning tessera dev");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    // Keep draining, so the process never blocks on a full pipe.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut printed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("Ctrl-C to stop") => break,
                Ok(line) => printed.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
        let value = |prefix: &str| -> String {
            let line = printed
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("tessera dev printed no `{prefix}`: {printed:?}"));
            line.split_whitespace().next().unwrap().to_string()
        };
        let values = vec![
            ("ID", value("  client_id     = ")),
            ("SECRET", value("  client_secret = ")),
            ("ADMIN_TOKEN", value("Admin token     = ")),
            ("REGISTRATION", value("Registration    = ")),
        ];
        Some(Dev {
            child,
            base_port,
            values,
        })
    }

    /// `text` with the page's ports replaced by this instance's.
    fn localise(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (i, doc) in DOC_PORTS.iter().enumerate() {
            let real = self.base_port + i as u16;
            out = out
                .replace(&format!(":{doc}"), &format!(":{real}"))
                .replace(&format!("%3A{doc}"), &format!("%3A{real}"));
        }
        out
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Fails loudly when a tool the walk-through runs is missing (CI installs them: .ci/run).
fn require(tool: &str, args: &[&str]) {
    let ok = Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{tool}` is required by the walk-through test (.ci/run installs it)"
    );
}

fn walkthrough_steps() -> Vec<Step> {
    let page = Path::new("docs/walkthrough.md");
    let steps: Vec<Step> = crate::fences(&crate::read(page))
        .iter()
        .filter(|f| f.tags() == ["console", "walkthrough"])
        .flat_map(|f| parse(&f.body, f.line))
        .collect();
    assert!(
        steps.len() >= 20,
        "the walk-through has {} steps",
        steps.len()
    );
    for s in &steps {
        assert!(
            s.shows_its_status(),
            "docs/walkthrough.md:{}: say what status `{}` answers (`# → 200`)",
            s.line,
            s.command
        );
    }
    steps
}

/// One script of all the steps, each preceded by a marker on stdout and stderr.
fn script(dev: &Dev, steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().enumerate() {
        if step.command.contains("/admin/usage") {
            out.push_str(&dev.localise(USAGE_FLUSHED));
        }
        out.push_str(&format!(
            "printf '\\n@@step {i}\\n'; printf '\\n@@step {i}\\n' >&2\n{}\n",
            dev.localise(&step.command)
        ));
    }
    out.push_str(&format!(
        "printf '\\n@@step {}\\n'; printf '\\n@@step {}\\n' >&2\n",
        steps.len(),
        steps.len()
    ));
    out
}

/// Run before a usage step, as the page says a reader may have to (ask again): waits, at
/// most 30 s, until `/admin/usage` counts a call. The proxy writes events in batches up to
/// `analytics.flush_interval_ms` after a call, and on a loaded machine the page's steps can run
/// closer together than that. `curl -q` skips the test's `.curlrc`, so that the wait writes
/// no status into the previous step's record.
const USAGE_FLUSHED: &str =
    "n=0; until curl -q -s -m 5 -H \"Authorization: Bearer $ADMIN_TOKEN\" \\
    http://127.0.0.1:8080/admin/usage | grep -q '\"total\":{\"calls\":[1-9]' || [ $n -ge 300 ]; \\
    do n=$((n+1)); sleep 0.1; done
";

/// What each step wrote to one stream, by the markers.
fn by_step(stream: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let start = format!("\n@@step {i}\n");
            let end = format!("\n@@step {}\n", i + 1);
            let from = stream.find(&start).expect("a step marker") + start.len();
            let to = from + stream[from..].find(&end).expect("the next marker");
            stream[from..to].to_string()
        })
        .collect()
}

/// Runs `script` in `dir` with the walk-through's variables; stdout and stderr.
fn run(dev: &Dev, dir: &Path, script: &str) -> (String, String) {
    let curlrc = "write-out = \"%{stderr}@status %{http_code}\\n\"\nmax-time = 30\n";
    std::fs::write(dir.join(".curlrc"), curlrc).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("CURL_HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &dev.values {
        cmd.env(k, v);
    }
    // Every request goes to 127.0.0.1 directly, whatever proxy the machine is set up with.
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().expect("running sh");
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the walk-through did not finish in 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_walkthrough_runs_against_tessera_dev_as_written() {
    require("curl", &["--version"]);
    require("sh", &["-c", "true"]);
    let steps = walkthrough_steps();
    let dev = Dev::start();
    // Step 3's quota counts per calendar minute: start well inside one.
    let into_minute = now_secs() % 60;
    if into_minute > 40 {
        std::thread::sleep(Duration::from_secs(61 - into_minute));
    }
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = run(&dev, dir.path(), &script(&dev, &steps));
    let outputs = by_step(&stdout, steps.len());
    let statuses = by_step(&stderr, steps.len());
    for (i, step) in steps.iter().enumerate() {
        let at = format!("docs/walkthrough.md:{} `{}`", step.line, step.command);
        let expected: Vec<String> = step.expected.iter().map(|l| dev.localise(l)).collect();
        let printed = outputs[i].trim_end_matches('\n');
        assert!(
            output_matches(&expected, printed),
            "{at}\nprinted:\n{printed}\nthe page shows:\n{}",
            expected.join("\n")
        );
        if let Some(status) = step.status {
            let got: Vec<&str> = statuses[i]
                .lines()
                .filter_map(|l| l.strip_prefix("@status "))
                .collect();
            assert!(
                !got.is_empty() && got.iter().all(|s| *s == status.to_string()),
                "{at}: answered {got:?}, the page says {status}; stderr: {}",
                statuses[i]
            );
        }
    }
}
