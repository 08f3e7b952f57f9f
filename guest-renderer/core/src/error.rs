//! Why a render failed; mirrors `render-error` in `wit/v0.3.0/renderer.wit`.
use alloc::string::String;

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The requested format is not offered.
    UnknownFormat(String),
    /// An option is not acceptable.
    InvalidOption(String),
    /// The sink stopped accepting output.
    OutputClosed,
    /// The snapshot is inconsistent, or anything else.
    Failed(String),
}

impl core::fmt::Display for RenderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RenderError::UnknownFormat(name) => write!(f, "unknown format {name:?}"),
            RenderError::InvalidOption(why) => write!(f, "invalid option: {why}"),
            RenderError::OutputClosed => f.write_str("output closed by the host"),
            RenderError::Failed(why) => f.write_str(why),
        }
    }
}
