//! Configuration loading: file, environment overrides, validation messages that name the key.
//! A test binary of its own, because it changes environment variables.

// Tests may panic on what they did not expect: that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::path::Path;

use figment::Jail;
use serde_json::json;
use tessera_broker::config::BrokerConfig;
use tessera_proxy::config::ProxyConfig;

const MINIMAL: &str = r#"
[server]
issuer = "https://auth.example.com/"
[store]
url = "redis://127.0.0.1:6379"
[admin]
token = "0123456789abcdef0123456789abcdef"
[security]
pepper = "fedcba9876543210fedcba9876543210"
"#;

fn load(jail: &mut Jail, toml: &str) -> Result<BrokerConfig, String> {
    jail.create_file("tessera.toml", toml)
        .map_err(|e| e.to_string())?;
    BrokerConfig::load(json!({}), Some(Path::new("tessera.toml"))).map_err(|e| e.to_string())
}

#[test]
fn a_minimal_file_loads_with_documented_defaults() {
    Jail::expect_with(|jail| {
        let c = load(jail, MINIMAL).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.issuer(), "https://auth.example.com");
        assert_eq!(c.store.prefix, "tessera:");
        assert_eq!(c.tokens.access_token_ttl_secs, 3600);
        assert!(c.registration.initial_access_token.is_none());
        Ok(())
    });
}

#[test]
fn environment_overrides_nested_keys() {
    Jail::expect_with(|jail| {
        jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "42");
        jail.set_env("TESSERA_STORE__URL", "memory");
        jail.set_env("TESSERA_CONFIG", "ignored-as-a-key");
        jail.set_env("TESSERA_UNRELATED", "ignored too");
        let c = load(jail, MINIMAL).unwrap();
        assert_eq!(c.tokens.access_token_ttl_secs, 42);
        assert_eq!(c.store.url, "memory");
        Ok(())
    });
}

/// MINIMAL with `extra` ("[section]\nkey = value") spliced in, replacing any same-named key.
fn with_line(extra: &str) -> String {
    let (section, line) = extra.split_once('\n').unwrap();
    let key = line.split('=').next().unwrap().trim();
    let mut out: Vec<String> = MINIMAL
        .lines()
        .filter(|l| l.split('=').next().map(str::trim) != Some(key))
        .map(str::to_string)
        .collect();
    match out.iter().position(|l| l == section) {
        Some(i) => out.insert(i + 1, line.to_string()),
        None => {
            out.push(section.to_string());
            out.push(line.to_string());
        }
    }
    out.join("\n")
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[tokens]\naccess_token_ttl_secs = 0",
            "tokens.access_token_ttl_secs",
            "TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS",
        ),
        (
            "[tokens]\naccess_token_ttl_secs = \"soon\"",
            "access_token_ttl_secs",
            "",
        ),
        (
            "[server]\nissuer = \"http://auth.example.com\"",
            "server.issuer",
            "TESSERA_SERVER__ISSUER",
        ),
        (
            "[server]\nissuer = \"https://a.example.com/?x=1\"",
            "server.issuer",
            "",
        ),
        ("[server]\nlisten = \"nowhere\"", "listen", ""),
        ("[server]\nmax_body_bytes = 10", "server.max_body_bytes", ""),
        ("[store]\nurl = \"postgres://x\"", "store.url", ""),
        ("[store]\nprefix = \"a{b}\"", "store.prefix", ""),
        (
            "[admin]\ntoken = \"short\"",
            "admin.token",
            "TESSERA_ADMIN__TOKEN",
        ),
        ("[security]\npepper = \"short\"", "security.pepper", ""),
        ("[log]\nformat = \"xml\"", "log.format", ""),
        ("[log]\nlevel = \"[[[\"", "log.level", ""),
        (
            "[registration]\nallowed_scopes = [\"a b\"]",
            "registration.allowed_scopes",
            "",
        ),
        (
            "[tokens]\nacces_token_ttl_secs = 5",
            "acces_token_ttl_secs",
            "",
        ),
    ];
    for (extra, key, env) in cases {
        Jail::expect_with(|jail| {
            let base = with_line(extra);
            let err = load(jail, &base).expect_err(extra);
            assert!(err.contains(key), "{extra}: {err}");
            assert!(err.contains(env), "{extra}: {err}");
            Ok(())
        });
    }
}

#[test]
fn the_broker_never_picks_a_store_by_itself() {
    Jail::expect_with(|jail| {
        let without_store = MINIMAL.replace("[store]\nurl = \"redis://127.0.0.1:6379\"\n", "");
        let err = load(jail, &without_store).unwrap_err();
        assert!(err.contains("store.url") && err.contains("memory"), "{err}");
        Ok(())
    });
}

