//! Renderer plugins: wasm components that turn a snapshot into bytes.
//!
//! - [`renderer_set`]: which renderer serves which format; [`catalog`]:
//!   hot swap and the listing; [`folder`] reads the plugins folder safely, [`watcher`]
//!   triggers reloads.
//! - [`series_batches`]: the snapshot as the contract's records and batches.
//! - [`engine`]: the wasmtime engine, the linker with the host's `output`
//!   import, and the epoch ticker that enforces deadlines.
//! - [`component`]: loading and checking a component (`LoadError`).
//! - [`call`]: one render in a fresh, limited store (`RenderFailure`).
//! - [`sink`]: where a render's output goes (HTTP body channel, a writer).
//! - [`wit`]: the contract as generated bindings, one module per version.
//! - [`artifact_cache`]: compiled components on disk, keyed by content hash.
//! - [`compiler`]: compiling in a limited child process, one at a time.
//! - [`limits`]: the bounds of one render and the memory limiter.
//! - [`format_rules`]: what a plugin's `formats()` answer must look like.
//! - [`preflight`]: what a new version must render before it serves,
//!   against [`sample_snapshots`], its output read by [`output_stream_check`]
//!   through [`reading_sink`]; [`judged_render`]: one such render and the
//!   verdict on a refused output, which `plugin check` shares.
//! - [`stdio_capture`], [`bounded_text`]: plugin text, kept bounded.
pub mod artifact_cache;
use crate::bounded_text;
pub mod budget;
pub mod call;
pub mod catalog;
pub mod circuit_breaker;
pub mod compiler;
pub mod component;
pub mod engine;
pub mod folder;
pub mod format_capabilities;
pub mod format_rules;
pub mod judged_render;
pub mod limits;
pub mod output_stream_check;
pub mod preflight;
pub mod reading_sink;
pub mod renderer_set;
pub mod sample_snapshots;
pub mod series_batches;
pub mod settings;
pub mod sink;
pub mod stdio_capture;
pub mod watcher;
pub mod wit;

pub use artifact_cache::ArtifactCache;
pub use call::{RenderFailure, RenderFailureCause, RenderLimits};
pub use circuit_breaker::{BreakerStatus, CircuitBreaker};
pub use compiler::{CompileLimits, CompileMode};
pub use component::{FormatInfo, GuestConduct, LoadError, RendererComponent};
pub use engine::RendererEngine;
pub use sink::{OutputSink, SinkClosed, WriteFuture, WriterSink};

/// The default renderer (formats `prometheus` and `json`), built from
/// `guest-renderer/component` and embedded so the binary needs no files.
pub const DEFAULT_RENDERER_WASM: &[u8] = include_bytes!(env!("METRICS_DEFAULT_RENDERER_WASM"));
