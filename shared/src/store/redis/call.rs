//! How the Redis store sends what must hold together: Lua script calls whose keys share one
//! hash slot, and writes acknowledged only once `store.wait_replicas` replicas have them.
//!
//! * Every script goes through [`Call`], which refuses keys in more than one slot before
//!   anything is sent: on Redis Cluster such a call would fail with `CROSSSLOT`, so it is a bug
//!   of ours, caught here on every deployment (the single node too, where Redis would accept
//!   it). The key names make this hold by design (`keys.rs`: one hash tag per app, login
//!   family, quota subject, limiter subject; `{catalog}` for the registry).
//! * A durable write is sent in one pipeline with `WAIT n timeout` after it, so the `WAIT`
//!   reaches the very connection (and node: a cluster pipeline goes to the node of its keys)
//!   that made the write — a `WAIT` sent on its own after a reconnection or a failover would
//!   count replicas of nothing and acknowledge a write that may be lost.

use redis::cluster_routing::Slot;
use redis::{
    Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, Script, ServerErrorKind, ToRedisArgs,
    Value,
};

use super::RedisStore;
use crate::error::StoreError;

/// `WAIT`'s arguments (`store.wait_replicas`, `store.wait_timeout_ms`).
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub replicas: u32,
    pub timeout_ms: u64,
}

/// A Lua script of `redis/scripts/`: its source, and its SHA1 for `EVALSHA`.
pub struct Lua {
    code: &'static str,
    script: Script,
}

impl Lua {
    pub fn new(code: &'static str) -> Self {
        Lua {
            code,
            script: Script::new(code),
        }
    }
}

/// One call of a script: its keys, then its arguments.
pub struct Call<'a> {
    script: &'a Lua,
    keys: Vec<String>,
    args: Vec<Vec<u8>>,
}

impl<'a> Call<'a> {
    pub fn new(script: &'a Lua) -> Self {
        Call {
            script,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }

    pub fn key(mut self, key: String) -> Self {
        self.keys.push(key);
        self
    }

    pub fn arg(mut self, arg: impl ToRedisArgs) -> Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    /// The keys' one slot; an error when they span several.
    pub fn slot(&self) -> Result<Option<Slot>, StoreError> {
        let mut slots = self.keys.iter().map(Slot::for_key);
        let first = slots.next();
        match slots.all(|s| Some(s) == first) {
            true => Ok(first),
            false => Err(StoreError::Unavailable(
                "a script's keys span several hash slots (CROSSSLOT on Redis Cluster)".into(),
            )),
        }
    }

    fn evalsha(&self) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.script.get_hash())
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }
}

/// The server answered NOSCRIPT (the script is not loaded on that node yet), alone or inside a
/// pipeline's errors.
fn no_script(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errs| errs.iter().any(|(_, s)| s.code() == "NOSCRIPT"))
}

impl RedisStore {
    /// Runs `call`; when `durable`, acknowledged as [`Self::write`] is.
    pub(super) async fn run<T: FromRedisValue>(
        &self,
        call: Call<'_>,
        durable: bool,
    ) -> Result<T, StoreError> {
        call.slot()?;
        let mut load = false;
        loop {
            let mut p = redis::pipe();
            if load {
                // In the same pipeline, so on the node of the keys only: a cluster client's own
                // SCRIPT LOAD goes to every node, and would wait for one that is down.
                p.cmd("SCRIPT").arg("LOAD").arg(call.script.code).ignore();
            }
            p.add_command(call.evalsha());
            match self.send(p, durable).await {
                Err(e) if !load && no_script(&e) => load = true,
                Err(e) => return Err(e.into()),
                Ok(v) => return Ok(redis::from_redis_value(v).map_err(RedisError::from)?),
            }
        }
    }

    /// Applies `cmds` atomically (`MULTI`/`EXEC` around several); when `durable` and
    /// `store.wait_replicas` is set, acknowledged only once that many replicas have it.
    pub(super) async fn write(&self, cmds: &Pipeline, durable: bool) -> Result<(), StoreError> {
        if cmds.len() == 1 {
            if let Some(one) = cmds.cmd_iter().next() {
                return self.write_one(one.clone(), durable).await;
            }
        }
        let mut p = redis::pipe();
        p.cmd("MULTI").ignore();
        for cmd in cmds.cmd_iter() {
            p.add_command(cmd.clone()).ignore();
        }
        p.cmd("EXEC");
        // An error inside EXEC's answer (one command refused) is the write's error.
        self.send(p, durable).await?.extract_error()?;
        Ok(())
    }

    /// [`Self::write`] of the one command `cmd`, taken as it is (issue 11, P3: a token's
    /// `SETEX` was copied into a pipeline of its own and answered through a `Vec` of replies).
    /// Without `WAIT` to follow it, sent as a single command: a reply that is an error is the
    /// write's error either way.
    pub(super) async fn write_one(&self, cmd: Cmd, durable: bool) -> Result<(), StoreError> {
        if durable && self.wait.is_some() {
            let mut p = Pipeline::with_capacity(2);
            p.add_command(cmd);
            self.send(p, durable).await?;
        } else {
            let mut c = self.conn.clone();
            let _: Value = cmd.query_async(&mut c).await?;
        }
        Ok(())
    }

    /// Sends `p`, whose one unignored command's answer is returned, and `WAIT` after it when
    /// `durable` and configured: fewer replicas than asked fails the write (503: the caller
    /// does not acknowledge what a failover could lose).
    async fn send(&self, mut p: Pipeline, durable: bool) -> Result<Value, RedisError> {
        let mut c = self.conn.clone();
        let wait = self.wait.filter(|_| durable);
        if let Some(w) = wait {
            p.cmd("WAIT").arg(w.replicas).arg(w.timeout_ms);
        }
        let mut out: Vec<Value> = p.query_async(&mut c).await?;
        if let Some(w) = wait {
            let acked: i64 = redis::from_redis_value(out.pop().unwrap_or(Value::Nil))?;
            if acked < i64::from(w.replicas) {
                return Err(RedisError::from((
                    ErrorKind::Io,
                    "write not acknowledged by enough replicas",
                    format!("{acked} of {} within {} ms", w.replicas, w.timeout_ms),
                )));
            }
        }
        Ok(out.pop().unwrap_or(Value::Nil))
    }
}
