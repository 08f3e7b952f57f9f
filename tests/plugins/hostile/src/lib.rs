//! Test fixture: every format misbehaves in its own way.
//! - `spin`: loops forever without calling the host;
//! - `oom`: allocates until memory runs out;
//! - `panic`: panics (a trap);
//! - `flood`: writes output forever;
//! - `lie`: claims success after the host refused its output;
//! - `sleep`: blocks in a WASI host call (a one-hour sleep);
//! - `prometheus`: overrides the built-in and panics, to trip the circuit breaker.
wit_bindgen::generate!({
    path: "../../../wit",
    world: "renderer-plugin",
});

use exports::metrics::renderer::renderer::{FormatInfo, Guest, RenderError, RenderOptions, Snapshot};

struct Hostile;

fn format(name: &str) -> FormatInfo {
    FormatInfo { name: name.into(), content_type: "text/plain".into(), description: format!("hostile: {name}") }
}

impl Guest for Hostile {
    fn formats() -> Vec<FormatInfo> {
        ["spin", "oom", "panic", "flood", "lie", "sleep", "prometheus"].into_iter().map(format).collect()
    }

    fn render(_snapshot: Snapshot, format: String, _options: RenderOptions) -> Result<(), RenderError> {
        match format.as_str() {
            "spin" => {
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" | "prometheus" => panic!("hostile renderer panics on purpose"),
            "flood" => {
                let chunk = vec![b'x'; 64 * 1024];
                loop {
                    // Ignores the host's refusal and keeps writing.
                    metrics::renderer::output::write(&chunk);
                }
            }
            "lie" => {
                let chunk = vec![b'y'; 64 * 1024];
                for _ in 0..100_000 {
                    metrics::renderer::output::write(&chunk);
                }
                Ok(())
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(())
            }
            other => Err(RenderError::UnknownFormat(other.into())),
        }
    }
}

export!(Hostile);
