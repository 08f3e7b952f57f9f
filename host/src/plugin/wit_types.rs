//! Rust mirrors of the small WIT records of `wit/renderer.wit`, checked
//! against a component's actual types when its functions are looked up.
//! The snapshot's own records live in `series_batches`.
use wasmtime::component::{ComponentType, Lift, Lower};

/// Mirrors `render-options`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct RenderOptionsArg<'a> {
    pub prefix: &'a str,
}

/// Mirrors `format-info`.
#[derive(ComponentType, Lift, Debug, Clone)]
#[component(record)]
pub(crate) struct FormatInfoWit {
    pub name: String,
    #[component(name = "content-type")]
    pub content_type: String,
    pub description: String,
}

/// Mirrors `render-error`.
#[derive(ComponentType, Lift, Debug, Clone)]
#[component(variant)]
pub(crate) enum RenderErrorWit {
    #[component(name = "unknown-format")]
    UnknownFormat(String),
    #[component(name = "invalid-option")]
    InvalidOption(String),
    #[component(name = "output-closed")]
    OutputClosed,
    #[component(name = "failed")]
    Failed(String),
}
