//! `docs/configuration.md` against the real loaders, both ways: every key the broker's and the
//! proxy's loaders accept is documented in its part of the page (the broker's, the proxy's, the
//! routes'), every key the page's tables name is one they accept, with its environment
//! variable spelled right, and every key of the example files — commented out or not — is
//! accepted and documented.
//!
//! The keys a loader accepts are found by asking it: every section refuses unknown keys, and
//! serde's refusal lists the keys it expected. So a probe key is put into each table in turn,
//! and the tables the answer names are probed in turn.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Map, Value};
use tessera_broker::config::BrokerConfig;
use tessera_proxy::config::ProxyConfig;
use tessera_shared::config::env_name;

const PROBE: &str = "zz_probe";

type Loader = fn(Value) -> Result<(), String>;

fn broker_loader(v: Value) -> Result<(), String> {
    BrokerConfig::load(v, None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn proxy_loader(v: Value) -> Result<(), String> {
    ProxyConfig::load(v, None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A valid broker configuration with every optional section present.
fn broker_base() -> Value {
    let mut base = crate::broker_minimum();
    base["upstream"] = json!({ "issuer": "https://idp.example.com", "client_id": "c",
                               "client_secret": "s".repeat(40) });
    base["id_token"] = json!({ "generate_key": true });
    base
}

/// A valid proxy configuration with a route of each kind of authentication that has keys.
fn proxy_base() -> Value {
    let route = |name: &str, auth: Value| {
        json!({ "name": name, "path": format!("/{name}"), "upstream": "http://b.internal",
                "auth": auth })
    };
    let mut base = crate::proxy_minimum();
    base["routes"] = json!([
        route("t", json!({ "kind": "tessera" })),
        route(
            "j",
            json!({ "kind": "jwt", "openid_config_urls":
            ["https://idp.example.com/.well-known/openid-configuration"] })
        ),
        route("k", json!({ "kind": "api_key" })),
    ]);
    base
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The value at `path` in `v`, made (an empty table, or a table as the array's element) where
/// missing.
fn slot<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    let Some((first, rest)) = path.split_first() else {
        return v;
    };
    let next = match first {
        Seg::Key(k) => {
            if !v.is_object() {
                *v = json!({});
            }
            v.as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(json!({}))
        }
        Seg::Index(i) => {
            if !v.is_array() {
                *v = json!([{}]);
            }
            let a = v.as_array_mut().unwrap();
            while a.len() <= *i {
                a.push(json!({}));
            }
            &mut a[*i]
        }
    };
    slot(next, rest)
}

/// The keys the table at `path` accepts, or `None` when it is not a table with named keys (a
/// value, a map of names, or a table that ignores unknown keys).
fn table_keys(load: Loader, base: &Value, path: &[Seg]) -> Option<Vec<String>> {
    let mut v = base.clone();
    let at = slot(&mut v, path);
    match at {
        Value::Object(m) => {
            m.insert(PROBE.into(), json!(1));
        }
        _ => *at = json!({ PROBE: 1 }),
    }
    let err = load(v).err()?;
    let listed = err
        .split(&format!("unknown field: found `{PROBE}`, expected "))
        .nth(1)?;
    let listed = listed.split(" for key ").next().unwrap_or(listed);
    let keys: Vec<String> = listed
        .split('`')
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_string)
        .collect();
    Some(keys)
}

/// Whether the value at `path` must be a list (the loader says so of a table there).
fn is_list(load: Loader, base: &Value, path: &[Seg]) -> bool {
    let mut v = base.clone();
    *slot(&mut v, path) = json!({ PROBE: 1 });
    load(v).is_err_and(|e| e.contains("expected a sequence"))
}

/// Every key the loader accepts under `path`, dotted from `name` (list indices left out).
fn explore(load: Loader, base: &Value, path: Vec<Seg>, name: &str, out: &mut BTreeSet<String>) {
    let elements = if path.is_empty() || !is_list(load, base, &path) {
        vec![path]
    } else {
        let existing = {
            let mut v = base.clone();
            slot(&mut v, &path).as_array().map_or(0, Vec::len)
        };
        (0..existing.max(1))
            .map(|i| [path.clone(), vec![Seg::Index(i)]].concat())
            .collect()
    };
    for path in elements {
        for key in table_keys(load, base, &path).unwrap_or_default() {
            let dotted = if name.is_empty() {
                key.clone()
            } else {
                format!("{name}.{key}")
            };
            out.insert(dotted.clone());
            let deeper = [path.clone(), vec![Seg::Key(key)]].concat();
            explore(load, base, deeper, &dotted, out);
        }
    }
}

fn accepted(load: Loader, base: Value) -> BTreeSet<String> {
    load(base.clone()).expect("the probing base is a valid configuration");
    let mut keys = BTreeSet::new();
    explore(load, &base, Vec::new(), "", &mut keys);
    keys
}

/// The part of `page` under the heading `title` (to the next heading of its level or above).
fn section<'a>(page: &'a str, title: &str) -> &'a str {
    let start = page
        .find(&format!("\n{title}\n"))
        .unwrap_or_else(|| panic!("docs/configuration.md has no `{title}`"));
    let level = title.split(' ').next().unwrap();
    let rest = &page[start + title.len() + 2..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let hashes = rest[i + 1..].chars().take_while(|c| *c == '#').count();
            hashes <= level.len()
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The code spans of a line.
fn spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Whether `key` is in `text`: as a code span of its own, or its last part named inside a code
/// span on a line that names its parent (`limits.token` … `{ rate = "20ps", burst = 100 }`).
fn documented(text: &str, key: &str) -> bool {
    if text.lines().any(|l| spans(l).contains(&key)) {
        return true;
    }
    let Some((parent, leaf)) = key.rsplit_once('.') else {
        return false;
    };
    text.lines().any(|l| {
        let spans = spans(l);
        spans.contains(&parent)
            && spans.iter().any(|s| {
                s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == leaf)
            })
    })
}

/// The keys named in the first column of the tables of `text` (not what a parenthesis says of
/// them: `auth.header` (`api_key`)).
fn table_keys_named(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| spans(l.split('|').nth(1).unwrap().split('(').next().unwrap()))
        .map(str::to_string)
        .collect()
}

/// Whether `key` holds no other key of `keys` (a section is documented through its keys).
fn is_leaf(keys: &BTreeSet<String>, key: &str) -> bool {
    !keys.iter().any(|k| k.starts_with(&format!("{key}.")))
}

fn assert_documented(keys: &BTreeSet<String>, text: &str, part: &str, strip: &str) {
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| is_leaf(keys, k))
        .filter(|k| !documented(text, k.strip_prefix(strip).unwrap_or(k)))
        .collect();
    assert!(
        missing.is_empty(),
        "not documented in `{part}` of docs/configuration.md: {missing:?}"
    );
}

/// Every key a table names is accepted (or is a section holding accepted keys).
fn assert_known(keys: &BTreeSet<String>, text: &str, part: &str, prefix: &str) {
    for named in table_keys_named(text) {
        let key = format!("{prefix}{named}");
        let known = keys.contains(&key) || keys.iter().any(|k| k.starts_with(&format!("{key}.")));
        assert!(
            known,
            "`{part}` documents `{named}`, which the loader does not accept"
        );
    }
}

/// Every `TESSERA_…` variable in a table row is the row's key's (or one under it).
fn assert_env_names(text: &str) {
    for row in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').collect();
        let keys = spans(cells[1]);
        for var in spans(cells[2]).iter().filter(|s| s.starts_with("TESSERA_")) {
            let var = var.split('=').next().unwrap().trim_end_matches('…');
            let of = |k: &&str| {
                let own = env_name(k);
                var == own || var.starts_with(&format!("{own}__"))
            };
            assert!(keys.iter().any(of), "{var} is not the variable of {keys:?}");
        }
    }
}

