//! Operator endpoints (trusted peers only, like everything else):
//! `GET /-/plugins` lists renderers, `POST /-/reload` rescans the plugins folder.
use super::AppState;
use crate::renderers::{PluginStatus, ReloadReport};
use axum::extract::State;
use axum::Json;
use serde::Serialize;

/// The plugin listing.
#[derive(Serialize)]
pub struct PluginListing {
    /// The plugins folder, if one is configured.
    plugin_dir: Option<String>,
    plugins: Vec<PluginStatus>,
}

pub async fn list_plugins(State(app): State<AppState>) -> Json<PluginListing> {
    Json(PluginListing { plugin_dir: app.renderers.plugin_dir().map(|d| d.display().to_string()), plugins: app.renderers.statuses().await })
}

pub async fn reload(State(app): State<AppState>) -> Json<ReloadReport> {
    let report = app.renderers.reload().await;
    app.host_metrics.record_reload(&report);
    Json(report)
}