#[test]
fn missing_files_and_required_sections_are_errors() {
    Jail::expect_with(|_| {
        let err =
            BrokerConfig::load(json!({}), Some(Path::new("/no/such/tessera.toml"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
        let err = BrokerConfig::load(json!({}), None).unwrap_err().to_string();
        assert!(err.contains("admin") || err.contains("security"), "{err}");
        Ok(())
    });
}

#[test]
fn placeholder_and_short_secrets_are_refused_naming_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[admin]\ntoken = \"CHANGE_ME_ADMIN_TOKEN_AT_LEAST_32_CHARACTERS\"",
            "admin.token",
            "TESSERA_ADMIN__TOKEN",
        ),
        (
            "[security]\npepper = \"change_me_pepper_at_least_32_characters_long\"",
            "security.pepper",
            "TESSERA_SECURITY__PEPPER",
        ),
        (
            "[registration]\ninitial_access_token = \"xxxxxxxxChangeMexxxxxxxxxxxxxxxxxxxxxxxxx\"",
            "registration.initial_access_token",
            "TESSERA_REGISTRATION__INITIAL_ACCESS_TOKEN",
        ),
        (
            "[registration]\ninitial_access_token = \"too-short\"",
            "registration.initial_access_token",
            "at least 32 characters",
        ),
        (
            "[store]\nurl = \"redis://broker:CHANGE_ME_BROKER@127.0.0.1:6379\"",
            "store.url",
            "TESSERA_STORE__URL",
        ),
    ];
    for (extra, key, also) in cases {
        Jail::expect_with(|jail| {
            let err = load(jail, &with_line(extra)).expect_err(extra);
            assert!(err.contains(key), "{extra}: {err}");
            assert!(err.contains(also), "{extra}: {err}");
            if extra.to_ascii_lowercase().contains("change") {
                assert!(err.contains("CHANGE_ME placeholder"), "{err}");
            }
            assert!(
                !err.contains("AT_LEAST_32"),
                "the secret is not echoed: {err}"
            );
            Ok(())
        });
    }
}

#[test]
fn the_example_file_does_not_start_until_its_placeholders_are_replaced() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("tessera.example.toml");
    Jail::expect_with(|jail| {
        let err = BrokerConfig::load(json!({}), Some(&example))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHANGE_ME placeholder"), "{err}");
        // With the secrets given (as the environment would), the example is a valid file.
        jail.set_env(
            "TESSERA_STORE__URL",
            "redis://broker:s3cret-from-the-env@127.0.0.1:6379",
        );
        jail.set_env("TESSERA_ADMIN__TOKEN", "a".repeat(40));
        jail.set_env("TESSERA_SECURITY__PEPPER", "p".repeat(40));
        let c = BrokerConfig::load(json!({}), Some(&example)).unwrap();
        assert_eq!(c.limits.token.burst, 100);
        assert_eq!(c.tokens.refresh_grace_secs, 0);
        assert_eq!(c.server.status_listen.to_string(), "127.0.0.1:9080");
        Ok(())
    });
}

#[test]
fn the_proxy_example_does_not_start_until_its_placeholders_are_replaced() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("tessera-proxy.example.toml");
    Jail::expect_with(|jail| {
        let err = ProxyConfig::load(json!({}), Some(&example))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHANGE_ME placeholder"), "{err}");
        // The proxy's two secrets from the environment, as docs/operations.md says.
        jail.set_env(
            "TESSERA_STORE__URL",
            "redis://proxy:s3cret-from-the-env@127.0.0.1:6379",
        );
        let err = ProxyConfig::load(json!({}), Some(&example))
            .unwrap_err()
            .to_string();
        assert!(err.contains("security.pepper"), "{err}");
        jail.set_env("TESSERA_SECURITY__PEPPER", "p".repeat(40));
        let c = ProxyConfig::load(json!({}), Some(&example)).unwrap();
        assert_eq!(c.routes.len(), 4);
        assert_eq!(c.server.max_headers, 96);
        assert!(c.introspection.is_none());
        Ok(())
    });
}

#[test]
fn limits_are_configurable_and_checked() {
    Jail::expect_with(|jail| {
        jail.set_env("TESSERA_LIMITS__TOKEN__RATE", "50ps");
        jail.set_env("TESSERA_LIMITS__TOKEN__BURST", "7");
        let c = load(jail, MINIMAL).unwrap();
        assert_eq!(String::from(c.limits.token.rate), "50ps");
        assert_eq!(c.limits.token.burst, 7);
        assert!(c.limits.enabled);
        Ok(())
    });
    for (extra, key) in [
        // (`token` would collide with admin.token in with_line.)
        (
            "[limits]\nintrospect = { rate = \"0ps\", burst = 1 }",
            "rate",
        ),
        (
            "[limits]\nintrospect = { rate = \"5ps\", burst = 0 }",
            "limits.introspect.burst",
        ),
        (
            "[limits]\npending_logins_total = 0",
            "limits.pending_logins_total",
        ),
        ("[limits]\nmistake = 1", "mistake"),
        (
            "[tokens]\nrefresh_grace_secs = 61",
            "tokens.refresh_grace_secs",
        ),
        (
            "[server]\ntrusted_proxies = [\"not-a-net\"]",
            "trusted_proxies",
        ),
    ] {
        Jail::expect_with(|jail| {
            let err = load(jail, &with_line(extra)).expect_err(extra);
            assert!(err.contains(key), "{extra}: {err}");
            Ok(())
        });
    }
}

