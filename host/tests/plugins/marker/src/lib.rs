//! Test fixture for hot swapping: formats `marker` and `prometheus` (to
//! override the built-in), whose whole output names the version it was
//! built as, so a scrape that mixed two versions shows.
//! Built with std (it imports WASI) and prints to stderr, which the host logs.
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
                content_type: "text/plain; charset=utf-8".into(),
                description: format!("test fixture {VERSION}"),
            })
            .collect()
    }

    fn render(snapshot: Snapshot, format: String, _options: RenderOptions) -> Result<(), RenderError> {
        if format != "marker" && format != "prometheus" {
            return Err(RenderError::UnknownFormat(format));
        }
        eprintln!("marker {VERSION} rendering {} families", snapshot.families.len());
        let mut chunk = String::new();
        for i in 0..LINES {
            chunk.push_str(&format!("marker {VERSION} line {i}\n"));
            if chunk.len() > 16 * 1024 {
                if !metrics::renderer::output::write(chunk.as_bytes()) {
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

export!(Marker);
