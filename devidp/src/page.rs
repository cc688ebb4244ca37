//! What the browser sees: the login form, the error page shown when there is no redirect URI to
//! trust, and the redirects back to the client. Every dynamic value in HTML is escaped with
//! html-escape (text or double-quoted attribute, as the place requires).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, HttpResponseBuilder};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;\
    padding:0 1rem}label,input,button{display:block;width:100%;margin:.3rem 0;box-sizing:border-box}\
    input,button{padding:.5rem}.error{color:#b00020}.note{color:#666;font-size:.85rem}";

/// No script at all, no framing (clickjacking), the one inline style allowed by its hash (CSP
/// Level 2 `'sha256-…'`, no `'unsafe-inline'`), and codes in URLs kept out of `Referer`.
fn csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
        )
    })
}

fn html(status: StatusCode) -> HttpResponseBuilder {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .content_type("text/html; charset=utf-8");
    res
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        title = html_escape::encode_text(title),
    )
}

/// An HTML error page: for requests whose client or redirect URI cannot be trusted, which
/// RFC 6749 §4.1.2.1 forbids redirecting.
pub(super) fn error_page(status: StatusCode, title: &str, detail: &str) -> HttpResponse {
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        html_escape::encode_text(title),
        html_escape::encode_text(detail)
    );
    html(status).body(document(title, &body))
}

/// The login form. `hidden` carries the authorization request to the POST; `username` refills
/// the field after a failed attempt, shown with `error`.
pub(super) fn login_form(
    status: StatusCode,
    hidden: &[(&str, &str)],
    client_id: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let attr = |v: &str| html_escape::encode_double_quoted_attribute(v).into_owned();
    let fields: String = hidden
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                attr(k),
                attr(v)
            )
        })
        .collect();
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                html_escape::encode_text(e)
            )
        })
        .unwrap_or_default();
    // `action` is relative, so the form posts back to this provider wherever it is mounted.
    let body = format!(
        "<h1>Sign in</h1>\
         <p class=\"note\">Development identity provider. Signing in to <b>{client}</b>.</p>\
         {error}\
         <form method=\"post\" action=\"authorize\">{fields}\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\" autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button type=\"submit\" name=\"action\" value=\"login\">Sign in</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button>\
         </form>\
         <p class=\"note\">Never enable this provider in production.</p>",
        client = html_escape::encode_text(client_id),
        username = attr(username),
    );
    html(status).body(document("Sign in — development identity provider", &body))
}

/// A 302 to `redirect_uri` with `params` added to its query, keeping any query it already has
/// (RFC 6749 §3.1.2: "MUST retain the query component").
pub(super) fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect URI",
            "The registered redirect URI is not a valid URL.",
        );
    };
    url.query_pairs_mut().extend_pairs(params);
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_page_style() {
        use base64::Engine;
        use sha2::Digest;
        let page = document("t", "<p>x</p>");
        let style = page
            .split("<style>")
            .nth(1)
            .and_then(|rest| rest.split("</style>").next())
            .unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert!(
            csp().contains(&format!("style-src 'sha256-{hash}'")),
            "{}",
            csp()
        );
        assert!(!csp().contains("unsafe-inline"));
        assert!(
            csp().contains("frame-ancestors 'none'") && csp().starts_with("default-src 'none'")
        );
    }
}