#[test]
fn a_cluster_is_named_in_the_file_or_the_environment() {
    Jail::expect_with(|jail| {
        let file = MINIMAL.replace(
            "url = \"redis://127.0.0.1:6379\"",
            "cluster_nodes = [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]",
        );
        let c = load(jail, &file).unwrap();
        assert_eq!(c.store.cluster_nodes.len(), 2);
        assert!(c.store.url.is_empty());
        // The form docs/configuration.md gives for the environment.
        jail.set_env("TESSERA_STORE__URL", "");
        jail.set_env(
            "TESSERA_STORE__CLUSTER_NODES",
            r#"["rediss://a.internal:6379","rediss://b.internal:6379","rediss://c.internal:6379"]"#,
        );
        let c = load(jail, MINIMAL).unwrap();
        assert_eq!(
            c.store.cluster_nodes,
            [
                "rediss://a.internal:6379",
                "rediss://b.internal:6379",
                "rediss://c.internal:6379"
            ]
        );
        Ok(())
    });
}

/// One `[[upstreams]]` entry for the tests below.
fn provider(id: &str, issuer: &str, extra: &str) -> String {
    format!(
        "[[upstreams]]\nid = \"{id}\"\nissuer = \"{issuer}\"\nclient_id = \"tessera\"\n\
         client_secret = \"0123456789abcdef0123456789abcdef\"\n{extra}\n"
    )
}

#[test]
fn several_upstreams_load_with_their_default_first() {
    Jail::expect_with(|jail| {
        let toml = format!(
            "{MINIMAL}[id_token]\ngenerate_key = true\n{}{}[portal]\nupstream = \"partners\"\n",
            provider(
                "employees",
                "https://a.example.com",
                "domains = [\"example.com\"]"
            ),
            provider("partners", "https://b.example.com", "default = true"),
        );
        let c = load(jail, &toml).unwrap();
        let ids: Vec<String> = c.identity_providers().into_iter().map(|u| u.id).collect();
        assert_eq!(ids, ["partners", "employees"]);
        // `[upstream]` alone is the provider `default`.
        let single = MINIMAL.to_string()
            + "[id_token]\ngenerate_key = true\n[upstream]\nissuer = \"https://a.example.com\"\n\
               client_id = \"t\"\nclient_secret = \"0123456789abcdef0123456789abcdef\"\n";
        let c = load(jail, &single).unwrap();
        assert_eq!(c.identity_providers()[0].id, "default");
        Ok(())
    });
}

#[test]
fn bad_upstream_lists_are_refused_at_start_naming_the_key() {
    let a = provider("employees", "https://a.example.com", "");
    let cases: Vec<(String, &str)> = vec![
        (
            a.clone() + &a.replace("a.example", "c.example"),
            "upstreams[1].id",
        ),
        (
            a.clone() + &a.replace("employees", "partners"),
            "upstreams[1].issuer",
        ),
        (
            provider("Bad Id", "https://a.example.com", ""),
            "upstreams[0].id",
        ),
        (provider("", "https://a.example.com", ""), "upstreams[0].id"),
        (
            provider("e", "https://a.example.com", "domains = [\"Example.com\"]"),
            "upstreams[0].domains[0]",
        ),
        (
            provider("e", "https://a.example.com", "domains = [\"x.example\"]")
                + &provider("p", "https://b.example.com", "domains = [\"x.example\"]"),
            "upstreams[1].domains",
        ),
        (
            provider("e", "https://a.example.com", "default = true")
                + &provider("p", "https://b.example.com", "default = true"),
            "upstreams",
        ),
        (
            a.clone()
                + "[upstream]\nissuer = \"https://z.example.com\"\nclient_id = \"t\"\n\
                   client_secret = \"0123456789abcdef0123456789abcdef\"\n",
            "not both",
        ),
        (
            a.clone() + "[portal]\nupstream = \"partners\"\n",
            "portal.upstream",
        ),
        (
            provider("e", "http://a.example.com", ""),
            "upstreams[0].issuer",
        ),
    ];
    for (extra, key) in cases {
        Jail::expect_with(|jail| {
            let toml = format!("{MINIMAL}[id_token]\ngenerate_key = true\n{extra}");
            let err = load(jail, &toml).expect_err(&extra);
            assert!(err.contains(key), "{extra}: {err}");
            Ok(())
        });
    }
}
