//! The wasmtime engine shared by every renderer, and the linker that
//! provides what a renderer may import: `metrics:renderer/input` and
//! `metrics:renderer/output`, plus WASI without capabilities.
//!
//! Deadlines use epoch interruption: a background thread advances the epoch
//! every [`EPOCH_TICK`]; a store traps once its deadline (in ticks) passes.
//!
//! Loading a plugin (compiling it, checking it, calling its `formats()`)
//! never runs on the async workers: compiles run one at a time, in a child
//! process or on a blocking thread (see [`super::compiler`]), and the checks
//! run on a blocking thread.
use super::artifact_cache::ArtifactCache;
use super::bounded_text::bounded;
use super::call::{self, RenderState};
use super::compiler::{compile_in_child, CompileLimits, CompileMode};
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
    /// How and within what bounds plugins are compiled.
    compile_limits: CompileLimits,
    /// One compile at a time: each can take a core and gigabytes.
    compile_lock: tokio::sync::Mutex<()>,
}

/// The engine settings; the `compile-plugin` child uses the same, so its
/// artifacts deserialize here.
pub fn engine_config() -> Config {
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
    config
}

impl RendererEngine {
    /// Creates the engine (compiling in process) and starts its epoch
    /// ticker, which stops when the engine is dropped.
    pub fn new() -> anyhow::Result<Arc<Self>> {
        Self::with_compile_limits(CompileLimits::default())
    }

    /// Like [`RendererEngine::new`], compiling plugins within `compile_limits`.
    pub fn with_compile_limits(compile_limits: CompileLimits) -> anyhow::Result<Arc<Self>> {
        let engine = Engine::new(&engine_config())?;
        let mut linker = Linker::new(&engine);
        super::wit::add_to_linker(&mut linker)?;
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
        Ok(Arc::new(RendererEngine { engine, linker, compile_limits, compile_lock: tokio::sync::Mutex::new(()) }))
    }

    /// Compiles `bytes` as the component `name` and checks it against the
    /// contract.
    pub async fn load(self: &Arc<Self>, name: &str, bytes: &[u8]) -> Result<RendererComponent, LoadError> {
        self.load_cached(name, bytes.to_vec(), "", None).await
    }

    /// Like [`RendererEngine::load`] for the host's own embedded renderer:
    /// compiled in this process, without the compile child's time limit,
    /// which is set for plugins (so a short `plugin_compile_timeout_ms` or
    /// a busy machine cannot keep the server from starting).
    pub async fn load_embedded(self: &Arc<Self>, name: &str, bytes: &[u8]) -> Result<RendererComponent, LoadError> {
        self.load_compiled_by(name, bytes.to_vec(), "", None, &CompileMode::InProcess).await
    }

    /// Like [`RendererEngine::load`], reusing (and filling) a cache of
    /// compiled components keyed by `content_hash`. Takes the bytes by
    /// value: they move to the compiler rather than being copied (a plugin
    /// file may be tens of MiB).
    pub async fn load_cached(
        self: &Arc<Self>,
        name: &str,
        bytes: Vec<u8>,
        content_hash: &str,
        cache: Option<&ArtifactCache>,
    ) -> Result<RendererComponent, LoadError> {
        self.load_compiled_by(name, bytes, content_hash, cache, &self.compile_limits.mode).await
    }

    /// Loads through the cache, compiling (one at a time) where `mode` says.
    async fn load_compiled_by(
        self: &Arc<Self>,
        name: &str,
        bytes: Vec<u8>,
        content_hash: &str,
        cache: Option<&ArtifactCache>,
        mode: &CompileMode,
    ) -> Result<RendererComponent, LoadError> {
        let cache = cache.filter(|_| !content_hash.is_empty()).cloned();
        let component = {
            let _one_at_a_time = self.compile_lock.lock().await;
            let (engine, hash, lookup) = (Arc::clone(self), content_hash.to_string(), cache.clone());
            let cached = tokio::task::spawn_blocking(move || lookup.and_then(|c| c.get(&engine.engine, &hash))).await.ok().flatten();
            match cached {
                Some(component) => {
                    crate::heap::release_freed_memory();
                    component
                }
                None => self.compile(name, bytes, content_hash, cache, mode).await?,
            }
        };
        self.check(name, component).await
    }

