//! STUB
use serde::{Deserialize, Serialize};
use uuid::Uuid;
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallEvent {
    pub ts_ms: i64, pub client_id: Option<String>, pub app_id: Option<Uuid>, pub developer_id: Option<Uuid>,
    pub route: String, pub method: String, pub status: u16, pub latency_us: u64, pub bytes_in: u64, pub bytes_out: u64,
    pub auth: AuthOutcome, pub throttled: bool,
}
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome { None, Ok, Missing, Invalid, Forbidden, Unavailable }
