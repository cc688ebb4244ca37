//! The device flow's pages (RFC 8628 §3.3): the code entry form (`/device`), the confirmation
//! of what the device asks for (`/device/confirm`), and the end. Every dynamic value is
//! escaped; the pages carry no script. Their Content-Security-Policy allows their one
//! stylesheet by hash and forms posting to the broker itself — and, for the entry form, the
//! upstream provider's origin, since submitting it redirects there to log in (browsers apply
//! `form-action` to the redirects that follow a submission).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// The pages' stylesheet, allowed by [`STYLE_HASH`].
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;\
padding:0 1rem;color:#222}h1{font-size:1.4rem}input[name=user_code]{font-size:1.6rem;\
letter-spacing:.2rem;text-transform:uppercase;width:12rem;padding:.3rem}button{font-size:1rem;\
padding:.4rem 1.2rem;margin:.6rem .4rem 0 0}.error{color:#a00}code{font-size:1.2rem}";
/// `sha256-` of [`STYLE`] (checked by a test).
const STYLE_HASH: &str = "sha256-WO0x6F/MBCRtT7xamgUQXoc+oaI/IlBPM9ytzPCfxpY=";

/// The policy of a device page whose forms may also lead to `also` (an origin).
fn csp(also: Option<&str>) -> String {
    let extra = also.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; \
         form-action 'self'{extra}; frame-ancestors 'none'"
    )
}

fn page(status: u16, title: &str, body: &str, form_to: Option<&str>) -> HttpResponse {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>Tessera: {t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>{body}\
         </body></html>",
        t = text(title),
    );
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp(form_to)))
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// The code entry form, with the code filled in (`verification_uri_complete`) and a message;
/// `upstream` is the origin the form's submission redirects to.
pub fn entry(
    status: u16,
    prefill: Option<&str>,
    message: Option<&str>,
    upstream: Option<&str>,
) -> HttpResponse {
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", text(m)))
        .unwrap_or_default();
    let body = format!(
        "{message}<p>Enter the code shown on your device.</p>\
         <form method=\"post\" action=\"/device\">\
         <input name=\"user_code\" value=\"{v}\" autocomplete=\"off\" autocapitalize=\"characters\" \
         spellcheck=\"false\" maxlength=\"12\" required autofocus aria-label=\"code\">\
         <br><button type=\"submit\">Continue</button></form>",
        v = attr(prefill.unwrap_or_default()),
    );
    page(status, "Connect a device", &body, upstream)
}

/// The confirmation: which app, with which scopes, for which code; Allow or Deny.
pub fn consent(
    user_code: &str,
    app: &str,
    publisher: Option<(&str, &str)>,
    scopes: &[String],
    csrf: &str,
) -> HttpResponse {
    let list: String = scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", text(s)))
        .collect();
    let scopes = if list.is_empty() {
        String::new()
    } else {
        format!("<p>It asks for:</p><ul>{list}</ul>")
    };
    let body = format!(
        "<p><strong>{app}</strong> wants to use your account on the device showing the code \
         <code>{code}</code>.</p>{publisher}{scopes}<p>Only allow it if you started this on your own \
         device and the code matches.</p>\
         <form method=\"post\" action=\"/device/confirm\">\
         <input type=\"hidden\" name=\"user_code\" value=\"{code_attr}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        app = text(app),
        publisher = published_by(publisher),
        code = text(user_code),
        code_attr = attr(user_code),
        csrf = attr(csrf),
    );
    page(200, "Allow this device?", &body, None)
}

/// Who publishes the app: its developer's name and e-mail, or (`None`) a warning that nobody
/// vouches for it (a dynamically registered app names itself).
fn published_by(publisher: Option<(&str, &str)>) -> String {
    match publisher {
        Some(("", email)) => format!("<p>Published by <code>{}</code>.</p>", text(email)),
        Some((name, email)) => format!(
            "<p>Published by {} (<code>{}</code>).</p>",
            text(name),
            text(email)
        ),
        None => "<p class=\"error\"><strong>Unverified app:</strong> it registered itself, and \
                 nobody has checked that it is what its name says.</p>"
            .to_string(),
    }
}

/// The end: the device was allowed, or denied.
pub fn done(allowed: bool) -> HttpResponse {
    if allowed {
        let body = "<p>Your device is connected. You can close this window and return to it.</p>";
        page(200, "Device connected", body, None)
    } else {
        let body = "<p>The device was not allowed. You can close this window.</p>";
        page(200, "Device denied", body, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_policy_allows_the_style_by_its_hash() {
        let digest = Sha256::digest(STYLE.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert_eq!(STYLE_HASH, format!("sha256-{b64}"));
        let p = csp(Some("https://idp.example.com"));
        assert!(
            p.contains("form-action 'self' https://idp.example.com;"),
            "{p}"
        );
    }
}
