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
//! memory. Every check runs (a check that needs an earlier one's output
//! says it was skipped), a summary table ends the text report, and
//! [`CheckReport`] is also JSON (`--json`, for CI). `--dump DIR` writes each
//! sample snapshot as metrics.json (`DIR/samples/`) beside what the plugin
//! rendered for it (`DIR/FORMAT/`). A sample whose label values hold the
//! delimiters of common formats shows which are written raw, and
//! `--reader CMD` runs the author's own parser on every output (it fails
//! the check when it fails). Any failure makes the exit status 1.
use crate::plugin::folder::read_plugin;
use crate::plugin::judged_render::{render_judged, JudgedRender, Judging, RefusalAnswer};
use crate::plugin::output_stream_check::{first_difference, OutputStreamCheck, OutputSummary};
use crate::plugin::reading_sink::ReadingSink;
use crate::plugin::sample_snapshots;
use crate::plugin::series_batches::RenderNames;
use crate::plugin::settings::read_settings_file;
use crate::plugin::{ArtifactCache, CompileLimits, GuestConduct, RenderFailureCause, RenderLimits, RendererComponent, RendererEngine};
use crate::registry::{Registry, RegistryError};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Output kept of a render whose bytes are compared, to show where two differ.
const KEPT_BYTES: usize = 4 << 20;

/// Why a check could not run at all. A plugin that fails to load or fails
/// a check is not an error: it is a [`CheckReport`] that did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The plugin file could not be read (missing, not a regular file, past
    /// the size cap).
    #[error("cannot read {}: {why}", path.display())]
    Read {
        /// The plugin file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// The settings file could not be read or is not a settings table.
    #[error("{0}")]
    Settings(String),
    /// The wasm engine, or the built-in renderer `--dump` writes the samples
    /// with, could not start.
    #[error("starting the renderer engine: {0}")]
    Engine(String),
    /// The sample snapshots could not be registered (a bug in the host).
    #[error("building the sample snapshots: {0}")]
    Samples(#[from] RegistryError),
    /// A `--dump` file or folder (or the `--reader` scratch folder) could
    /// not be written, or a sample did not read back.
    #[error("--dump {}: {why}", path.display())]
    Dump {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

fn dump_error(path: &Path, why: impl std::fmt::Display) -> CheckError {
    CheckError::Dump { path: path.to_path_buf(), why: why.to_string() }
}

/// What `plugin check` loads and renders within: the server's bounds.
pub struct CheckBounds {
    /// Per render (time, memory, output).
    pub render: RenderLimits,
    /// Compiling: the server's child process, time and memory limits.
    pub compile: CompileLimits,
    /// Largest plugin file read.
    pub plugin_max_bytes: u64,
}

/// One render of a sample.
struct Rendered {
    result: Result<(), String>,
    /// The output's size and hash, or its first problem (`None` when the
    /// render failed before its output could be judged).
    output: Option<Result<OutputSummary, String>>,
    written: u64,
    /// How the guest answered a refusal of its output (past `accept`).
    answer: RefusalAnswer,
    elapsed: Duration,
    conduct: GuestConduct,
}

/// What is rendered, and within what.
struct Job<'a> {
    component: &'a RendererComponent,
    format: &'a str,
    content_type: &'a str,
    limits: &'a RenderLimits,
    /// Where this format's outputs are written (`--dump`, or a temporary
    /// folder for `--reader`).
    dump: Option<PathBuf>,
    /// `--reader`: the author's parser, run on every output.
    reader: Option<&'a str>,
}

/// Renders `snapshot`, refusing output after `accept` bytes (as the
/// server's output cap does: the write that would pass it returns false);
/// `hash` asks for the output's hash (for the determinism check).
async fn render(job: &Job<'_>, snapshot: &Arc<Snapshot>, prefix: &str, accept: u64, hash: bool, dump_as: Option<&str>) -> Rendered {
    let check = OutputStreamCheck::new(job.content_type);
    let copy = match (&job.dump, dump_as) {
        (Some(dir), Some(name)) => std::fs::File::create(dir.join(name)).ok(),
        _ => None,
    };
    let judging = Judging {
        component: job.component,
        format: job.format,
        names: RenderNames { prefix, ..RenderNames::default() },
        limits: job.limits,
    };
    let started = Instant::now();
    let judged = render_judged(&judging, snapshot, accept, if hash { check.hashing().keeping(KEPT_BYTES) } else { check }, copy).await;
    let elapsed = started.elapsed();
    let answer = RefusalAnswer::of(&judged);
    let JudgedRender { result, conduct, read, .. } = judged;
    let result = result.map_err(|e| match (&e.cause, &conduct.reading) {
        (RenderFailureCause::TimedOut(_), Some(reading)) => format!("{} ({reading})", e.cause),
        (RenderFailureCause::TimedOut(_), None) => format!("{} (before asking for any series)", e.cause),
        _ => e.cause.to_string(),
    });
    Rendered { result, output: read.judged, written: read.written, answer, elapsed, conduct }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// One check of one format.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The format checked.
    pub format: String,
    /// What was checked (`edge cases`, `deterministic`, ...).
    pub check: String,
    /// `ok`, `FAIL` or `skipped` (it needed an earlier check's output).
    pub outcome: &'static str,
    /// Time, size and memory, or what went wrong and where.
    pub detail: String,
}

/// A format `plugin check` checked.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedFormat {
    /// Its name.
    pub name: String,
    /// The content type it declares.
    pub content_type: String,
}

/// What `plugin check` found: text (with a summary table) or JSON.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The file checked.
    pub file: String,
    /// The contract version it was built against, once loaded.
    pub contract: Option<String>,
    /// The formats checked.
    pub formats: Vec<CheckedFormat>,
    /// Why it was refused at load, if it was.
    pub refused: Option<String>,
    /// Every check of every format, in order.
    pub checks: Vec<CheckResult>,
    /// Whether everything passed.
    pub passed: bool,
}

