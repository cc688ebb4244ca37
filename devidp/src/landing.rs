//! `GET /dev/callback`: the landing page of `tessera dev`'s walk-through. It plays the part of the
//! app the broker redirects back to, and shows the parameters it received (the authorization
//! code and `state`, or the error), every value escaped.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

pub(crate) async fn landing(req: HttpRequest) -> HttpResponse {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let rows: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                html_escape::encode_text(k),
                html_escape::encode_text(v)
            )
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tessera dev: back at the app</title></head>\
             <body><h1>Back at the app</h1><p>The broker redirected here with:</p><table>{rows}</table>\
             <p>Redeem the code within 60 seconds with the curl command printed by <code>tessera dev</code>.</p></body></html>"
        ))
}
