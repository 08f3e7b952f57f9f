//! `metrics-host plugin check FILE [--format NAME]`: what a plugin author
//! (or CI) runs before shipping a renderer. It loads the component the way
//! the server does (contract version, exports, imports, the `formats()`
//! rules, every load-time bound; compiled through the same cache), then
//! for each format renders the sample snapshots under the server's
//! default limits: edge cases, the same with a prefix, and 100k series.
//! It refuses output part-way and checks the plugin stops and returns
//! `output-closed`; renders the edge cases twice and compares the bytes;
//! checks output in a format it can read (Prometheus text, OpenMetrics,
//! JSON) with the strict readers as it is written (`output_stream_check`:
//! never held whole); and reports time, output size and guest
//! memory. Any failure makes the exit status 1.
use crate::plugin::folder::read_plugin;
use crate::plugin::output_stream_check::{first_difference, OutputStreamCheck, OutputSummary};
use crate::plugin::sample_snapshots;
use crate::plugin::series_batches::RenderNames;
use crate::plugin::settings::read_settings_file;
use crate::plugin::sink::{OutputSink, SinkClosed, WriteFuture};
use crate::plugin::{ArtifactCache, CompileLimits, GuestConduct, GuestReturn, RenderLimits, RendererComponent, RendererEngine};
use crate::registry::Registry;
use crate::snapshot::Snapshot;
use bytes::Bytes;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Output kept of a render whose bytes are compared, to show where two differ.
const KEPT_BYTES: usize = 4 << 20;

/// What `plugin check` loads and renders within: the server's bounds.
pub struct CheckBounds {
    /// Per render (time, memory, output).
    pub render: RenderLimits,
    /// Compiling: the server's child process, time and memory limits.
    pub compile: CompileLimits,
    /// Largest plugin file read.
    pub plugin_max_bytes: u64,
}

/// Reads what a render writes as it is written (validated and hashed,
/// never kept), refusing everything after `accept` bytes or after the
/// first problem in the output.
#[derive(Clone)]
struct CheckSink {
    state: Arc<Mutex<SinkState>>,
    accept: u64,
}

struct SinkState {
    check: Option<OutputStreamCheck>,
    written: u64,
    problem: Option<String>,
}

impl OutputSink for CheckSink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let result = if state.written >= self.accept || state.problem.is_some() {
            Err(SinkClosed::Gone)
        } else {
            state.written += chunk.len() as u64;
            let read = state.check.as_mut().map_or(Ok(()), |check| check.feed(&chunk));
            read.map_err(|problem| {
                state.problem = Some(problem);
                SinkClosed::Gone
            })
        };
        Box::pin(async move { result })
    }
}

/// One render of a sample.
struct Rendered {
    result: Result<(), String>,
    /// The output's size and hash, or its first problem (`None` when the
    /// render failed before its output could be judged).
    output: Option<Result<OutputSummary, String>>,
    written: u64,
    elapsed: Duration,
    conduct: GuestConduct,
}

/// What is rendered, and within what.
struct Job<'a> {
    component: &'a RendererComponent,
    format: &'a str,
    content_type: &'a str,
    limits: &'a RenderLimits,
}

