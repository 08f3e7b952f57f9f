//! The default renderer component: formats `prometheus`, `json` and `protobuf`.
//!
//! The WIT adapter lives in `component_glue.rs` (shared with the other
//! renderer components); the formatting in `metrics-render-core`. Built
//! without std so the component imports nothing but `output`: no WASI.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// The formats this component renders.
const OFFERED: [metrics_render_core::FormatInfo; 3] =
    [metrics_render_core::PROMETHEUS, metrics_render_core::JSON, metrics_render_core::PROTOBUF];

include!("component_glue.rs");