#[test]
fn every_key_the_loaders_accept_is_documented_and_nothing_else() {
    let page = crate::read(Path::new("docs/configuration.md"));
    let broker = accepted(broker_loader, broker_base());
    let proxy = accepted(proxy_loader, proxy_base());
    // The probes reach the nested tables, the tagged ones included.
    for key in ["limits.token.burst", "upstream.claims", "id_token.ttl_secs"] {
        assert!(broker.contains(key), "{key}: {broker:?}");
    }
    for key in [
        "server.tls.cert",
        "routes.auth.required_claims.match",
        "routes.threat.json.max_depth",
    ] {
        assert!(proxy.contains(key), "{key}: {proxy:?}");
    }
    let (server, routes): (BTreeSet<String>, BTreeSet<String>) =
        proxy.into_iter().partition(|k| !k.starts_with("routes"));

    let broker_part = section(&page, "## The broker");
    let proxy_all = section(&page, "## The proxy");
    let routes_part = section(&page, "### Routes");
    let proxy_part = &proxy_all[..proxy_all.find("\n### Routes\n").unwrap()];
    assert_documented(&broker, broker_part, "## The broker", "");
    assert_documented(&server, proxy_part, "## The proxy", "");
    assert_documented(&routes, routes_part, "### Routes", "routes.");
    assert_known(&broker, broker_part, "## The broker", "");
    assert_known(&server, proxy_part, "## The proxy", "");
    assert_known(&routes, routes_part, "### Routes", "routes.");
    assert_env_names(broker_part);
    assert_env_names(proxy_part);
}