impl CheckReport {
    fn refused(file: &Path, why: String) -> Self {
        CheckReport {
            file: file.display().to_string(),
            contract: None,
            formats: Vec::new(),
            refused: Some(why),
            checks: Vec::new(),
            passed: false,
        }
    }

    /// The report for people: each check as it ran, then a table of
    /// outcomes per format, then `result: ok` or `result: FAIL`.
    pub fn text(&self) -> String {
        let mut text = String::new();
        if let Some(why) = &self.refused {
            let _ = writeln!(text, "{}: refused at load: {why}\nresult: FAIL", self.file);
            return text;
        }
        let _ =
            writeln!(text, "{}: contract {}, {} format(s) checked", self.file, self.contract.as_deref().unwrap_or("?"), self.formats.len());
        for CheckedFormat { name: format, content_type } in &self.formats {
            let _ = writeln!(text, "  format {format} ({content_type})");
            for check in self.checks.iter().filter(|c| c.format == *format) {
                let mark = match check.outcome {
                    "ok" => "ok  ",
                    "FAIL" => "FAIL",
                    _ => "skip",
                };
                let _ = writeln!(text, "    {mark} {}: {}", check.check, check.detail);
            }
        }
        let _ = writeln!(text, "\nsummary:");
        let _ = writeln!(text, "  {:<24} {:>6} {:>6} {:>8}", "format", "ok", "failed", "skipped");
        for CheckedFormat { name: format, .. } in &self.formats {
            let count = |outcome: &str| self.checks.iter().filter(|c| c.format == *format && c.outcome == outcome).count();
            let _ = writeln!(text, "  {format:<24} {:>6} {:>6} {:>8}", count("ok"), count("FAIL"), count("skipped"));
        }
        let _ = writeln!(text, "result: {}", if self.passed { "ok" } else { "FAIL" });
        text
    }
}