/// Renders `snapshot`, refusing output after `accept` bytes; `hash` asks
/// for the output's hash (for the determinism check).
async fn render(job: &Job<'_>, snapshot: &Arc<Snapshot>, prefix: &str, accept: u64, hash: bool) -> Rendered {
    let check = OutputStreamCheck::new(job.content_type);
    let state = SinkState { check: Some(if hash { check.hashing().keeping(KEPT_BYTES) } else { check }), written: 0, problem: None };
    let sink = CheckSink { state: Arc::new(Mutex::new(state)), accept };
    let started = Instant::now();
    let names = RenderNames { prefix, ..RenderNames::default() };
    let (result, conduct) = job.component.render_reporting(snapshot, job.format, names, job.limits, Box::new(sink.clone())).await;
    let elapsed = started.elapsed();
    let mut state = sink.state.lock().unwrap_or_else(|e| e.into_inner());
    let result = result.map_err(|e| e.cause.to_string());
    let output = match (state.problem.take(), state.check.take()) {
        (Some(problem), _) => Some(Err(problem)),
        (None, Some(check)) if result.is_ok() => Some(check.finish()),
        _ => None,
    };
    Rendered { result, output, written: state.written, elapsed, conduct }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Checks the plugin at `path` (renders within `limits`, the server's by
/// default); the report, and whether everything passed. A format's checks
/// stop at its first failure.
pub async fn check(
    path: &Path,
    only_format: Option<&str>,
    bounds: &CheckBounds,
    settings: Option<&Path>,
) -> anyhow::Result<(String, bool)> {
    let limits = &bounds.render;
    let mut report = String::new();
    let mut ok = true;
    // Read like the server reads the plugins folder: a regular file,
    // opened without blocking, within the size cap.
    let bytes = read_plugin(path, bounds.plugin_max_bytes).map_err(|why| anyhow::anyhow!("cannot read {}: {why}", path.display()))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    let engine = RendererEngine::with_compile_limits(bounds.compile.clone())?;
    let settings = match settings {
        None => Vec::new(),
        Some(file) => read_settings_file(file).map_err(|why| anyhow::anyhow!("{why}"))?,
    };
    let loaded = async {
        let mut component = load_cached(&engine, &name, bytes).await?;
        component.configure(settings).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(component)
    };
    let component = match loaded.await {
        Ok(component) => component,
        Err(reason) => {
            let _ = writeln!(report, "{}: refused at load: {reason}\nresult: FAIL", path.display());
            return Ok((report, false));
        }
    };
    let _ = writeln!(report, "{}: contract {}, {} format(s)", path.display(), component.wit_version, component.formats.len());
    let formats: Vec<_> = component.formats.iter().filter(|f| only_format.is_none_or(|only| f.name == only)).cloned().collect();
    if formats.is_empty() {
        let _ = writeln!(report, "no format named {:?}\nresult: FAIL", only_format.unwrap_or_default());
        return Ok((report, false));
    }
    let edge = Arc::new(sample_snapshots::edge_cases()?.snapshot());
    let large = Arc::new(sample_snapshots::large()?.snapshot());
    let empty = Arc::new(Registry::new().snapshot());
    for format in &formats {
        let _ = writeln!(report, "  format {} ({})", format.name, format.content_type);
        let passed = check_format(
            &Job { component: &component, format: &format.name, content_type: &format.content_type, limits },
            [&edge, &large, &empty],
            &mut report,
        )
        .await;
        ok &= passed;
    }
    let _ = writeln!(report, "result: {}", if ok { "ok" } else { "FAIL" });
    Ok((report, ok))
}

/// The checks of one format, written to `report`; whether all passed.
async fn check_format(job: &Job<'_>, [edge, large, empty]: [&Arc<Snapshot>; 3], report: &mut String) -> bool {
    let mut failed = false;
    let mut line = |passed: bool, text: String| {
        failed |= !passed;
        let _ = writeln!(report, "    {} {text}", if passed { "ok  " } else { "FAIL" });
        !passed
    };
    {
        let samples: [(&str, &Arc<Snapshot>, &str); 4] = [
            ("edge cases", edge, ""),
            ("edge cases with prefix check_", edge, "check_"),
            ("no families at all", empty, ""),
            ("100000 series", large, ""),
        ];
        let mut first_edge = None;
        for (label, snapshot, prefix) in samples {
            let r = render(job, snapshot, prefix, u64::MAX, label == "edge cases").await;
            let stats =
                format!("{} in {} ms, guest memory {}", size(r.written), r.elapsed.as_millis(), size(r.conduct.memory_bytes as u64));
            let stop = match (&r.result, &r.output) {
                (_, Some(Err(problem))) => line(false, format!("{label}: output {problem}")),
                (Err(why), _) => line(false, format!("{label}: {why}")),
                (Ok(()), _) => line(true, format!("{label}: {stats}")),
            };
            if stop {
                return false;
            }
            if label == "edge cases" {
                first_edge = r.output.and_then(Result::ok);
            }
        }
        if let Some(first) = first_edge {
            let again = render(job, edge, "", u64::MAX, true).await;
            let second = if again.result.is_ok() { again.output.and_then(Result::ok) } else { None };
            let verdict = match &second {
                Some(second) if *second == first => "the same bytes twice".to_string(),
                Some(second) => format!(
                    "a second render of the same snapshot differs ({})",
                    first_difference(first.kept.as_deref().unwrap_or_default(), second.kept.as_deref().unwrap_or_default())
                ),
                None => format!("a second render of the same snapshot failed: {}", again.result.err().unwrap_or_default()),
            };
            if line(second.is_some_and(|second| second == first), format!("deterministic: {verdict}")) {
                return false;
            }
        }
        // Refuse output after the first 64 KiB of the large sample.
        let refused = render(job, large, "", 64 << 10, false).await;
        let conduct = &refused.conduct;
        let stopped = conduct.returned == Some(GuestReturn::OutputClosed) && conduct.writes_after_refusal == 0;
        let what = match (&conduct.returned, conduct.writes_after_refusal) {
            (_, n) if n > 0 => format!("kept writing ({n} writes after output.write returned false)"),
            (Some(GuestReturn::OutputClosed), _) => "returned output-closed at once".to_string(),
            (Some(other), _) => format!("returned {other:?} instead of output-closed"),
            (None, _) => format!("did not return ({})", refused.result.clone().err().unwrap_or_default()),
        };
        line(stopped || refused.written < 64 << 10 && refused.result.is_ok(), format!("output refused part-way: {what}"));
    }
    !failed
}

/// Loads through the compile cache the server uses by default.
async fn load_cached(engine: &Arc<RendererEngine>, name: &str, bytes: Vec<u8>) -> Result<RendererComponent, String> {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let cache = ArtifactCache::default_dir().and_then(|dir| ArtifactCache::open(dir).ok());
    engine.load_cached(name, bytes, &hash, cache.as_ref()).await.map_err(|e| e.to_string())
}

/// `render --plugin`: the component at `path`, through the compile cache.
pub async fn load_plugin_file(engine: &Arc<RendererEngine>, path: &Path, max_bytes: u64) -> anyhow::Result<RendererComponent> {
    let bytes = read_plugin(path, max_bytes).map_err(|why| anyhow::anyhow!("cannot read plugin {}: {why}", path.display()))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    load_cached(engine, &name, bytes).await.map_err(anyhow::Error::msg)
}