/// The example file with its commented-out keys and tables (`# key = …`, `# [table]`) put
/// back — a key set twice in a table (an alternative shown commented out) only once — and its
/// placeholders replaced by values that are not.
fn uncommented(example: &str) -> String {
    let mut seen = BTreeSet::new();
    let mut table = String::new();
    let mut out = Vec::new();
    for (i, line) in example.lines().enumerate() {
        let line = match line.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || key_of(rest).is_some() => rest,
            _ => line,
        };
        if line.starts_with('[') {
            // Each `[[routes]]` element is a table of its own.
            table = format!("{line}@{i}");
        } else if let Some(key) = key_of(line) {
            if !seen.insert(format!("{table}/{key}")) {
                continue;
            }
        }
        out.push(line.replace("CHANGE_ME", "not-a-placeholder-"));
    }
    out.join("\n")
}

/// The key a `key = value` line sets.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(" = ")?;
    let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_key.then_some(key)
}

/// Every dotted key of a TOML document (tables and array elements walked).
fn keys_of(v: &Value, name: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let dotted = if name.is_empty() {
                    k.clone()
                } else {
                    format!("{name}.{k}")
                };
                out.insert(dotted.clone());
                keys_of(v, &dotted, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys_of(v, name, out)),
        _ => {}
    }
}

fn toml_value(text: &str) -> Value {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract::<Map<String, Value>>()
        .map(Value::Object)
        .unwrap_or_else(|e| panic!("not TOML: {e}"))
}

#[test]
fn every_key_of_the_example_files_is_accepted_and_documented() {
    let page = crate::read(Path::new("docs/configuration.md"));
    let cases: [(&str, Loader); 2] = [
        ("tessera.example.toml", broker_loader),
        ("tessera-proxy.example.toml", proxy_loader),
    ];
    for (file, load) in cases {
        let text = uncommented(&crate::read(Path::new(file)));
        let value = toml_value(&text);
        load(value.clone()).unwrap_or_else(|e| panic!("{file}, uncommented: {e}"));
        let mut keys = BTreeSet::new();
        keys_of(&value, "", &mut keys);
        // Map entries (claim names, header names, methods) are values, not keys.
        let maps = [
            "upstream.claims.",
            "routes.forward.claims.",
            "routes.scopes.methods.",
            "signing.published_keys.",
        ];
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| is_leaf(&keys, k) && !maps.iter().any(|m| k.starts_with(m)))
            .filter(|k| !documented(&page, k.strip_prefix("routes.").unwrap_or(k)))
            .collect();
        assert!(
            missing.is_empty(),
            "{file}: not in docs/configuration.md: {missing:?}"
        );
    }
}
