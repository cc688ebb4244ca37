//! Caps on every string the proxy records or stores, so that no request can make a metric
//! label, a log line, an analytics event (in Redis) or an error answer grow with its input.
//!
//! | what | where it goes | cap |
//! |---|---|---|
//! | method | metrics label, analytics event | a fixed set ([`crate::canonical::method`]) |
//! | route name | metrics label, analytics event | [`MAX_ROUTE_NAME`] (checked when routes are compiled) |
//! | client id | metrics label, analytics event | [`MAX_CLIENT_ID`] |
//! | error text | the answer's `error_description`, logs | [`MAX_ERROR_TEXT`] |
//!
//! The path, query, user agent and other headers are never recorded: analytics events hold the
//! route, not the path. Cutting is done on a character boundary, so a cut string is still UTF-8.

/// The longest route name; longer names are refused when the route table is compiled (names go
/// into metrics labels and analytics events).
pub const MAX_ROUTE_NAME: usize = 64;

/// The longest client id recorded (a JWT's client claim may be anything its issuer wrote).
pub const MAX_CLIENT_ID: usize = 128;

/// The longest error text sent or logged.
pub const MAX_ERROR_TEXT: usize = 256;

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("aé", 2), "a", "é is two bytes");
        assert_eq!(truncate("日本", 4), "日");
        assert_eq!(truncate("", 0), "");
    }
}
