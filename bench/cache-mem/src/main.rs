//! Heap cost of the proxy's token cache, per entry: 100,000 entries of a client_credentials
//! caller (as `tessera_proxy::policy::auth::tessera` builds it) under 43-character keys (the
//! base64url HMAC-SHA256 that `Keys::token_hash` returns), measured as the growth of VmRSS
//! with mimalloc, the allocator of the `tessera` binary. See BENCHMARKS.md, "Proxy".

use std::collections::HashMap;
use std::sync::Arc;
use tessera_proxy::cache::{CacheConfig, TokenCache};
use tessera_proxy::caller::Caller;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status").unwrap().lines()
        .find(|l| l.starts_with("VmRSS:")).unwrap()
        .split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn caller() -> Caller {
    Caller {
        client_id: "57ce30471d534dd5823dbcb3be86dbb9".into(),
        app_id: Some(uuid::Uuid::new_v4()),
        app_name: Some("bench".into()),
        developer_id: Some(uuid::Uuid::new_v4()),
        sub: None,
        scopes: vec!["read".into()],
        claims: Default::default(),
        id_token: None,
        rate_plan: Default::default(),
        family: None,
        expires_at: tessera_shared::time::now() + 3600,
    }
}

fn key(i: u32) -> String {
    // 43 characters, like the base64url HMAC-SHA256 of token_hash.
    format!("{:043}", i)
}

const N: u32 = 100_000;

/// As `tessera_proxy::cache`'s: an entry expires with its token (or after an hour here).
struct UntilExpiry;

impl moka::Expiry<[u8; 32], Arc<Caller>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Caller>,
        _created_at: std::time::Instant,
    ) -> Option<std::time::Duration> {
        let left = value.expires_at.saturating_sub(tessera_shared::time::now()).max(0) as u64;
        Some(std::time::Duration::from_secs(left.min(3600)))
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "tokencache".into());
    eprintln!("size_of::<Caller>() = {}", std::mem::size_of::<Caller>());
    let before = rss_kib();
    let keep: Box<dyn std::any::Any> = match which.as_str() {
        "tokencache" => {
            let c = TokenCache::new(&CacheConfig { enabled: true, max_entries: 200_000, max_ttl_secs: 3600 });
            c.trust_without_channel();
            for i in 0..N { c.insert(&key(i), Arc::new(caller()), c.epoch()); }
            eprintln!("entries {}", c.len());
            Box::new(c)
        }
        "tokencache-shared-caller" => {
            let c = TokenCache::new(&CacheConfig { enabled: true, max_entries: 200_000, max_ttl_secs: 3600 });
            c.trust_without_channel();
            let one = Arc::new(caller());
            for i in 0..N { c.insert(&key(i), one.clone(), c.epoch()); }
            eprintln!("entries {}", c.len());
            Box::new(c)
        }
        "moka-bytes-key" => {
            let c: moka::sync::Cache<[u8; 32], Arc<Caller>> = moka::sync::Cache::builder()
                .max_capacity(200_000)
                .expire_after(UntilExpiry)
                .support_invalidation_closures()
                .build();
            for i in 0..N { let mut k = [0u8; 32]; k[..4].copy_from_slice(&i.to_le_bytes()); c.insert(k, Arc::new(caller())); }
            c.run_pending_tasks();
            eprintln!("entries {}", c.entry_count());
            Box::new(c)
        }
        "hashmap" => {
            let mut m: HashMap<String, Arc<Caller>> = HashMap::new();
            for i in 0..N { m.insert(key(i), Arc::new(caller())); }
            Box::new(m)
        }
        "callers-only" => {
            let v: Vec<Arc<Caller>> = (0..N).map(|_| Arc::new(caller())).collect();
            Box::new(v)
        }
        other => panic!("unknown variant {other}: tokencache | tokencache-shared-caller | moka-bytes-key | hashmap | callers-only"),
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = rss_kib();
    println!("{which}: +{:.1} MiB for {N} entries, {:.0} B/entry", (after - before) as f64 / 1024.0, (after - before) as f64 * 1024.0 / N as f64);
    drop(keep);
}