/// The sample snapshots every format renders: (file name, label, snapshot, prefix).
type Sample<'a> = (&'static str, &'static str, &'a Arc<Snapshot>, &'static str);

/// Checks the plugin at `path` (renders within `bounds`, the server's by
/// default); every check of every format runs. With `dump`, the sample
/// snapshots and every output are written there.
pub async fn check(
    path: &Path,
    only_format: Option<&str>,
    bounds: &CheckBounds,
    settings: Option<&Path>,
    dump: Option<&Path>,
    reader: Option<&str>,
) -> Result<CheckReport, CheckError> {
    let limits = &bounds.render;
    // Read like the server reads the plugins folder: a regular file,
    // opened without blocking, within the size cap.
    let bytes = read_plugin(path, bounds.plugin_max_bytes).map_err(|why| CheckError::Read { path: path.to_path_buf(), why })?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    let engine = RendererEngine::with_compile_limits(bounds.compile.clone()).map_err(|e| CheckError::Engine(format!("{e:#}")))?;
    let settings = match settings {
        None => Vec::new(),
        Some(file) => read_settings_file(file).map_err(CheckError::Settings)?,
    };
    let loaded = async {
        let mut component = load_cached(&engine, &name, bytes).await?;
        component.configure(settings).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(component)
    };
    let component = match loaded.await {
        Ok(component) => component,
        Err(reason) => return Ok(CheckReport::refused(path, reason)),
    };
    let formats: Vec<_> = component.formats.iter().filter(|f| only_format.is_none_or(|only| f.name == only)).cloned().collect();
    if formats.is_empty() {
        let why = format!("no format named {:?}", only_format.unwrap_or_default());
        return Ok(CheckReport { contract: Some(component.wit_version.to_string()), ..CheckReport::refused(path, why) });
    }
    let edge = Arc::new(sample_snapshots::edge_cases()?.snapshot());
    let large = Arc::new(sample_snapshots::large()?.snapshot());
    let empty = Arc::new(Registry::new().snapshot());
    let samples: [Sample<'_>; 4] = [
        ("edge-cases", "edge cases", &edge, ""),
        ("edge-cases-prefix-check_", "edge cases with prefix check_", &edge, "check_"),
        ("no-families", "no families at all", &empty, ""),
        ("100000-series", "100000 series", &large, ""),
    ];
    let delimiters = Arc::new(sample_snapshots::delimiters()?.snapshot());
    if let Some(dir) = dump {
        let samples = [("edge-cases", &edge), ("no-families", &empty), ("100000-series", &large), ("delimiters", &delimiters)];
        dump_samples(&engine, dir, &samples, limits).await?;
    }
    // `--reader` without `--dump`: the outputs go to a folder removed after.
    let scratch = match (reader, dump) {
        (Some(_), None) => Some(ScratchDir::new()?),
        _ => None,
    };
    let dump = dump.or(scratch.as_ref().map(|s| s.0.as_path()));
    let mut checks = Vec::new();
    for format in &formats {
        let format_dump = match dump {
            Some(dir) => {
                let folder = dir.join(&format.name);
                std::fs::create_dir_all(&folder).map_err(|e| dump_error(&folder, e))?;
                Some(folder)
            }
            None => None,
        };
        let job =
            Job { component: &component, format: &format.name, content_type: &format.content_type, limits, dump: format_dump, reader };
        checks.extend(check_format(&job, &samples, &large, &delimiters).await);
    }
    let passed = checks.iter().all(|c| c.outcome != "FAIL");
    Ok(CheckReport {
        file: path.display().to_string(),
        contract: Some(component.wit_version.to_string()),
        formats: formats.iter().map(|f| CheckedFormat { name: f.name.clone(), content_type: f.content_type.clone() }).collect(),
        refused: None,
        checks,
        passed,
    })
}

