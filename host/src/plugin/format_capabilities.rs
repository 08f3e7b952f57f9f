//! What a format can write beyond the content type it declares, decided in
//! this one place when a renderer set is built. Negotiation and the
//! representation ask a format for its capabilities, never where it came
//! from: the host's own renderer writes UTF-8 names and Prometheus text
//! valid as both 0.0.4 and 1.0.0; a plugin's format can what its content
//! type declares (`escaping=allow-utf-8`).
use super::FormatInfo;
use crate::name_escaping::NameEscaping;
use crate::content_type::{media_type, parameter};

/// What a format can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatCapabilities {
    /// Writes metric and label names as they are (UTF-8, quoted where its
    /// syntax needs it), so the host may hand them over unescaped.
    pub utf8_names: bool,
    /// Writes Prometheus text that is valid 0.0.4 and 1.0.0 alike (names
    /// decide which), so it answers a request for either version.
    pub text_0_0_4_and_1_0_0: bool,
}

impl FormatCapabilities {
    /// The capabilities of `info`, served by the host's own renderer
    /// (`host_renderer`) or by a plugin.
    pub fn of(info: &FormatInfo, host_renderer: bool) -> Self {
        if host_renderer {
            return FormatCapabilities { utf8_names: true, text_0_0_4_and_1_0_0: media_type(&info.content_type) == "text/plain" };
        }
        let declared = parameter(&info.content_type, "escaping").and_then(NameEscaping::parse);
        FormatCapabilities { utf8_names: declared == Some(NameEscaping::AllowUtf8), text_0_0_4_and_1_0_0: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(content_type: &str) -> FormatInfo {
        FormatInfo { name: "f".into(), content_type: content_type.into(), description: String::new() }
    }

    #[test]
    fn a_plugin_can_what_its_content_type_declares_and_the_host_renderer_more() {
        let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        assert_eq!(FormatCapabilities::of(&info(om), false), FormatCapabilities::default());
        let declared = FormatCapabilities::of(&info(&format!("{om}; escaping=allow-utf-8")), false);
        assert_eq!(declared, FormatCapabilities { utf8_names: true, text_0_0_4_and_1_0_0: false });
        let text = info("text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(FormatCapabilities::of(&text, false), FormatCapabilities::default());
        assert_eq!(FormatCapabilities::of(&text, true), FormatCapabilities { utf8_names: true, text_0_0_4_and_1_0_0: true });
        assert_eq!(
            FormatCapabilities::of(&info("application/json"), true),
            FormatCapabilities { utf8_names: true, text_0_0_4_and_1_0_0: false }
        );
    }
}
