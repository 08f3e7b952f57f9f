//! Test fixture: a renderer that would work but breaks the contract, in the
//! way its feature selects (`wrong-version` or `forbidden-import`).
#[cfg(feature = "wrong-version")]
wit_bindgen::generate!({ path: "wit-future", world: "renderer-plugin" });
#[cfg(feature = "forbidden-import")]
wit_bindgen::generate!({ path: "wit-forbidden", world: "renderer-plugin" });

use exports::metrics::renderer::renderer::{FormatInfo, Guest, RenderError, RenderOptions, Snapshot};

struct Breaker;

impl Guest for Breaker {
    fn formats() -> Vec<FormatInfo> {
        vec![FormatInfo { name: "breaker".into(), content_type: "text/plain".into(), description: String::new() }]
    }

    fn render(_snapshot: Snapshot, _format: String, _options: RenderOptions) -> Result<(), RenderError> {
        #[cfg(feature = "forbidden-import")]
        let _ = metrics::renderer::secrets::get("token");
        Ok(())
    }
}

export!(Breaker);