/// Writes each sample snapshot as metrics.json (the built-in `json`
/// format, which `render --input` reads back) to `DIR/samples/NAME.json`.
async fn dump_samples(
    engine: &Arc<RendererEngine>,
    dir: &Path,
    samples: &[(&str, &Arc<Snapshot>)],
    limits: &RenderLimits,
) -> Result<(), CheckError> {
    let folder = dir.join("samples");
    std::fs::create_dir_all(&folder).map_err(|e| dump_error(&folder, e))?;
    let builtins = crate::plugin::renderer_set::RendererSet::builtin(engine).await.map_err(|e| CheckError::Engine(e.to_string()))?;
    let (json, _) = builtins.find("json").ok_or_else(|| CheckError::Engine("the built-in json format is missing".into()))?;
    for (name, snapshot) in samples {
        let path = folder.join(format!("{name}.json"));
        let file = std::fs::File::create(&path).map_err(|e| dump_error(&path, e))?;
        let sink = ReadingSink::new(OutputStreamCheck::new(""), Some(file));
        let (result, _) = json.render_reporting(snapshot, "json", RenderNames::default(), limits, Box::new(sink.clone())).await;
        result.map_err(|e| dump_error(&path, e))?;
        if let Some(Err(problem)) = sink.finish(true).judged {
            return Err(dump_error(&path, problem));
        }
    }
    Ok(())
}

