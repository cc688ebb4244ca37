//! `GET /admin/usage` and `GET /admin/developers/{dev}/apps/{app}/usage` — the proxy's call
//! analytics for a time range: totals, a time series and a per-client split (what the sums
//! mean: [`crate::usage`]). This file owns the query-string parameters and
//! the JSON shape; `README.md ("Usage")` documents both.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::error::AdminError;
use super::validate::invalid;
use super::{path_id, Admin};
use crate::state::AppState;
use crate::usage::{report, Bucket, ClientUsage, Filter, Interval, Query, Usage};

/// The range when `from` is not given: the hour before `to`.
const DEFAULT_SPAN_MS: i64 = 3_600_000;
/// 9999-12-31T23:59:59.999Z: the last instant RFC 3339 can write.
const MAX_MS: i64 = 253_402_300_799_999;

const ALL_PARAMS: &[&str] = &[
    "from",
    "to",
    "interval",
    "client_id",
    "app_id",
    "developer_id",
];
const APP_PARAMS: &[&str] = &["from", "to", "interval", "client_id"];

/// Usage of every call, optionally filtered by client, app and developer.
#[utoipa::path(get, path = "/admin/usage", tag = "usage",
    params(("from" = Option<String>, Query, description = "RFC 3339 or Unix ms (default: an hour before `to`)"),
           ("to" = Option<String>, Query, description = "RFC 3339 or Unix ms (default: now)"),
           ("interval" = Option<String>, Query, description = "minute, hour or day"),
           ("client_id" = Option<String>, Query), ("app_id" = Option<Uuid>, Query),
           ("developer_id" = Option<Uuid>, Query)),
    responses((status = 200, description = "Totals, a series and a per-client split", body = Object)))]
pub async fn all(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let p = Params::parse(req.query_string(), ALL_PARAMS)?;
    let filter = Filter {
        client_id: p.client_id()?,
        app_id: p.uuid("app_id")?,
        developer_id: p.uuid("developer_id")?,
    };
    respond(&state, &p, filter).await
}

/// Usage of one app; 404 unless the app is this developer's.
#[utoipa::path(get, path = "/admin/developers/{dev}/apps/{app}/usage", tag = "usage",
    params(("dev" = Uuid, Path, description = "The developer's id"), ("app" = Uuid, Path, description = "The app's id"),
           ("from" = Option<String>, Query), ("to" = Option<String>, Query),
           ("interval" = Option<String>, Query), ("client_id" = Option<String>, Query)),
    responses((status = 200, description = "The app's usage", body = Object)))]
pub async fn for_app(
    _: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (dev, app) = (path_id(&path.0, "developer")?, path_id(&path.1, "app")?);
    let p = Params::parse(req.query_string(), APP_PARAMS)?;
    state.catalog.app(dev, app).await?;
    let filter = Filter {
        client_id: p.client_id()?,
        app_id: Some(app),
        developer_id: None,
    };
    respond(&state, &p, filter).await
}

async fn respond(state: &AppState, p: &Params, filter: Filter) -> Result<HttpResponse, AdminError> {
    let to = match p.get("to") {
        Some(v) => instant("to", v)?,
        None => tessera_shared::time::now_ms().clamp(0, MAX_MS),
    };
    let from = match p.get("from") {
        Some(v) => instant("from", v)?,
        None => (to - DEFAULT_SPAN_MS).max(0),
    };
    let interval = match p.get("interval") {
        Some(v) => Some(
            Interval::parse(v).ok_or_else(|| invalid("interval", "must be minute, hour or day"))?,
        ),
        None => None,
    };
    let q =
        Query::new(from, to, interval, filter).map_err(|e| invalid(e.field(), e.to_string()))?;
    let loaded = state.usage.read(&q).await?;
    let r = report(&loaded.events, &q);
    Ok(HttpResponse::Ok().json(UsageView {
        from: rfc3339(from),
        to: rfc3339(to),
        from_ms: from,
        to_ms: to,
        interval: q.interval(),
        truncated: loaded.truncated,
        total: &r.total,
        series: r
            .series
            .iter()
            .map(|bucket| BucketView {
                start: rfc3339(bucket.start_ms),
                bucket,
            })
            .collect(),
        by_client: &r.by_client,
    }))
}

#[derive(Debug, Serialize)]
struct UsageView<'a> {
    from: String,
    to: String,
    from_ms: i64,
    to_ms: i64,
    interval: Interval,
    /// The range held more events than one query reads; the newest were left out.
    truncated: bool,
    total: &'a Usage,
    series: Vec<BucketView<'a>>,
    by_client: &'a [ClientUsage],
}

#[derive(Debug, Serialize)]
struct BucketView<'a> {
    start: String,
    #[serde(flatten)]
    bucket: &'a Bucket,
}

/// The query string, each parameter at most once and only those the endpoint knows.
#[derive(Debug)]
struct Params(BTreeMap<String, String>);

impl Params {
    fn parse(query: &str, known: &[&str]) -> Result<Self, AdminError> {
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if !known.contains(&k.as_ref()) {
                return Err(invalid(
                    k.into_owned(),
                    format!("unknown parameter; known: {}", known.join(", ")),
                ));
            }
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(invalid(k.into_owned(), "given more than once"));
            }
        }
        Ok(Params(map))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn uuid(&self, key: &'static str) -> Result<Option<Uuid>, AdminError> {
        self.get(key)
            .map(|v| Uuid::parse_str(v).map_err(|_| invalid(key, "must be a UUID")))
            .transpose()
    }

    fn client_id(&self) -> Result<Option<String>, AdminError> {
        match self.get("client_id") {
            Some("") => Err(invalid("client_id", "must not be empty")),
            v => Ok(v.map(str::to_string)),
        }
    }
}

/// Unix milliseconds (digits only) or an RFC 3339 timestamp, between 1970 and 9999.
fn instant(field: &'static str, v: &str) -> Result<i64, AdminError> {
    let ms = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<i64>().ok()
    } else {
        DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    ms.filter(|ms| (0..=MAX_MS).contains(ms)).ok_or_else(|| {
        invalid(
            field,
            "must be an RFC 3339 timestamp or Unix milliseconds, from 1970 to 9999",
        )
    })
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn instants_are_rfc3339_or_unix_milliseconds() {
        assert_eq!(instant("from", "1700000000123").unwrap(), 1_700_000_000_123);
        assert_eq!(
            instant("from", "2023-11-14T22:13:20.123Z").unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            instant("from", "2023-11-15T00:13:20+02:00").unwrap(),
            1_700_000_000_000
        );
        for bad in [
            "",
            "-5",
            "1e9",
            "yesterday",
            "2023-11-14",
            "99999999999999999999",
        ] {
            assert!(instant("from", bad).is_err(), "{bad}");
        }
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn parameters_are_known_and_single() {
        assert!(Params::parse("from=1&interval=hour", ALL_PARAMS).is_ok());
        assert!(Params::parse("app_id=x", APP_PARAMS).is_err());
        assert!(Params::parse("from=1&from=2", ALL_PARAMS).is_err());
        let p = Params::parse("client_id=a%20b", ALL_PARAMS).unwrap();
        assert_eq!(p.client_id().unwrap().as_deref(), Some("a b"));
        let p = Params::parse("app_id=nope", ALL_PARAMS).unwrap();
        assert!(p.uuid("app_id").is_err());
    }
}
