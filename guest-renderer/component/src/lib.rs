//! The default renderer component: formats `prometheus`, `json` and
//! `protobuf`, written by `metrics-render-core`'s formatters and exported
//! through `metrics-renderer-sdk`. Built without std (the SDK's
//! `no-std-runtime`), so the component imports nothing but the contract:
//! no WASI.
#![cfg_attr(target_arch = "wasm32", no_std)]

use metrics_render_core::{JSON, PROMETHEUS, PROTOBUF};
use metrics_renderer_sdk::{export_renderer, Format, Input, RenderError, Renderer, Sink};

struct Builtin;

impl Renderer for Builtin {
    const FORMATS: &'static [Format] = &[PROMETHEUS, JSON, PROTOBUF];

    fn render(input: Input<'_>, format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
        metrics_render_core::render(input.families, input.batches, format, Default::default(), sink)
    }
}

export_renderer!(Builtin);