/// A temporary folder, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self, CheckError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("metrics-host-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| dump_error(&dir, e))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Time a `--reader` has for one output.
const READER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `reader` (a shell command) with `output` on its standard input:
/// `Err` with the start of what it printed on stderr when it fails.
async fn run_reader(reader: &str, output: &Path) -> Result<(), String> {
    let input = std::fs::File::open(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let child = tokio::process::Command::new("sh")
        .args(["-c", reader])
        .stdin(input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run the reader: {e}"))?;
    match tokio::time::timeout(READER_TIMEOUT, child.wait_with_output()).await {
        Err(_) => Err(format!("the reader did not finish within {READER_TIMEOUT:?}")),
        Ok(Err(e)) => Err(format!("the reader: {e}")),
        Ok(Ok(done)) if done.status.success() => Ok(()),
        Ok(Ok(done)) => {
            let said = String::from_utf8_lossy(&done.stderr);
            let last = said.trim().lines().last().unwrap_or_default();
            Err(format!("the reader failed ({}): {}", done.status, crate::bounded_text::truncate_text(last, 1024)))
        }
    }
}

/// The checks of one format: every sample, determinism, refusal, the
/// delimiters, and the author's reader on every output.
async fn check_format(job: &Job<'_>, samples: &[Sample<'_>], large: &Arc<Snapshot>, delimiters: &Arc<Snapshot>) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let mut record = |check: &str, outcome: &'static str, detail: String| {
        results.push(CheckResult { format: job.format.to_string(), check: check.to_string(), outcome, detail });
    };
    let mut first_edge = None;
    let mut edge_failed = None;
    for (file, label, snapshot, prefix) in samples {
        let first = *file == "edge-cases";
        let r = render(job, snapshot, prefix, u64::MAX, first, Some(&format!("{file}.out"))).await;
        let stats = format!("{} in {} ms, guest memory {}", size(r.written), r.elapsed.as_millis(), size(r.conduct.memory_bytes as u64));
        match (&r.result, &r.output) {
            (_, Some(Err(problem))) => record(label, "FAIL", format!("output {problem}")),
            (Err(why), _) => record(label, "FAIL", why.clone()),
            (Ok(()), _) => record(label, "ok", stats),
        }
        if let (Some(reader), Some(dir), Ok(())) = (job.reader, &job.dump, &r.result) {
            let check = format!("reader on {label}");
            match run_reader(reader, &dir.join(format!("{file}.out"))).await {
                Ok(()) => record(&check, "ok", "read it".into()),
                Err(why) => record(&check, "FAIL", why),
            }
        }
        if first {
            edge_failed = r.result.clone().err().or_else(|| r.output.clone().and_then(Result::err));
            first_edge = r.output.and_then(Result::ok);
        }
    }
    match (first_edge, edge_failed) {
        (Some(first), _) => {
            let again = render(job, samples[0].2, "", u64::MAX, true, None).await;
            let second = if again.result.is_ok() { again.output.and_then(Result::ok) } else { None };
            let (outcome, verdict) = match &second {
                Some(second) if *second == first => ("ok", "the same bytes twice".to_string()),
                Some(second) => (
                    "FAIL",
                    format!(
                        "a second render of the same snapshot differs ({})",
                        first_difference(first.kept.as_deref().unwrap_or_default(), second.kept.as_deref().unwrap_or_default())
                    ),
                ),
                None => ("FAIL", format!("a second render of the same snapshot failed: {}", again.result.err().unwrap_or_default())),
            };
            record("deterministic", outcome, verdict);
        }
        (None, why) => record("deterministic", "skipped", format!("the edge cases did not render: {}", why.unwrap_or_default())),
    }
    // Label values holding common delimiters: which ones appear raw.
    let r = render(job, delimiters, "", u64::MAX, true, Some("delimiters.out")).await;
    match (&r.result, r.output) {
        (Err(why), _) => record("delimiters", "FAIL", why.clone()),
        (_, Some(Err(problem))) => record("delimiters", "FAIL", format!("output {problem}")),
        (Ok(()), output) => {
            let kept = output.and_then(Result::ok).and_then(|o| o.kept).unwrap_or_default();
            let raw: Vec<String> = sample_snapshots::DELIMITERS
                .iter()
                .filter(|d| kept.windows(d.len() + 4).any(|w| w == format!("zz{d}zz").as_bytes()))
                .map(|d| format!("{d:?}"))
                .collect();
            let detail = if raw.is_empty() {
                "no value holding a delimiter is written raw".to_string()
            } else {
                format!("written raw: {} (fine where the format quotes them; --reader checks a parser reads them back)", raw.join(" "))
            };
            record("delimiters", "ok", detail);
            if let (Some(reader), Some(dir)) = (job.reader, &job.dump) {
                match run_reader(reader, &dir.join("delimiters.out")).await {
                    Ok(()) => record("reader on delimiters", "ok", "read it".into()),
                    Err(why) => record("reader on delimiters", "FAIL", why),
                }
            }
        }
    }
    // Refuse output after the first 64 KiB of the large sample, then at the
    // first write of the edge cases (an output written in one piece is
    // refused only so): the guest must stop writing and return output-closed.
    let edge = samples[0].2;
    for (check, snapshot, accept) in [("output refused part-way", large, 64 << 10), ("output refused at once", edge, 0)] {
        let answer = render(job, snapshot, "", accept, false, None).await.answer;
        let (passed, what) = (answer.passed(), answer.to_string());
        record(check, if passed { "ok" } else { "FAIL" }, what);
    }
    results
}

/// Loads through the compile cache the server uses by default.
async fn load_cached(engine: &Arc<RendererEngine>, name: &str, bytes: Vec<u8>) -> Result<RendererComponent, String> {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let cache = ArtifactCache::default_dir().and_then(|dir| ArtifactCache::open(dir).ok());
    engine.load_cached(name, bytes, &hash, cache.as_ref()).await.map_err(|e| e.to_string())
}

/// `render --plugin`: the component at `path`, through the compile cache.
pub(crate) async fn load_plugin_file(engine: &Arc<RendererEngine>, path: &Path, max_bytes: u64) -> anyhow::Result<RendererComponent> {
    let bytes = read_plugin(path, max_bytes).map_err(|why| anyhow::anyhow!("cannot read plugin {}: {why}", path.display()))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into());
    load_cached(engine, &name, bytes).await.map_err(anyhow::Error::msg)
}
