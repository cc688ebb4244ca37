//! The sample backend: answers every request with what it received — method, path, query,
//! headers and body length — as JSON, so a caller can see exactly what the proxy forwarded.
//! `tessera dev` puts it behind the proxy; tests and the benchmark use it as the backend.
//!
//! Knobs for tests: a `x-echo-delay-ms` request header delays the answer, `x-echo-status` sets
//! its status, and `x-echo-allow-origin` makes it answer `Access-Control-Allow-Origin` with that
//! value (a backend that speaks CORS itself).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use serde::Serialize;

/// The answer's JSON, written straight from the request's borrowed parts (no `serde_json::Value`
/// tree: a copy of every header name and value, and a few allocations per header, that made
/// each forwarded header cost the benchmark's backend ~2,700 instructions — BENCHMARKS.md, "The
/// proxy's ceiling"). Fields in alphabetical order, the order `json!` wrote them in.
#[derive(Serialize)]
struct Echoed<'a> {
    body_bytes: usize,
    headers: BTreeMap<&'a str, Vec<&'a str>>,
    method: &'a str,
    path: &'a str,
    query: &'a str,
}

async fn echo(req: HttpRequest, body: Bytes) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(ms) = header("x-echo-delay-ms") {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    let status = header("x-echo-status")
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let mut headers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in req.headers() {
        headers
            .entry(name.as_str())
            .or_default()
            .push(value.to_str().unwrap_or("<binary>"));
    }
    let mut res = HttpResponse::build(status);
    if let Some(o) = req.headers().get("x-echo-allow-origin") {
        res.insert_header(("access-control-allow-origin", o.clone()));
    }
    res.json(Echoed {
        body_bytes: body.len(),
        headers,
        method: req.method().as_str(),
        path: req.path(),
        query: req.query_string(),
    })
}

/// Starts the echo backend on `listener` with `workers` threads.
pub fn serve(listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    Ok(HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
            .default_service(web::to(echo))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    /// The exact text: keys in alphabetical order, a header's values in the order received.
    #[actix_web::test]
    async fn the_answer_is_what_was_received_in_a_fixed_order() {
        let req = TestRequest::post()
            .uri("/a/b?x=1")
            .insert_header(("x-b", "2"))
            .append_header(("x-a", "1"))
            .append_header(("x-a", "3"))
            .to_http_request();
        let res = echo(req, Bytes::from_static(b"hello")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(
            body,
            r#"{"body_bytes":5,"headers":{"x-a":["1","3"],"x-b":["2"]},"method":"POST","path":"/a/b","query":"x=1"}"#
        );
    }

    /// Pinned (an attacker's review of the fourth session's speed work): what a client may put
    /// in a header name or value, a path or a query — quotes, backslashes, a tab, `</script>`,
    /// bytes past ASCII, an extension method — stays inside its JSON string: the answer parses
    /// back to exactly what was received (a value that is not visible ASCII as `<binary>`).
    #[actix_web::test]
    async fn hostile_names_values_and_paths_stay_inside_their_strings() {
        use actix_web::http::header::{HeaderName, HeaderValue};
        use actix_web::http::Method;
        let value = "q\"b\\s\t</script>\"}],\"method\":\"GET";
        let req = TestRequest::default()
            .method(Method::from_bytes(b"X-M!~").unwrap())
            .uri("/a%22b/%5C%00'?k=%22%5C&x=%7B%7D")
            .insert_header((HeaderName::from_static("x-a!#$%&'*+.^_`|~"), value))
            .insert_header((
                HeaderName::from_static("x-bin"),
                HeaderValue::from_bytes(b"caf\xc3\xa9 \xff").unwrap(),
            ))
            .to_http_request();
        let expected_path = req.path().to_string();
        let expected_query = req.query_string().to_string();
        let expected_method = req.method().as_str().to_string();
        let res = echo(req, Bytes::new()).await;
        let body = to_bytes(res.into_body()).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["headers"]["x-a!#$%&'*+.^_`|~"],
            serde_json::json!([value])
        );
        assert_eq!(v["headers"]["x-bin"], serde_json::json!(["<binary>"]));
        assert_eq!(v["path"], expected_path.as_str());
        assert_eq!(v["query"], expected_query.as_str());
        assert_eq!(v["method"], expected_method.as_str());
        assert_eq!(v.as_object().unwrap().len(), 5, "{v}");
    }
}
