//! Rust mirrors of the WIT records of `wit/renderer.wit`, checked against a
//! component's actual types when its functions are looked up. The snapshot
//! argument borrows from the host's snapshot, so lowering copies straight
//! from the registry's tables into guest memory.
use crate::snapshot::FamilySnapshot;
use wasmtime::component::{ComponentType, Lift, Lower};

/// Mirrors `snapshot`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct SnapshotArg<'a> {
    pub text: &'a str,
    #[component(name = "string-ends")]
    pub string_ends: &'a [u32],
    #[component(name = "label-set-ends")]
    pub label_set_ends: &'a [u32],
    #[component(name = "label-names")]
    pub label_names: &'a [u32],
    #[component(name = "label-values")]
    pub label_values: &'a [u32],
    pub families: &'a [FamilySnapshot],
    #[component(name = "timestamp-ms")]
    pub timestamp_ms: i64,
}

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
