//! The default renderer component: formats `prometheus`, `json`,
//! `protobuf`, `html`, `remote-write-1`, `remote-write-2` and `otlp`, written by `metrics-render-core`'s
//! formatters and exported through `metrics-renderer-sdk`. Built without
//! std (the SDK's `no-std-runtime`), so the component imports nothing but
//! the contract: no WASI.
//!
//! Push formats read the render's options: `max_samples_per_request` and
//! `external_label.NAME` (the host adds them to a push's render).
#![cfg_attr(target_arch = "wasm32", no_std)]

use metrics_render_core::{RenderOptions, HTML, JSON, OTLP, PROMETHEUS, PROTOBUF, REMOTE_WRITE_1, REMOTE_WRITE_2};
use metrics_renderer_sdk::{export_renderer, Format, Input, RenderError, Renderer, Sink};

struct Builtin;

impl Renderer for Builtin {
    const FORMATS: &'static [Format] = &[PROMETHEUS, JSON, PROTOBUF, HTML, REMOTE_WRITE_1, REMOTE_WRITE_2, OTLP];

    fn render(input: Input<'_>, format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
        // A push's options, which the host adds to its render.
        let push = metrics_render_core::PushOptions::of(input.settings)?;
        let options = RenderOptions {
            timestamp_ms: input.timestamp_ms,
            max_samples: push.max_samples,
            external_labels: &push.external_labels,
            ..Default::default()
        };
        metrics_render_core::render(input.families, input.batches, format, options, sink)
    }
}

export_renderer!(Builtin);
