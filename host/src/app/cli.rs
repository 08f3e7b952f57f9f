//! The `metrics-host` command line: `serve`, `render` and `plugin check`.
use crate::app::demo::Demo;
use crate::plugin_check;
use crate::config::{ServeArgs, ServeConfig};
use crate::metrics_json_input::registry_from_metrics_json;
use crate::name_escaping::NameEscaping;
use crate::plugin::catalog::Renderers;
use crate::plugin::compiler::compile_plugin_main;
use crate::plugin::engine::engine_config;
use crate::plugin::renderer_set::RendererSet;
use crate::plugin::watcher;
use crate::plugin::{CompileLimits, CompileMode, RenderLimits, RendererEngine, WriterSink};
use crate::registry::Registry;
use crate::render_service::{RenderRequest, RenderService};
use crate::representation::Wanted;
use crate::server;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Serves metrics rendered by sandboxed wasm components.
#[derive(Debug, clap::Parser)]
#[command(name = "metrics-host", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve GET /metrics and GET /metrics.json to trusted hosts.
    Serve(Box<ServeArgs>),
    /// Render a metrics.json file (e.g. captured from /metrics.json) to stdout.
    Render(RenderArgs),
    /// Work on renderer plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Internal: compile a plugin read on stdin into a wasmtime artifact on
    /// stdout, within the given limits. `serve` runs this as a child process.
    #[command(hide = true)]
    CompilePlugin(CompilePluginArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Load a renderer component as the server would and render sample
    /// snapshots with every format; exit status 1 if anything fails.
    Check(PluginCheckArgs),
    /// Write a new renderer project (format NAME) to build, check and serve.
    New(PluginNewArgs),
}

#[derive(Debug, clap::Args)]
pub struct PluginNewArgs {
    /// The plugin's name, also its format's: `[a-z][a-z0-9_]{0,63}`.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The language of the project: rust, python or js.
    #[arg(long, default_value = "rust", value_name = "LANG")]
    pub lang: String,
    /// Where the project folder NAME is created (the current folder unless given).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PluginCheckArgs {
    /// The component (`*.wasm`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Check only this format.
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// Wall-clock time allowed per render, in ms [default: the server's, 30000].
    #[arg(long, value_name = "MS")]
    pub render_timeout_ms: Option<u64>,
    /// Output cap per render, in MiB [default: the server's, 2048].
    #[arg(long, value_name = "MIB")]
    pub render_output_mb: Option<u64>,
    /// The plugin's settings (TOML, as `NAME.toml` beside it in the plugins folder).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Write each sample snapshot as metrics.json (`DIR/samples/`) and what
    /// the plugin rendered for it (`DIR/FORMAT/`).
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    /// Print the report as JSON (every check with its outcome), for CI.
    #[arg(long)]
    pub json: bool,
    /// A command (run with `sh -c`) that reads one output on stdin and
    /// fails on what it cannot parse: your format's own parser.
    #[arg(long, value_name = "CMD")]
    pub reader: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CompilePluginArgs {
    /// Address-space limit of this process, in bytes.
    #[arg(long)]
    pub memory_bytes: u64,
    /// CPU-time limit of this process, in seconds.
    #[arg(long)]
    pub cpu_seconds: u64,
}

/// How long a stopping server waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long blocking work (a render, a load) may keep a stopped process alive.
const BLOCKING_WORK_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// A metrics.json document.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, default_value = "prometheus", value_name = "NAME")]
    pub format: String,
    /// Prepended to every family name.
    #[arg(long, default_value = "", value_name = "P")]
    pub prefix: String,
    /// How names outside the legacy syntax are written: allow-utf-8 (as
    /// they are, quoted by the text formats), underscores, dots or values
    /// [default: underscores for the Prometheus formats, as they are for json].
    #[arg(long, value_name = "SCHEME", value_parser = parse_escaping)]
    pub escaping: Option<NameEscaping>,
    /// A renderer component to use besides the built-in one; its formats win.
    #[arg(long, value_name = "COMPONENT")]
    pub plugin: Option<PathBuf>,
    /// Settings for --plugin (a flat TOML table), handed to its `configure`
    /// as `NAME.toml` beside it in a plugins folder would be.
    #[arg(long, value_name = "FILE", requires = "plugin")]
    pub settings: Option<PathBuf>,
}

