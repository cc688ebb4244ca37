//! The static half of "no command can produce CROSSSLOT": every script of `redis/scripts/` is
//! listed here with the keys the store gives it (built by `keys.rs`, as the store builds them),
//! and each list must sit in one hash slot whatever the ids — hostile ones included. A new
//! script, or one that reads a `KEYS[n]` beyond its list, fails until it is listed. (The
//! dynamic half: every call goes through `call::Call`, which refuses keys in several slots,
//! and the conformance suite runs every script on a real cluster.)

use std::collections::BTreeMap;

use redis::cluster_routing::Slot;

use crate::store::keys::KeySpace;
use crate::store::{Table, UpstreamKey};
use crate::token::TokenKind;

/// The keys the store passes to `script`, for the id `id`.
fn keys_of(script: &str, k: &KeySpace, id: &str) -> Option<Vec<String>> {
    Some(match script {
        "catalog_commit" => Table::ALL.iter().map(|t| k.table(*t)).collect(),
        "app_for_client" => vec![k.table(Table::Clients), k.table(Table::Apps)],
        "refresh_rotate" => vec![k.family(id), k.family_grace(id)],
        "family_revoke" => vec![k.family(id)],
        "code_claim" => vec![k.token(TokenKind::AuthorizationCode, id)],
        "token_delete" => vec![k.token(TokenKind::AccessToken, id)],
        "quota" => vec![k.quota(id, "day", 1_700_000_000)],
        "gcra" => vec![k.rate("token", id)],
        "backoff" => vec![k.backoff("auth_ip", id)],
        "abuse" => {
            let (n, block) = k.abuse(id);
            vec![n, block]
        }
        // Behaviour subjects always start `c:` or `s:` (never an empty tag).
        "abuse_signals" => k.behaviour(&format!("c:{id}")).to_vec(),
        "abuse_mark" => {
            let [state, tokens, mark] = k.behaviour(&format!("s:{id}"));
            vec![mark, state, tokens]
        }
        "device_step" | "device_poll" => vec![k.device(id)],
        "upstream_login_add" => vec![k.upstream_logins(&UpstreamKey::Session {
            issuer: id,
            sid: id,
        })],
        _ => return None,
    })
}

/// Each script's name and the highest `KEYS[n]` it names literally.
fn scripts() -> BTreeMap<String, usize> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../redis/scripts");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let body = std::fs::read_to_string(&path).unwrap();
        let highest = body
            .split("KEYS[")
            .skip(1)
            .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        out.insert(name.to_string(), highest);
    }
    out
}

#[test]
fn every_script_keeps_its_keys_in_one_slot() {
    let scripts = scripts();
    assert!(scripts.len() >= 9, "found the scripts: {scripts:?}");
    let hostile = [
        "f-1",
        "",
        "}",
        "{",
        "a}b{c",
        "{x}",
        "é\u{0}",
        &"z".repeat(300),
    ];
    for prefix in ["tessera:", "t:1:"] {
        let k = KeySpace::new(prefix);
        for (name, highest) in &scripts {
            for id in hostile {
                let keys = keys_of(name, &k, id)
                    .unwrap_or_else(|| panic!("{name}.lua is not listed in slot_tests.rs"));
                assert!(
                    keys.len() >= *highest,
                    "{name}.lua reads KEYS[{highest}] but is given {} keys",
                    keys.len()
                );
                let first = Slot::for_key(&keys[0]);
                assert!(
                    keys.iter().all(|key| Slot::for_key(key) == first),
                    "{name}.lua's keys span slots: {keys:?}"
                );
            }
        }
    }
}
