//! One error type for every handler, answered as plain text.
use crate::bounded_text::bounded;
use crate::plugin::{RenderFailure, RenderFailureCause};
use crate::render_service::RenderRefused;
use crate::shared_render::SharedFailure;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A malformed request (query, header): 400 with the reason.
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "no negotiable format matches Accept: {accept:?}; negotiable formats loaded: {available} (any loaded format with ?format=NAME)"
    )]
    /// No negotiable format matches the `Accept` header: 406.
    NotAcceptable {
        /// The `Accept` header as sent (cut).
        accept: String,
        /// The negotiable formats loaded.
        available: String,
    },
    /// The render service refused the render before it started.
    #[error("{0}")]
    Refused(#[from] RenderRefused),
    /// The render failed before any output was sent.
    #[error("{0}")]
    Render(#[from] RenderFailure),
    /// The render task itself failed (a panic): 500.
    #[error("render task failed: {0}")]
    Internal(String),
}

impl From<SharedFailure> for AppError {
    fn from(failure: SharedFailure) -> Self {
        match failure {
            SharedFailure::Render(failure) => AppError::Render((*failure).clone()),
            cut_off @ SharedFailure::CutOff(_) => AppError::Internal(cut_off.to_string()),
        }
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            AppError::Refused(
                RenderRefused::BadPrefix(_)
                | RenderRefused::UnknownFormat { .. }
                | RenderRefused::DeadlineTooShort { .. }
                | RenderRefused::PrefixTooLong(_),
            ) => StatusCode::BAD_REQUEST,
            AppError::Refused(RenderRefused::BackedOff { .. } | RenderRefused::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Render(failure) => match failure.cause {
                RenderFailureCause::InvalidOption(_) => StatusCode::BAD_REQUEST,
                RenderFailureCause::Upstream(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Every message may quote outside text (a header, a query value, an
        // upstream line, a plugin's words): the body and the log carry at
        // most 4 KiB of it, whatever was sent.
        let message = bounded(&self.to_string());
        // Render failures are logged where they happen, with the outcome.
        if status.is_server_error() && !matches!(self, AppError::Render(_) | AppError::Refused(_)) {
            tracing::error!(error = %message, "request failed");
        }
        let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{message}\n")).into_response();
        match &self {
            AppError::Refused(RenderRefused::BackedOff { retry_in, .. }) => {
                response.headers_mut().insert(header::RETRY_AFTER, (retry_in.as_secs() + 1).into());
            }
            AppError::Refused(RenderRefused::Busy { .. }) => {
                response.headers_mut().insert(header::RETRY_AFTER, 1.into());
            }
            _ => {}
        }
        response
    }
}
