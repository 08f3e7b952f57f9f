//! Test fixture for hot swapping: formats `marker` and `prometheus` (to
//! override the built-in), whose whole output names the version it was
//! built as, so a scrape that mixed two versions shows.
//! Built with std (it imports WASI) and prints to stderr, which the host logs.
//!
//! Features `bug-*` build a version with one bug a plugin author could
//! make (the host's preflight must keep each from going live):
//! `bug-nondeterministic` (family names in a `HashMap`'s order and the time
//! in the output), `bug-spin-on-empty-family` (loops forever on a family
//! without series), `bug-writes-after-refusal` (ignores `output.write`
//! returning false), `bug-unescaped-label` (declares JSON and writes the
//! label values between quotes without escaping them).
wit_bindgen::generate!({
    path: "../../../../wit/v0.2.0",
    world: "renderer-plugin",
});

use exports::metrics::renderer::renderer::{FormatInfo, Guest, RenderError, RenderOptions, Snapshot};

const VERSION: &str = if cfg!(feature = "v2") { "v2" } else { "v1" };
/// Lines per render: enough for several output chunks.
const LINES: usize = 5000;

struct Marker;

impl Guest for Marker {
    fn formats() -> Vec<FormatInfo> {
        ["marker", "prometheus"]
            .into_iter()
            .map(|name| FormatInfo {
                name: name.into(),
                content_type: if cfg!(feature = "bug-unescaped-label") { "application/json" } else { "text/plain; charset=utf-8" }.into(),
                description: format!("test fixture {VERSION}"),
            })
            .collect()
    }

    fn render(snapshot: Snapshot, format: String, _options: RenderOptions) -> Result<(), RenderError> {
        if format != "marker" && format != "prometheus" {
            return Err(RenderError::UnknownFormat(format));
        }
        eprintln!("marker {VERSION} rendering {} families", snapshot.families.len());
        if cfg!(feature = "bug-spin-on-empty-family") && snapshot.families.iter().any(|f| f.series == 0) {
            let mut spins = 0u64;
            loop {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        if cfg!(feature = "bug-unescaped-label") {
            return unescaped_label_values();
        }
        let mut chunk = String::new();
        if cfg!(feature = "bug-nondeterministic") {
            let names: std::collections::HashMap<&str, usize> =
                snapshot.families.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
            let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            chunk.push_str(&format!("families {:?} at {at}\n", names.keys().collect::<Vec<_>>()));
        }
        for i in 0..LINES {
            chunk.push_str(&format!("marker {VERSION} line {i}\n"));
            if chunk.len() > 16 * 1024 {
                if !metrics::renderer::output::write(chunk.as_bytes()) && !cfg!(feature = "bug-writes-after-refusal") {
                    return Err(RenderError::OutputClosed);
                }
                chunk.clear();
            }
        }
        chunk.push_str(&format!("end {VERSION}\n"));
        if !metrics::renderer::output::write(chunk.as_bytes()) {
            return Err(RenderError::OutputClosed);
        }
        Ok(())
    }
}

/// A JSON array of every label value, each written between quotes as it
/// is (the bug: a value holding `"` or a newline breaks the JSON).
fn unescaped_label_values() -> Result<(), RenderError> {
    let mut out = format!("[\"marker {VERSION}\"");
    while let Some(batch) = metrics::renderer::input::next_batch() {
        let mut start = 0;
        for end in batch.label_ends {
            let value = batch.label_text.get(start..end as usize).unwrap_or_default();
            out.push_str(&format!(",\"{value}\""));
            start = end as usize;
        }
    }
    out.push(']');
    if !metrics::renderer::output::write(out.as_bytes()) {
        return Err(RenderError::OutputClosed);
    }
    Ok(())
}

export!(Marker);