fn parse_escaping(value: &str) -> Result<NameEscaping, String> {
    NameEscaping::parse(value).ok_or_else(|| format!("unknown escaping {value:?}; use allow-utf-8, underscores, dots or values"))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = ServeConfig::from_args(&args)?;
            let runtime = tokio::runtime::Runtime::new()?;
            let result = runtime.block_on(serve(config));
            // A render or plugin load still running must not hold the exit.
            runtime.shutdown_timeout(BLOCKING_WORK_GRACE);
            result
        }
        Command::Render(args) => tokio::runtime::Runtime::new()?.block_on(render(&args)),
        Command::Plugin(PluginCommand::New(args)) => {
            let dir = crate::app::plugin_template::write_project(&args.name, &args.lang, &args.dir)?;
            let next = match args.lang.as_str() {
                "python" => format!(
                    "python3 -m venv .venv && .venv/bin/pip install componentize-py=={} && \
                     .venv/bin/componentize-py -d wit -w renderer-plugin componentize app -o {}.wasm",
                    crate::app::plugin_template::COMPONENTIZE_PY,
                    args.name
                ),
                "js" => format!(
                    "npm install @bytecodealliance/componentize-js@{} && \
                     npx componentize-js app.js --wit wit -n renderer-plugin -d http fetch-event -o {}.wasm",
                    crate::app::plugin_template::COMPONENTIZE_JS,
                    args.name
                ),
                _ => "cargo build --release --target wasm32-wasip2".to_string(),
            };
            println!("wrote {}; next: cd {} && {next} (see its README.md)", dir.display(), dir.display());
            Ok(())
        }
        Command::Plugin(PluginCommand::Check(args)) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let mut limits = RenderLimits::default();
            if let Some(ms) = args.render_timeout_ms {
                limits.deadline = Duration::from_millis(ms.clamp(10, 600_000));
            }
            if let Some(mb) = args.render_output_mb {
                limits.output_bytes = mb.clamp(1, 65_536) << 20;
            }
            // The server's bounds: its compile child and limits, its plugin
            // file size cap, its settings reader.
            let server = ServeConfig::default();
            let bounds = plugin_check::CheckBounds {
                render: limits,
                compile: compile_limits_of(&server),
                plugin_max_bytes: server.plugin_max_bytes,
            };
            let report = runtime.block_on(plugin_check::check(
                &args.file,
                args.format.as_deref(),
                &bounds,
                args.settings.as_deref(),
                args.dump.as_deref(),
                args.reader.as_deref(),
            ))?;
            runtime.shutdown_timeout(BLOCKING_WORK_GRACE);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.text());
            }
            std::io::stdout().flush()?;
            if !report.passed {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::CompilePlugin(args) => {
            let engine = wasmtime::Engine::new(&engine_config())?;
            compile_plugin_main(&engine, args.memory_bytes, args.cpu_seconds, 1 << 30).map_err(anyhow::Error::msg)
        }
    }
}

