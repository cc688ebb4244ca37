//! Redirect URIs as stored, and the application types they go with (OpenID Connect
//! Registration 1.0 §2, RFC 8252 for native apps).
//!
//! [`RedirectUri`] is what may be stored: absolute, without a fragment, at most
//! [`MAX_REDIRECT_URI_BYTES`], and of one of the [`RedirectKind`]s. Which kinds an app may
//! register — `localhost` is refused (RFC 8252 §8.3), private-use schemes are for native apps
//! only — is the broker's client rules' business; reading a stored app never fails on them.
//!
//! At `/authorize` a redirect URI matches a registered one byte for byte, except that a
//! loopback one (`http://127.0.0.1` or `http://[::1]`) matches whatever port the app chose at
//! run time (RFC 8252 §7.3: "the authorization server MUST allow any port to be specified at
//! the time of the request for loopback IP redirect URIs"); everything else about it — scheme,
//! host, path, query — stays byte-equal ([`RedirectUri::matches`]).

use serde::{Deserialize, Serialize};
use url::Url;

/// The longest redirect URI accepted (at registration, and so at `/authorize`).
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

/// OpenID Connect Registration 1.0 §2 `application_type`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// A web app: a server-side app or a single-page app; https redirect URIs (and http on
    /// loopback, for development).
    #[default]
    Web,
    /// A native app (RFC 8252): installed on a device, a public client; private-use scheme,
    /// claimed https or loopback redirect URIs.
    Native,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Web => "web",
            ApplicationType::Native => "native",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(ApplicationType::Web),
            "native" => Some(ApplicationType::Native),
            _ => None,
        }
    }

    pub fn is_web(&self) -> bool {
        *self == ApplicationType::Web
    }
}

/// What a redirect URI points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `https`: a web app's page, or a native app's claimed URL (RFC 8252 §7.2).
    Https,
    /// `http` on the loopback interface by IP literal, `127.0.0.1` or `[::1]` (RFC 8252 §7.3):
    /// the port may vary at run time.
    LoopbackIp,
    /// `http` on another loopback name or address (`localhost`, `127.0.0.2`): kept when stored
    /// before the rules refused it, never newly registered (RFC 8252 §8.3).
    OtherLoopback,
    /// A private-use URI scheme in reverse domain name form (RFC 8252 §7.1), e.g.
    /// `com.example.app:/oauth2redirect`.
    PrivateUse,
}

/// Schemes a browser or an operating system acts on by itself: never a redirect URI, even if a
/// later rule let a dotted name through.
const DANGEROUS_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "filesystem",
    "view-source",
    "ftp",
    "ws",
    "wss",
    "mailto",
    "tel",
    "sms",
    "intent",
    "chrome",
    "resource",
];

/// A private-use scheme (RFC 8252 §7.1): a reverse domain name — at least two dot-separated
/// labels, none empty — that is not one of the [`DANGEROUS_SCHEMES`].
fn is_private_use(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && !DANGEROUS_SCHEMES.contains(&scheme)
        && !matches!(scheme, "http" | "https")
}

/// A redirect URI as stored: absolute, no fragment, of a [`RedirectKind`]. Compared byte for
/// byte at use, but for the port of a loopback one ([`RedirectUri::matches`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What it points at.
    pub fn kind(&self) -> RedirectKind {
        match kind_of(&self.0) {
            Ok(k) => k,
            // Unreachable for a value built by `try_from`; the strictest reading otherwise.
            Err(_) => RedirectKind::OtherLoopback,
        }
    }

    /// Whether `requested` (the `redirect_uri` of an authorization request) is this one: byte
    /// for byte, or for a loopback IP one with any port (RFC 8252 §7.3).
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        match (loopback_parts(&self.0), loopback_parts(requested)) {
            (Some((host, rest)), Some((asked_host, asked_rest))) => {
                host == asked_host && rest == asked_rest
            }
            _ => false,
        }
    }
}

