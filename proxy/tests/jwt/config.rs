//! A route's `[routes.auth]` table with `kind = "jwt"`, read as the proxy configuration reads
//! it (figment, TOML), and the checks of `JwtValidator::compile`.

use tessera_proxy::policy::jwt::{JwtConfig, JwtValidator, Match, RequiredClaim};

use super::{registry, AUDIENCE};

/// The route table's enum, as the proxy configuration will have it.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Auth {
    Jwt(JwtConfig),
}

#[derive(Debug, serde::Deserialize)]
struct Route {
    auth: Auth,
}

fn from_toml(toml: &str) -> Result<Route, figment::Error> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(toml)).extract()
}

#[test]
fn toml_shape_and_defaults() {
    let route = from_toml(
        r#"
        [auth]
        kind = "jwt"
        openid_config_urls = ["https://dev-123.okta.com/oauth2/default/.well-known/openid-configuration"]
        audiences = ["api://default"]
        failure_message = "Unauthorized. Access token is missing or invalid."

        [[auth.required_claims]]
        name = "DealershipLocation"
        match = "any"
        values = ["Los Angeles", "San Francisco"]
        "#,
    )
    .unwrap();
    let Auth::Jwt(cfg) = route.auth;
    assert_eq!(cfg.algorithms, ["RS256"]);
    assert_eq!((cfg.leeway_secs, cfg.failure_status), (30, 401));
    assert_eq!(cfg.client_id_claims, ["cid", "client_id", "azp"]);
    assert!(cfg.issuers.is_empty());
    assert_eq!(cfg.required_claims[0].match_, Match::Any);
    let v = JwtValidator::compile(&cfg, registry(3600, 30)).unwrap();
    assert_eq!(v.failure_message(), cfg.failure_message.as_deref());

    let typo = from_toml("[auth]\nkind = \"jwt\"\nopenid_config_urls = []\naudience = [\"x\"]\n");
    assert!(typo.unwrap_err().to_string().contains("audience"));
}

#[test]
fn compile_errors_name_the_key() {
    let base = || JwtConfig {
        openid_config_urls: vec!["https://idp.example/.well-known/openid-configuration"
            .parse()
            .unwrap()],
        issuers: vec![],
        audiences: vec![AUDIENCE.into()],
        algorithms: vec!["RS256".into()],
        leeway_secs: 30,
        required_claims: vec![RequiredClaim {
            name: "groups".into(),
            match_: Match::All,
            values: vec![],
        }],
        failure_status: 401,
        failure_message: None,
        client_id_claims: vec!["cid".into()],
    };
    let err = |edit: fn(&mut JwtConfig)| {
        let mut cfg = base();
        edit(&mut cfg);
        JwtValidator::compile(&cfg, registry(3600, 30)).unwrap_err()
    };
    assert!(JwtValidator::compile(&base(), registry(3600, 30)).is_ok());
    assert_eq!(
        err(|c| c.algorithms = vec!["RS256".into(), "HS256".into()]),
        "algorithms[1]: HS256 is not allowed (symmetric)"
    );
    assert_eq!(
        err(|c| c.algorithms = vec!["none".into()]),
        "algorithms[0]: none is not allowed (unsigned)"
    );
    assert!(err(|c| c.algorithms = vec!["ES512".into()])
        .starts_with("algorithms[0]: ES512 is not supported"));
    assert!(err(|c| c.algorithms.clear()).starts_with("algorithms:"));
    assert!(err(|c| c.openid_config_urls.clear()).starts_with("openid_config_urls:"));
    assert!(
        err(|c| c.openid_config_urls = vec!["http://idp.example/x".parse().unwrap()])
            .starts_with("openid_config_urls[0]: must be https")
    );
    assert!(err(|c| c.failure_status = 500).starts_with("failure_status:"));
    assert!(err(|c| c.failure_message = Some("a\r\nb".into())).starts_with("failure_message:"));
    assert!(err(|c| c.leeway_secs = 3600).starts_with("leeway_secs:"));
    assert!(err(|c| c.audiences = vec![" ".into()]).starts_with("audiences[0]:"));
    assert!(err(|c| c.required_claims[0].name.clear()).starts_with("required_claims[0].name:"));
}
