//! Sessions at the provider: each sign-in through the login form starts one, with a random
//! `sid` that goes into every `id_token` issued from it (OpenID Connect Back-Channel Logout
//! 1.0 §2.1, `backchannel_logout_session_supported`), and the clients that received one. When
//! the session ends, those clients are told (the `logout` module).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Most sessions kept; a sign-in beyond that forgets an arbitrary older one (a development
/// provider: memory stays bounded whatever the tests do).
const MAX_SESSIONS: usize = 10_000;

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub sid: String,
    pub username: String,
    /// The clients that received an `id_token` in this session.
    pub clients: BTreeSet<String>,
}

/// The live sessions, by `sid` (std mutex: never held across an await).
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `username`; its `sid`.
    pub fn start(&self, username: &str) -> String {
        let sid = tessera_shared::crypto::random_string::<16>();
        let mut all = self.lock();
        if all.len() >= MAX_SESSIONS {
            if let Some(old) = all.keys().next().cloned() {
                all.remove(&old);
            }
        }
        let session = Session {
            sid: sid.clone(),
            username: username.to_string(),
            clients: BTreeSet::new(),
        };
        all.insert(sid.clone(), session);
        sid
    }

    /// Records that `client_id` received an `id_token` in session `sid`; `false` when the
    /// session has ended.
    pub fn joined(&self, sid: &str, client_id: &str) -> bool {
        match self.lock().get_mut(sid) {
            Some(s) => {
                s.clients.insert(client_id.to_string());
                true
            }
            None => false,
        }
    }

    /// Ends session `sid`.
    pub fn end(&self, sid: &str) -> Option<Session> {
        self.lock().remove(sid)
    }

    /// Ends every session of `username`.
    pub fn end_user(&self, username: &str) -> Vec<Session> {
        let mut all = self.lock();
        let sids: Vec<String> = all
            .values()
            .filter(|s| s.username == username)
            .map(|s| s.sid.clone())
            .collect();
        sids.iter().filter_map(|sid| all.remove(sid)).collect()
    }

    /// The `sid`s of `username`'s live sessions.
    pub fn of(&self, username: &str) -> Vec<String> {
        let all = self.lock();
        all.values()
            .filter(|s| s.username == username)
            .map(|s| s.sid.clone())
            .collect()
    }
}
