//! Test fixture: every format misbehaves in its own way.
//! - `spin`: loops forever without calling the host;
//! - `oom`: allocates until memory runs out;
//! - `panic`: panics (a trap);
//! - `flood`: writes output forever;
//! - `lie`: claims success after the host refused its output;
//! - `sleep`: blocks in a WASI host call (a one-hour sleep);
//! - `trickle`: writes one-byte chunks forever, ignoring refusals;
//! - `empty-writes`: writes empty chunks forever;
//! - `batch-spin`: asks for the next batch forever;
//! - `spin-after-batch`: reads one batch of series, then loops forever;
//! - `long-error`: fails with a 10 MB message;
//! - `chatty`: prints thousands of lines, then last words, then aborts;
//! - `prometheus`: overrides the built-in and panics, to trip the circuit breaker.
//!
//! With a `formats-*` feature, `formats()` itself misbehaves instead (the
//! plugin must then be refused at load): `formats-many` offers 100,000
//! formats, `formats-huge-name` one with a 10 MB name, `formats-bad-name` one
//! whose name has a newline and a slash, `formats-spin` never answers.
wit_bindgen::generate!({
    path: "../../../../wit/v0.2.0",
    world: "renderer-plugin",
});

use exports::metrics::renderer::renderer::{FormatInfo, Guest, RenderError, RenderOptions, Snapshot};

struct Hostile;

fn format(name: &str) -> FormatInfo {
    FormatInfo { name: name.into(), content_type: "text/plain".into(), description: format!("hostile: {name}") }
}

const FORMATS: [&str; 13] = [
    "spin",
    "oom",
    "panic",
    "flood",
    "lie",
    "sleep",
    "trickle",
    "empty-writes",
    "batch-spin",
    "spin-after-batch",
    "long-error",
    "chatty",
    "prometheus",
];

impl Guest for Hostile {
    fn formats() -> Vec<FormatInfo> {
        if cfg!(feature = "formats-many") {
            return (0..100_000).map(|i| format(&format!("f{i}"))).collect();
        }
        if cfg!(feature = "formats-huge-name") {
            return vec![format(&"n".repeat(10 << 20))];
        }
        if cfg!(feature = "formats-bad-name") {
            return vec![format("evil\nname/../x")];
        }
        if cfg!(feature = "formats-spin") {
            let mut x: u64 = 1;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        FORMATS.into_iter().map(format).collect()
    }

    fn render(_snapshot: Snapshot, format: String, _options: RenderOptions) -> Result<(), RenderError> {
        use metrics::renderer::{input, output};
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
                    output::write(&chunk);
                }
            }
            "lie" => {
                let chunk = vec![b'y'; 64 * 1024];
                for _ in 0..100_000 {
                    output::write(&chunk);
                }
                Ok(())
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(())
            }
            "trickle" => loop {
                output::write(b"t");
            },
            "empty-writes" => loop {
                output::write(b"");
            },
            "batch-spin" => loop {
                std::hint::black_box(input::next_batch());
            },
            // Reads one batch of series, then never returns.
            "spin-after-batch" => {
                std::hint::black_box(input::next_batch());
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "long-error" => Err(RenderError::Failed("e".repeat(10 << 20))),
            "chatty" => {
                for i in 0..5000 {
                    eprintln!("chatter line {i}");
                }
                eprintln!("last words: the plugin gives up");
                std::process::abort()
            }
            other => Err(RenderError::UnknownFormat(other.into())),
        }
    }
}

export!(Hostile);
