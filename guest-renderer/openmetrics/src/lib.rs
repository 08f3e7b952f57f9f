//! The OpenMetrics renderer component: format `openmetrics`.
//!
//! Shipped as a plugin (`target/plugins/openmetrics.wasm`) rather than built
//! in: dropping it into the plugins folder makes Prometheus' own scrapes,
//! which prefer OpenMetrics, switch to it.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// The formats this component renders.
const OFFERED: [metrics_render_core::FormatInfo; 1] = [metrics_render_core::OPENMETRICS];

include!("../../component/src/component_glue.rs");
