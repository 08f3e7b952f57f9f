//! The OpenMetrics renderer component (format `openmetrics`), shipped as a
//! plugin: `metrics-render-core`'s formatter exported through
//! `metrics-renderer-sdk`, without std (no WASI imports).
#![cfg_attr(target_arch = "wasm32", no_std)]

use metrics_render_core::OPENMETRICS;
use metrics_renderer_sdk::{export_renderer, Format, Input, RenderError, Renderer, Sink};

struct OpenMetrics;

impl Renderer for OpenMetrics {
    const FORMATS: &'static [Format] = &[OPENMETRICS];

    fn render(input: Input<'_>, format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
        metrics_render_core::render(input.families, input.batches, format, Default::default(), sink)
    }
}

export_renderer!(OpenMetrics);