/// Compiling as the server does: in a child of this program, within
/// `config`'s time and memory (`serve`, `plugin check`, `render --plugin`).
fn compile_limits_of(config: &ServeConfig) -> CompileLimits {
    CompileLimits {
        // The compiler child is this same program: on Linux through
        // /proc/self/exe, which still names this binary after an upgrade
        // replaced the file on disk (so artifacts always match the engine).
        mode: match this_program() {
            Ok(exe) => CompileMode::Subprocess { exe },
            Err(error) => {
                tracing::warn!(%error, "cannot locate this program; compiling plugins in process");
                CompileMode::InProcess
            }
        },
        timeout: config.plugin_compile_timeout,
        memory_bytes: config.plugin_compile_memory_bytes,
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let compile_limits = compile_limits_of(&config);
    let renderers = server::renderers_for(&config, compile_limits).await?;
    let registry = Registry::new();
    if config.demo {
        let demo = Demo::register(&registry, config.demo_queues).context("registering demo metrics")?;
        tokio::spawn(demo.run(Duration::from_secs(1)));
    }
    let mut server = server::start(&config, registry, Arc::clone(&renderers)).await?;
    let _watcher = server::watch_plugins(&config, &renderers)?;
    #[cfg(unix)]
    if config.plugins.is_some() {
        tokio::spawn(watcher::reload_on_sighup(Arc::clone(&renderers)).context("installing the SIGHUP handler")?);
    }
    #[cfg(unix)]
    if let Some(tls) = server.tls.clone() {
        let mut hangups =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("installing the SIGHUP handler")?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => tracing::info!("TLS certificate reloaded"),
                    Err(error) => tracing::error!(%error, "TLS certificate not reloaded; the previous one serves"),
                }
            }
        });
    }
    // Install the stop signals before announcing the address, so a signal
    // sent as soon as the server is up takes the graceful path.
    let shutdown = shutdown_signal().context("installing the SIGTERM handler")?;
    tracing::info!(
        listen = %server.local_addr,
        trusted_hosts = %config.trusted_hosts,
        demo = config.demo,
        "serving /metrics and /metrics.json; open {}://{}/ in a browser for the landing page",
        if config.tls.is_some() { "https" } else { "http" },
        server.local_addr
    );
    let stop = server.shutdown_handle().expect("fresh server");
    tokio::select! {
        result = server.wait() => return Ok(result?),
        () = shutdown => tracing::info!("shutting down: finishing in-flight scrapes"),
    }
    let _ = stop.send(());
    // One last push to every push endpoint, while the scrapes in flight finish.
    let pushers = Arc::clone(&server.pushers);
    let (_, stopped) = tokio::join!(server::flush_pushes(&pushers), tokio::time::timeout(SHUTDOWN_GRACE, server.wait()));
    match stopped {
        Ok(result) => Ok(result?),
        Err(_) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still running after the shutdown grace period; exiting anyway");
            Ok(())
        }
    }
}

fn this_program() -> std::io::Result<PathBuf> {
    let proc_exe = std::path::Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe()
}

/// Resolves on SIGTERM or Ctrl-C; the handlers are installed when this returns.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}

async fn render(args: &RenderArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let registry = registry_from_metrics_json(&text).with_context(|| format!("{}", args.input.display()))?;
    let server = ServeConfig::default();
    let engine = RendererEngine::with_compile_limits(compile_limits_of(&server))?;
    let mut renderers = RendererSet::builtin(&engine).await.context("loading the built-in renderer")?;
    if let Some(path) = &args.plugin {
        // Through the compile cache: a large plugin compiles once.
        let mut plugin = plugin_check::load_plugin_file(&engine, path, server.plugin_max_bytes).await?;
        if let Some(file) = &args.settings {
            let settings = crate::plugin::settings::read_settings_file(file).map_err(anyhow::Error::msg)?;
            plugin.configure(settings).await?;
        }
        renderers = renderers.with_plugin(Arc::new(plugin));
    }
    let service = RenderService::new(registry, Arc::new(Renderers::fixed(engine, renderers)), RenderLimits::default(), 1, None);
    let stdout = std::io::BufWriter::new(std::io::stdout());
    let wanted = Wanted { version: None, escaping: args.escaping };
    let request = RenderRequest { prefix: args.prefix.clone(), wanted, ..RenderRequest::format(&args.format) };
    let started = service.start(request, Box::new(WriterSink(stdout)))?;
    started.task.await.context("render task")??;
    std::io::stdout().flush()?;
    Ok(())
}
