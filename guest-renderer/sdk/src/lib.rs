//! Write a renderer plugin for metrics-host in a few dozen lines.
//!
//! A plugin is a type that offers formats ([`Renderer::FORMATS`]) and
//! renders one of them ([`Renderer::render`]); [`export_renderer!`] makes
//! it the component's export. Most formats are written series by series:
//! implement [`SeriesFormatter`] (each series with its labels as
//! `(&str, &str)` pairs, its value, buckets or quantiles) and call
//! [`render_series`]. The [`Writer`] buffers output and hands it to the
//! host in chunks; when the host stops accepting output the render ends
//! with [`RenderError::OutputClosed`], as the contract asks. Escaping
//! helpers for Prometheus label values and help text, JSON strings and any
//! byte set ([`Writer::escaped`]) are on the writer.
//!
//! ```ignore
//! use metrics_renderer_sdk::*;
//!
//! struct Csv;
//!
//! impl SeriesFormatter for Csv {
//!     fn series(&mut self, family: &Family<'_>, series: &Series<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
//!         out.str(family.name);
//!         for (name, value) in series.labels() {
//!             out.byte(b',').str(name).byte(b'=').escaped(value, &[(b',', "\\,"), (b'\n', "\\n")]);
//!         }
//!         out.byte(b',').f64(series.value()).byte(b'\n');
//!         Ok(())
//!     }
//! }
//!
//! impl Renderer for Csv {
//!     const FORMATS: &'static [Format] = &[Format { name: "csv", content_type: "text/csv; charset=utf-8", description: "one line per series" }];
//!     fn render(input: Input<'_>, _format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
//!         render_series(input.families, input.batches, &mut Csv, sink)
//!     }
//! }
//!
//! export_renderer!(Csv);
//! ```
//!
//! Works with std (the component then imports WASI, which the host
//! provides without capabilities) and without (feature `no-std-runtime`
//! supplies the allocator and panic handler; the component then imports
//! nothing but the contract).
#![no_std]

extern crate alloc;

#[cfg(all(feature = "no-std-runtime", target_arch = "wasm32"))]
mod no_std_runtime;

#[doc(hidden)]
pub mod glue;

pub use metrics_render_core::{
    render_series, BatchSource, BucketSpan, Family, LineRequests, MetricKind, NativeBuckets, RenderError, Series, SeriesBatch,
    SeriesFormatter, Sink, Writer,
};

/// The contract's bindings, generated from the WIT this SDK was built with.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.3.0",
        world: "renderer-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_renderer_plugin",
        default_bindings_module: "metrics_renderer_sdk::bindings",
    });
}

/// A format a plugin offers: name (used in `?format=`,
/// `[a-z0-9][a-z0-9_.-]{0,63}`), HTTP content type, one line for humans.
pub use metrics_render_core::FormatInfo as Format;

/// What a render reads: the snapshot's families, and their series batch
/// by batch (checked against the families by [`render_series`] and the
/// built-in formatters).
pub struct Input<'a> {
    pub families: &'a [Family<'a>],
    pub batches: &'a mut dyn BatchSource,
    /// The snapshot's time, in ms since the Unix epoch.
    pub timestamp_ms: i64,
    /// The plugin's settings, as [`Renderer::configure`] accepted them.
    pub settings: &'a [(alloc::string::String, alloc::string::String)],
}

/// A renderer plugin.
pub trait Renderer {
    /// The formats offered (checked by the host at load).
    const FORMATS: &'static [Format];

    /// Checks the plugin's settings (`NAME.toml` beside the component,
    /// key/value text sorted by key) once at load; an error refuses the
    /// plugin with the reason. By default no setting is accepted.
    fn configure(settings: &[(alloc::string::String, alloc::string::String)]) -> Result<(), alloc::string::String> {
        match settings.first() {
            None => Ok(()),
            Some((key, _)) => Err(alloc::format!("unknown setting {key:?}: this plugin takes no settings")),
        }
    }

    /// Renders `input` in `format` (one of [`Renderer::FORMATS`]) into `sink`.
    fn render(input: Input<'_>, format: &str, sink: &mut dyn Sink) -> Result<(), RenderError>;
}

/// Makes `$renderer` (a [`Renderer`]) the component's export. Only on
/// wasm32: a native build (`cargo test` of the format) exports nothing.
#[macro_export]
macro_rules! export_renderer {
    ($renderer:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __MetricsRendererExport;

            impl $crate::bindings::exports::metrics::renderer::renderer::Guest for __MetricsRendererExport {
                fn formats() -> $crate::glue::Vec<$crate::bindings::exports::metrics::renderer::renderer::FormatInfo> {
                    $crate::glue::formats::<$renderer>()
                }

                fn configure(
                    settings: $crate::glue::Vec<($crate::glue::String, $crate::glue::String)>,
                ) -> Result<(), $crate::glue::String> {
                    <$renderer as $crate::Renderer>::configure(&settings)
                }

                fn render(
                    snapshot: $crate::bindings::exports::metrics::renderer::renderer::Snapshot,
                    format: $crate::glue::String,
                    options: $crate::bindings::exports::metrics::renderer::renderer::RenderOptions,
                ) -> Result<(), $crate::bindings::exports::metrics::renderer::renderer::RenderError> {
                    $crate::glue::render::<$renderer>(snapshot, format, options)
                }
            }

    $crate::bindings::__export_renderer_plugin!(__MetricsRendererExport with_types_in $crate::bindings);
        };
    };
}
