//! Operator endpoints (trusted peers only, like everything else):
//! `GET /-/plugins` lists renderers, `POST /-/reload` rescans the plugins
//! folder, `GET /-/push` shows each push endpoint (never its headers).
use super::AppState;
use crate::plugin::catalog::{PluginStatus, ReloadReport};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::time::Duration;

/// How long `POST /-/reload` waits for the rescan before answering
/// `202 Accepted` (the rescan goes on; `GET /-/plugins` shows its progress).
pub const RELOAD_ANSWER_WAIT: Duration = Duration::from_secs(5);

/// The plugin listing.
#[derive(Serialize)]
pub struct PluginListing {
    /// The plugins folder, if one is configured.
    plugin_dir: Option<String>,
    plugins: Vec<PluginStatus>,
}

pub async fn list_plugins(State(app): State<AppState>) -> Json<PluginListing> {
    Json(PluginListing {
        plugin_dir: app.renders.renderers().plugin_dir().map(|d| d.display().to_string()),
        plugins: app.renders.renderers().statuses().await,
    })
}

/// Answer of a reload that is still going on.
#[derive(Serialize)]
struct ReloadInProgress {
    in_progress: bool,
    message: &'static str,
}

pub async fn reload(State(app): State<AppState>) -> Response {
    match app.renders.renderers().reload_within(RELOAD_ANSWER_WAIT).await {
        Some(report) => Json::<ReloadReport>(report).into_response(),
        _ => (
            StatusCode::ACCEPTED,
            Json(ReloadInProgress { in_progress: true, message: "the rescan is still running; GET /-/plugins shows its progress" }),
        )
            .into_response(),
    }
}

/// Each push endpoint's status.
pub async fn push_status(State(app): State<AppState>) -> Json<Vec<crate::push::PushStatus>> {
    Json(app.pushers.as_ref().map(|pushers| pushers.status()).unwrap_or_default())
}
