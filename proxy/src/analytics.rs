//! STUB
use std::sync::Arc;
use serde::Deserialize;
use tessera_shared::analytics::CallEvent;
use tessera_shared::store::Store;
#[derive(Debug, Clone)]
pub struct Emitter;
#[derive(Debug)]
pub struct WriterHandle;
impl WriterHandle { pub async fn shutdown(self) {} }
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AnalyticsConfig { #[serde(default)] pub enabled: bool }
#[derive(Debug)]
pub struct EmitterMetrics;
impl EmitterMetrics { pub fn register(_r: &prometheus::Registry) -> Result<Self, prometheus::Error> { Ok(EmitterMetrics) } }
impl Emitter {
    pub fn start(_s: Arc<dyn Store>, _c: AnalyticsConfig, _m: EmitterMetrics) -> (Emitter, WriterHandle) { (Emitter, WriterHandle) }
    pub fn emit(&self, _e: CallEvent) {}
}
