//! The wasmtime engine shared by every renderer, and the linker that
//! provides what a renderer may import: `metrics:renderer/input` and
//! `metrics:renderer/output`, plus WASI without capabilities.
//!
//! Deadlines use epoch interruption: a background thread advances the epoch
//! every [`EPOCH_TICK`]; a store traps once its deadline (in ticks) passes.
use super::artifact_cache::ArtifactCache;
use super::call::{self, RenderState};
use super::component::{LoadError, RendererComponent};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

/// Granularity of render deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Compiles and links renderer components.
pub struct RendererEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<RenderState>,
}

impl RendererEngine {
    /// Creates the engine and starts its epoch ticker, which stops when the
    /// engine is dropped.
    pub fn new() -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Profiling builds: a perf map (function names) by default, a jitdump
        // (instruction-level `perf annotate` after `perf inject -j`) when
        // METRICS_JITDUMP is set.
        #[cfg(feature = "wasm-profiling")]
        config.profiler(if std::env::var_os("METRICS_JITDUMP").is_some() {
            wasmtime::ProfilingStrategy::JitDump
        } else {
            wasmtime::ProfilingStrategy::PerfMap
        });
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        call::add_input_import(&mut linker)?;
        call::add_output_import(&mut linker)?;
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let weak = engine.weak();
        std::thread::Builder::new().name("wasm-epoch".into()).spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
        Ok(Arc::new(RendererEngine { engine, linker }))
    }

    /// Compiles `bytes` as the component `name` and checks it against the
    /// contract.
    pub async fn load(self: &Arc<Self>, name: &str, bytes: &[u8]) -> Result<RendererComponent, LoadError> {
        let component = self.compile(name, bytes).await?;
        RendererComponent::from_component(self, name, component).await
    }

    /// Compiles on a blocking thread: it is CPU-heavy.
    async fn compile(self: &Arc<Self>, name: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let (engine, name_owned, bytes) = (Arc::clone(self), name.to_string(), bytes.to_vec());
        tokio::task::spawn_blocking(move || RendererComponent::compile(&engine, &name_owned, &bytes))
            .await
            .unwrap_or_else(|e| Err(LoadError::NotAComponent { plugin: name.to_string(), detail: format!("compiler task failed: {e}") }))
    }

    /// Like [`RendererEngine::load`], reusing (and filling) a cache of
    /// compiled components keyed by `content_hash`.
    pub async fn load_cached(
        self: &Arc<Self>,
        name: &str,
        bytes: &[u8],
        content_hash: &str,
        cache: Option<&ArtifactCache>,
    ) -> Result<RendererComponent, LoadError> {
        let cached = cache.and_then(|c| c.get(&self.engine, content_hash));
        let component = match cached {
            Some(component) => component,
            None => {
                let component = self.compile(name, bytes).await?;
                if let Some(cache) = cache {
                    cache.put(&self.engine, content_hash, &component);
                }
                component
            }
        };
        RendererComponent::from_component(self, name, component).await
    }
}