    async fn compile(
        self: &Arc<Self>,
        name: &str,
        bytes: Vec<u8>,
        content_hash: &str,
        cache: Option<ArtifactCache>,
        mode: &CompileMode,
    ) -> Result<Component, LoadError> {
        let not_a_component = |detail: String| LoadError::NotAComponent { plugin: name.to_string(), detail: bounded(&detail) };
        let engine = Arc::clone(self);
        let hash = content_hash.to_string();
        match mode {
            CompileMode::InProcess => {
                let compiled = tokio::task::spawn_blocking(move || {
                    let component = Component::new(&engine.engine, &bytes).map_err(|e| format!("{e:#}"))?;
                    if let Some(cache) = cache {
                        cache.put(&engine.engine, &hash, &component);
                    }
                    Ok(component)
                });
                compiled.await.unwrap_or_else(|e| Err(format!("compiler task failed: {e}"))).map_err(not_a_component)
            }
            CompileMode::Subprocess { exe } => {
                let artifact = compile_in_child(exe, bytes, &self.compile_limits).await.map_err(not_a_component)?;
                let loaded = tokio::task::spawn_blocking(move || {
                    // SAFETY: the artifact was just produced by our own
                    // compile-plugin child from this engine's settings; its
                    // compatibility is still checked by deserialize.
                    let component = unsafe { Component::deserialize(&engine.engine, &artifact) }.map_err(|e| format!("{e:#}"))?;
                    if let Some(cache) = cache {
                        cache.put_serialized(&engine.engine, &hash, &artifact);
                    }
                    Ok(component)
                });
                let component = loaded.await.unwrap_or_else(|e| Err(format!("loading the compiled artifact failed: {e}")));
                crate::heap::release_freed_memory();
                component.map_err(not_a_component)
            }
        }
    }

    /// Checks a compiled component and asks for its formats, on a blocking
    /// thread (the plugin's code runs there).
    async fn check(self: &Arc<Self>, name: &str, component: Component) -> Result<RendererComponent, LoadError> {
        let (engine, plugin) = (Arc::clone(self), name.to_string());
        let runtime = tokio::runtime::Handle::current();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in_span = span.enter();
            runtime.block_on(RendererComponent::from_component(&engine.engine, &engine.linker, &plugin, component))
        })
        .await
        .unwrap_or_else(|e| Err(LoadError::NotAComponent { plugin: name.to_string(), detail: format!("checking task failed: {e}") }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::renderer_set::RendererSet;
    use std::time::Duration;

    /// The compile child's bounds are for plugins: with a child that cannot
    /// even start and a 1 ms limit, a plugin fails and the host's own
    /// renderer still loads (a short `plugin_compile_timeout_ms` on a busy
    /// machine once kept the server from starting).
    #[tokio::test(flavor = "multi_thread")]
    async fn the_embedded_renderer_loads_whatever_the_plugin_compile_limits() {
        let limits = CompileLimits {
            mode: CompileMode::Subprocess { exe: "/nonexistent/metrics-host".into() },
            timeout: Duration::from_millis(1),
            memory_bytes: 64 << 20,
        };
        let engine = RendererEngine::with_compile_limits(limits).unwrap();
        let plugin = engine.load("plugin", crate::plugin::DEFAULT_RENDERER_WASM).await;
        assert!(plugin.is_err(), "a plugin compiles in the child, within its limits");
        let builtins = RendererSet::builtin(&engine).await.expect("the embedded renderer loads");
        assert!(builtins.find("prometheus").is_some());
    }
}
