//! Rates and rate plans: Apigee's spike-arrest rates (`"10ps"`, `"600pm"`) and quota periods,
//! as written in app rate plans (admin API) and in the proxy's route table.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A smooth rate: `n` requests per second (`"10ps"`) or per minute (`"600pm"`). As in Apigee's
/// SpikeArrest, it is enforced smoothly (one request every `1/n` of the unit), not in bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    /// The interval between two requests at this rate, rounded up to the nanosecond: a limit
    /// built on it admits at most the rate, never a fraction more (`Duration`'s division would
    /// round down: `"600000ps"` is 1,666.67 ns, which must be 1,667, not 1,666).
    pub fn interval(&self) -> Duration {
        let ns = self.per.as_nanos().div_ceil(u128::from(self.count.get()));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a rate like \"10ps\" or \"600pm\"");
        let (num, per) = if let Some(n) = s.strip_suffix("ps") {
            (n, Duration::from_secs(1))
        } else if let Some(n) = s.strip_suffix("pm") {
            (n, Duration::from_secs(60))
        } else {
            return Err(bad());
        };
        let count: u32 = num.parse().map_err(|_| bad())?;
        let count = NonZeroU32::new(count).ok_or_else(|| format!("'{s}': the rate must be > 0"))?;
        if count.get() > 1_000_000 {
            return Err(format!("'{s}': at most 1000000 per unit"));
        }
        Ok(Rate { count, per })
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        let unit = if r.per.as_secs() == 60 { "pm" } else { "ps" };
        format!("{}{unit}", r.count)
    }
}

/// A quota period. Windows are calendar-aligned in UTC, as Apigee's `calendar` quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Minute,
    Hour,
    Day,
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// The window holding `now` (Unix seconds): its start and its end (exclusive).
    pub fn window(self, now: i64) -> (i64, i64) {
        let fixed = |len: i64| {
            let start = now - now.rem_euclid(len);
            (start, start + len)
        };
        match self {
            Period::Minute => fixed(60),
            Period::Hour => fixed(3600),
            Period::Day => fixed(86_400),
            Period::Month => {
                let t = Utc.timestamp_opt(now, 0).single().unwrap_or_default();
                let month_start = |y: i32, m: u32| {
                    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                        .single()
                        .map(|d| d.timestamp())
                        .unwrap_or(now)
                };
                let start = month_start(t.year(), t.month());
                let end = if t.month() == 12 {
                    month_start(t.year() + 1, 1)
                } else {
                    month_start(t.year(), t.month() + 1)
                };
                (start, end)
            }
        }
    }
}

/// A quota: at most `limit` calls per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub limit: u64,
    pub period: Period,
}

/// An app's rate plan (Apigee's API product / developer app quota and spike arrest). Where set,
/// it takes precedence over the route's own settings for that app's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePlan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_arrest: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// The app's own rates at the broker's endpoints, in place of `[limits]`'s per-app defaults.
    #[serde(default, skip_serializing_if = "OAuthRates::is_empty")]
    pub oauth: OAuthRates,
}

impl RatePlan {
    pub fn is_empty(&self) -> bool {
        self.spike_arrest.is_none() && self.quota.is_none() && self.oauth.is_empty()
    }
}

/// Per-app rates at the broker's `/token`, `/introspect` and `/revoke` (e.g. a resource server
/// that introspects every call gets more than the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthRates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspect: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Rate>,
}

impl OAuthRates {
    pub fn is_empty(&self) -> bool {
        self.token.is_none() && self.introspect.is_none() && self.revoke.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Result<Rate, String> {
        Rate::try_from(s.to_string())
    }

    #[test]
    fn the_interval_is_rounded_up_so_a_limit_never_admits_more_than_the_rate() {
        assert_eq!(
            rate("600000ps").unwrap().interval(),
            Duration::from_nanos(1_667)
        );
        assert_eq!(rate("10ps").unwrap().interval(), Duration::from_millis(100));
        assert_eq!(
            rate("7pm").unwrap().interval(),
            Duration::from_nanos(8_571_428_572)
        );
    }

    #[test]
    fn parses_apigee_rates() {
        let r = rate("10ps").unwrap();
        assert_eq!(r.interval(), Duration::from_millis(100));
        assert_eq!(rate("30pm").unwrap().interval(), Duration::from_secs(2));
        assert_eq!(String::from(rate("30pm").unwrap()), "30pm");
        for bad in ["", "ps", "0ps", "-1ps", "10", "10ph", "1.5ps", "99999999ps"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_calendar_aligned() {
        // 2026-11-23T10:17:42Z
        let now = 1_795_429_062;
        assert_eq!(Period::Minute.window(now), (now - 42, now + 18));
        assert_eq!(Period::Hour.window(now).0 % 3600, 0);
        let (d0, d1) = Period::Day.window(now);
        assert_eq!((d0 % 86_400, d1 - d0), (0, 86_400));
        let (m0, m1) = Period::Month.window(now);
        let s = Utc.timestamp_opt(m0, 0).unwrap();
        let e = Utc.timestamp_opt(m1, 0).unwrap();
        assert_eq!((s.month(), s.day(), e.month(), e.day()), (11, 1, 12, 1));
        let dec = Utc
            .with_ymd_and_hms(2026, 12, 31, 23, 0, 0)
            .unwrap()
            .timestamp();
        let (_, end) = Period::Month.window(dec);
        assert_eq!(Utc.timestamp_opt(end, 0).unwrap().year(), 2027);
    }
}
