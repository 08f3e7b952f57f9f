//! Preflight: what a new plugin file, or a new version of one, must do
//! before it serves. After it loads (and is configured), each of its
//! formats renders the check's sample snapshots under the server's render
//! limits, on the reload task (never on a request's path): the edge cases
//! (every kind, escapes, multi-byte and empty label values, NaN and the
//! infinities, an empty family, classic and native histograms, a summary)
//! and a registry with no families at all. A format fails when a render
//! fails (traps, times out, runs out of memory, returns an error), when its
//! output for a content type the host can read (Prometheus text 0.0.4,
//! OpenMetrics, JSON) is refused by the strict readers, when a second render
//! of the same snapshot differs, or when it keeps writing after the host
//! refused its output (half-way, or at its first write) or then does not
//! return output-closed. A version that fails does not go live: a new file is
//! `failed`, a new version leaves the previous one serving; either way with
//! the reason.
use super::judged_render::{render_judged, JudgedRender, Judging, RefusalAnswer};
use super::output_stream_check::{first_difference, OutputStreamCheck, OutputSummary};
use super::sample_snapshots;
use super::series_batches::RenderNames;
use super::{RenderLimits, RendererComponent};
use crate::registry::Registry;
use crate::snapshot::Snapshot;
use std::sync::{Arc, OnceLock};

/// Output kept of each sample render, to show where two renders differ.
const KEPT_BYTES: usize = 4 << 20;

/// Why a format failed its preflight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("format {format:?} failed its preflight ({sample}): {reason}")]
pub struct PreflightFailure {
    /// The format that failed.
    pub format: String,
    /// Which sample or check.
    pub sample: &'static str,
    /// What it did.
    pub reason: String,
}

/// The samples, built once per process.
fn samples() -> &'static (Arc<Snapshot>, Arc<Snapshot>) {
    static SAMPLES: OnceLock<(Arc<Snapshot>, Arc<Snapshot>)> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let edge = sample_snapshots::edge_cases().expect("the edge-case sample registers").snapshot();
        (Arc::new(edge), Arc::new(Registry::new().snapshot()))
    })
}

/// What a render's output was: its summary (size and hash), `None` when
/// the content type is not one the host reads; or why the render or its
/// output failed.
fn outcome(render: JudgedRender) -> Result<Option<OutputSummary>, String> {
    match (render.read.judged, render.result) {
        (Some(Err(problem)), _) => Err(format!("its output is refused by the strict reader: {problem}")),
        (_, Err(failure)) => Err(failure.cause.to_string()),
        (judged, Ok(())) => Ok(judged.and_then(Result::ok)),
    }
}

/// Runs every format of `component` through the preflight within `limits`.
pub async fn preflight(component: &RendererComponent, limits: &RenderLimits) -> Result<(), PreflightFailure> {
    let (edge, empty) = samples();
    for format in &component.formats {
        let fail = |sample: &'static str, reason: String| PreflightFailure { format: format.name.clone(), sample, reason };
        let job = Judging { component, format: &format.name, names: RenderNames::default(), limits };
        let read = || OutputStreamCheck::new(&format.content_type).hashing().keeping(KEPT_BYTES);
        let first = render_judged(&job, edge, u64::MAX, read(), None).await;
        let written = first.read.written;
        let first = outcome(first).map_err(|why| fail("edge cases", why))?;
        outcome(render_judged(&job, empty, u64::MAX, read(), None).await).map_err(|why| fail("no families at all", why))?;
        let second = outcome(render_judged(&job, edge, u64::MAX, read(), None).await).map_err(|why| fail("edge cases, a second time", why))?;
        if first != second {
            let kept = |summary: &Option<OutputSummary>| summary.as_ref().and_then(|s| s.kept.clone()).unwrap_or_default();
            let at = first_difference(&kept(&first), &kept(&second));
            return Err(fail("deterministic", format!("a second render of the same snapshot wrote different bytes ({at})")));
        }
        // Refuse the output half-way, then at its first write (an output
        // written in one piece is refused only so): the guest must stop
        // writing and return output-closed, the same verdict as `plugin check`.
        for (sample, accept) in [("output refused part-way", written / 2), ("output refused at once", 0)] {
            // Read as it comes, not hashed or kept: nothing compares it.
            let answer = RefusalAnswer::of(&render_judged(&job, edge, accept, OutputStreamCheck::new(&format.content_type), None).await);
            if !answer.passed() {
                return Err(fail(sample, format!("its output was refused and it {answer}")));
            }
        }
    }
    Ok(())
}
