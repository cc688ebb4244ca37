//! The caller's identity headers: `X-Tessera-Client-Id`, `-App`, `-App-Id`, `-Developer-Id`,
//! `-Sub`, `-Scope`. For a caller that lives on in the token cache they are built on its first
//! forwarded call and cloned on the later ones (a reference count each, no copy of a string);
//! for a caller built for one call, straight into the request (issue 11, direction 4).

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::caller::Caller;

// The names, built at compile time (an invalid one fails the build): no parsing and no
// allocation per call.
const fn name(n: &'static str) -> HeaderName {
    HeaderName::from_static(n)
}
const X_CLIENT_ID: HeaderName = name("x-tessera-client-id");
const X_APP: HeaderName = name("x-tessera-app");
const X_APP_ID: HeaderName = name("x-tessera-app-id");
const X_DEVELOPER_ID: HeaderName = name("x-tessera-developer-id");
const X_SUB: HeaderName = name("x-tessera-sub");
const X_SCOPE: HeaderName = name("x-tessera-scope");

/// Sets `c`'s identity headers on `out`.
pub(super) fn insert(out: &mut HeaderMap, c: &Caller) {
    match c.headers.slot() {
        Some(slot) => {
            let kept = slot.get_or_init(|| {
                let mut all = Vec::with_capacity(6);
                build(c, |n, v| all.push((n, v)));
                all.into_boxed_slice()
            });
            for (n, v) in kept.iter() {
                out.insert(n.clone(), v.clone());
            }
        }
        None => build(c, |n, v| {
            out.insert(n, v);
        }),
    }
}

/// Each identity header of `c`, in order. A value that is not a legal header value (control
/// characters in an app name) is left out rather than mangled.
fn build(c: &Caller, mut put: impl FnMut(HeaderName, HeaderValue)) {
    let mut add = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            put(name, v);
        }
    };
    add(X_CLIENT_ID, &c.client_id);
    if let Some(name) = &c.app_name {
        add(X_APP, name);
    }
    // Formatted on the stack.
    let mut buf = uuid::Uuid::encode_buffer();
    if let Some(id) = c.app_id {
        add(X_APP_ID, id.hyphenated().encode_lower(&mut buf));
    }
    if let Some(id) = c.developer_id {
        add(X_DEVELOPER_ID, id.hyphenated().encode_lower(&mut buf));
    }
    if let Some(sub) = &c.sub {
        add(X_SUB, sub);
    }
    add(X_SCOPE, &c.scopes.join(" "));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::caller::HeaderMemo;

    fn caller(headers: HeaderMemo) -> Caller {
        Caller {
            client_id: "c1".into(),
            app_name: Some("bad\napp".into()),
            app_id: Some(uuid::Uuid::nil()),
            scopes: vec!["read".into(), "write".into()],
            headers,
            ..Caller::default()
        }
    }

    #[test]
    fn a_kept_caller_builds_its_headers_once_and_both_kinds_send_the_same() {
        let kept = caller(HeaderMemo::kept());
        let once = caller(HeaderMemo::default());
        let (mut a, mut b) = (HeaderMap::new(), HeaderMap::new());
        insert(&mut a, &kept);
        insert(&mut b, &once);
        assert_eq!(a, b);
        assert_eq!(a["x-tessera-client-id"], "c1");
        assert_eq!(
            a["x-tessera-app-id"],
            uuid::Uuid::nil().to_string().as_str()
        );
        assert_eq!(a["x-tessera-scope"], "read write");
        assert!(
            !a.contains_key("x-tessera-app"),
            "an illegal value is left out"
        );
        assert_eq!(kept.headers.slot().unwrap().get().unwrap().len(), 3);
        assert!(once.headers.slot().is_none());
        // The second call clones what the first built.
        let mut again = HeaderMap::new();
        insert(&mut again, &kept);
        assert_eq!(a, again);
    }
}
