// The body of a renderer component, shared by every component crate under
// guest-renderer/ through `include!`. The including crate defines `OFFERED`,
// the formats it renders, and the `#![no_std]` attribute.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

wit_bindgen::generate!({
    path: "../../wit",
    world: "renderer-plugin",
});

use exports::metrics::renderer::renderer::{FormatInfo, Guest, RenderError, RenderOptions, Snapshot};
use metrics::renderer::types::MetricKind;
use metrics_render_core as core_render;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic traps the instance; the host reports it and never reuses it.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Without std nothing links libc's `memcmp`, which slice comparisons call;
/// this keeps the component free of any `env` import.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, len: usize) -> i32 {
    for i in 0..len {
        // SAFETY: the caller guarantees both ranges are readable for `len` bytes.
        let (x, y) = unsafe { (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i))) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

/// The canonical ABI's allocator entry point: the host calls it to place the
/// snapshot's families and each batch of series in guest memory. Without std it has to be defined here.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(old_ptr: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    use alloc::alloc::{alloc, realloc, Layout};
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a power-of-two alignment and, for a
    // reallocation, the pointer and size of an earlier allocation.
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(old_ptr, Layout::from_size_align_unchecked(old_len, align), new_len)
        }
    };
    if ptr.is_null() {
        core::arch::wasm32::unreachable()
    }
    ptr
}

/// Hands chunks to the host's `output.write`.
struct HostOutput;

impl core_render::Sink for HostOutput {
    fn write(&mut self, chunk: &[u8]) -> bool {
        metrics::renderer::output::write(chunk)
    }
}

/// Pulls batches from the host's `input.next-batch`. Each batch is owned
/// here and freed before the next is read, so guest memory holds one batch.
struct HostInput;

impl core_render::BatchSource for HostInput {
    fn next_batch(
        &mut self,
        f: &mut dyn FnMut(&core_render::SeriesBatch<'_>) -> Result<(), core_render::RenderError>,
    ) -> Result<bool, core_render::RenderError> {
        let Some(batch) = metrics::renderer::input::next_batch() else {
            return Ok(false);
        };
        let native: Vec<core_render::NativeBuckets> = batch.native.into_iter().map(native_buckets).collect();
        f(&core_render::SeriesBatch {
            family: batch.family,
            label_text: &batch.label_text,
            label_ends: &batch.label_ends,
            values: &batch.values,
            bucket_counts: &batch.bucket_counts,
            sums: &batch.sums,
            counts: &batch.counts,
            quantile_values: &batch.quantile_values,
            native: &native,
            created_ms: &batch.created_ms,
        })?;
        Ok(true)
    }
}

/// The contract's native buckets as the formatting code takes them.
fn native_buckets(native: metrics::renderer::types::NativeBuckets) -> core_render::NativeBuckets {
    let spans = |spans: Vec<metrics::renderer::types::BucketSpan>| {
        spans.into_iter().map(|s| core_render::BucketSpan { offset: s.offset, length: s.length }).collect()
    };
    core_render::NativeBuckets {
        schema: native.schema,
        zero_threshold: native.zero_threshold,
        zero_count: native.zero_count,
        positive_spans: spans(native.positive_spans),
        positive_deltas: native.positive_deltas,
        negative_spans: spans(native.negative_spans),
        negative_deltas: native.negative_deltas,
    }
}

struct Renderer;

impl Guest for Renderer {
    fn formats() -> Vec<FormatInfo> {
        OFFERED
            .iter()
            .map(|f| FormatInfo {
                name: f.name.to_string(),
                content_type: f.content_type.to_string(),
                description: f.description.to_string(),
            })
            .collect()
    }

    fn render(snapshot: Snapshot, format: String, options: RenderOptions) -> Result<(), RenderError> {
        if !OFFERED.iter().any(|f| f.name == format) {
            return Err(RenderError::UnknownFormat(format));
        }
        let families: Vec<core_render::Family<'_>> = snapshot
            .families
            .iter()
            .map(|f| core_render::Family {
                name: &f.name,
                help: f.help.as_deref(),
                kind: match f.kind {
                    MetricKind::Counter => core_render::MetricKind::Counter,
                    MetricKind::Gauge => core_render::MetricKind::Gauge,
                    MetricKind::Histogram => core_render::MetricKind::Histogram,
                    MetricKind::Summary => core_render::MetricKind::Summary,
                },
                label_names: f.label_names.iter().map(String::as_str).collect(),
                series: f.series,
                bounds: &f.bounds,
                native: f.native,
                quantiles: &f.quantiles,
            })
            .collect();
        let options = core_render::RenderOptions { prefix: &options.prefix };
        core_render::render(&families, &mut HostInput, &format, options, &mut HostOutput).map_err(|e| match e {
            core_render::RenderError::UnknownFormat(name) => RenderError::UnknownFormat(name),
            core_render::RenderError::InvalidOption(why) => RenderError::InvalidOption(why),
            core_render::RenderError::OutputClosed => RenderError::OutputClosed,
            core_render::RenderError::Failed(why) => RenderError::Failed(why),
        })
    }
}

export!(Renderer);