/// A loopback IP redirect URI split around its port: the scheme and host, and what follows
/// the port (path, query). `None` for anything else, or a port that is not 1 to 5 digits
/// without a leading zero naming 1..=65535.
fn loopback_parts(s: &str) -> Option<(&'static str, &str)> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let Some(after) = s.strip_prefix(host) else {
            continue;
        };
        let rest = match after.strip_prefix(':') {
            Some(p) => {
                let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
                let port = &p[..end];
                let valid = (1..=5).contains(&port.len())
                    && !port.starts_with('0')
                    && port.parse::<u32>().is_ok_and(|n| n <= 65_535);
                if !valid {
                    return None;
                }
                &p[end..]
            }
            None => after,
        };
        // Only a path or a query may follow the authority (no `@`, no further host).
        if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
            return None;
        }
        return Some((host, rest));
    }
    None
}

fn kind_of(s: &str) -> Result<RedirectKind, String> {
    if s.len() > MAX_REDIRECT_URI_BYTES {
        return Err(format!("longer than {MAX_REDIRECT_URI_BYTES} bytes"));
    }
    let url = Url::parse(s).map_err(|e| format!("not an absolute URI ({e})"))?;
    if s.contains('#') {
        return Err("must not contain a fragment".into());
    }
    match url.scheme() {
        "https" => Ok(RedirectKind::Https),
        "http" => {
            let literal = matches!(
                url.host(),
                Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST
            ) || matches!(
                url.host(),
                Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST
            );
            let other = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                || url.host_str() == Some("localhost");
            if literal && loopback_parts(s).is_some() {
                Ok(RedirectKind::LoopbackIp)
            } else if literal || other {
                Ok(RedirectKind::OtherLoopback)
            } else {
                Err("must use https (plain http is allowed only for loopback)".into())
            }
        }
        scheme if is_private_use(scheme) => Ok(RedirectKind::PrivateUse),
        // The scheme is not repeated: error texts never echo input.
        _ => Err(
            "the scheme must be https, http on loopback, or a private-use scheme in \
                  reverse domain name form (RFC 8252 §7.1)"
                .into(),
        ),
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        kind_of(&s)?;
        Ok(RedirectUri(s))
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> Self {
        r.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> RedirectUri {
        RedirectUri::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn what_may_be_stored() {
        let kind = |s: &str| RedirectUri::try_from(s.to_string()).map(|u| u.kind());
        assert_eq!(kind("https://app.example.com/cb"), Ok(RedirectKind::Https));
        assert_eq!(
            kind("http://127.0.0.1:9000/cb"),
            Ok(RedirectKind::LoopbackIp)
        );
        assert_eq!(kind("http://[::1]/cb"), Ok(RedirectKind::LoopbackIp));
        assert_eq!(kind("http://localhost/cb"), Ok(RedirectKind::OtherLoopback));
        assert_eq!(kind("http://127.0.0.2/cb"), Ok(RedirectKind::OtherLoopback));
        // Port 0 is no port an app listens on: never a loopback IP redirect URI.
        assert_eq!(
            kind("http://127.0.0.1:0/cb"),
            Ok(RedirectKind::OtherLoopback)
        );
        assert_eq!(
            kind("com.example.app:/oauth2redirect"),
            Ok(RedirectKind::PrivateUse)
        );
        assert_eq!(kind("com.example.app://cb"), Ok(RedirectKind::PrivateUse));
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "myapp:/cb",
            "com..example:/cb",
        ] {
            assert!(kind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_vary_and_nothing_else_does() {
        let bare = uri("http://127.0.0.1/callback");
        assert!(bare.matches("http://127.0.0.1/callback"));
        assert!(bare.matches("http://127.0.0.1:53219/callback"));
        let with_port = uri("http://127.0.0.1:8000/callback");
        assert!(with_port.matches("http://127.0.0.1:53219/callback"));
        assert!(with_port.matches("http://127.0.0.1/callback"));
        let v6 = uri("http://[::1]/cb?x=1");
        assert!(v6.matches("http://[::1]:65535/cb?x=1"));
        for other in [
            "http://127.0.0.1:53219/callback/",
            "http://127.0.0.1:53219/Callback",
            "http://127.0.0.1:53219/callback?x",
            "http://127.0.0.1:053219/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:80@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://[::1]:8000/callback",
            "https://127.0.0.1:8000/callback",
            "http://localhost:8000/callback",
        ] {
            assert!(!bare.matches(other), "{other}");
        }
        let https = uri("https://app.example.com/cb");
        assert!(!https.matches("https://app.example.com:444/cb"));
        let custom = uri("com.example.app:/cb");
        assert!(custom.matches("com.example.app:/cb"));
        assert!(!custom.matches("com.example.app:/cb2"));
    }
}
