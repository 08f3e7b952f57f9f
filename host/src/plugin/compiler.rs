//! Compiling plugin components, one at a time, outside the server's locks
//! and async workers.
//!
//! Cranelift's time and memory grow with the size of a component's
//! functions, and memory a compile used tends to stay with the process that
//! did it. So the server compiles in a short-lived child process (this same
//! binary, `metrics-host compile-plugin`): the child limits its own address
//! space and CPU time with `setrlimit`, runs at a lower priority, dies with
//! its parent, reads the component on stdin and writes the compiled artifact
//! on stdout. The parent kills it when the compile time limit passes, then
//! deserializes the artifact. Library users and the `render` command may
//! compile in process instead (only the size cap applies there).
use super::bounded_text::bounded;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime::Engine;

/// Where compiles run.
#[derive(Debug, Clone)]
pub enum CompileMode {
    /// On a blocking thread of this process.
    InProcess,
    /// In a child process: `exe compile-plugin`, which must be this program.
    Subprocess {
        /// This program's executable.
        exe: PathBuf,
    },
}

/// Bounds on compiling one plugin.
#[derive(Debug, Clone)]
pub struct CompileLimits {
    /// Where compiles run.
    pub mode: CompileMode,
    /// Wall-clock time a compile may take (subprocess only).
    pub timeout: Duration,
    /// Address space of the compiling process (subprocess only).
    pub memory_bytes: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits { mode: CompileMode::InProcess, timeout: Duration::from_secs(60), memory_bytes: 4 << 30 }
    }
}

/// Largest compiled artifact accepted from the child.
const MAX_ARTIFACT_BYTES: u64 = 2 << 30;
/// Bytes of the child's stderr kept for the error message.
const MAX_CHILD_STDERR: u64 = 16 * 1024;

/// Compiles `bytes` in a child process and returns the serialized artifact
/// (for [`wasmtime::component::Component::deserialize`]).
pub async fn compile_in_child(exe: &PathBuf, bytes: Vec<u8>, limits: &CompileLimits) -> Result<Vec<u8>, String> {
    let cpu_seconds = limits.timeout.as_secs().saturating_mul(4).max(1) + 1;
    let mut child = tokio::process::Command::new(exe)
        .arg("compile-plugin")
        .arg("--memory-bytes")
        .arg(limits.memory_bytes.to_string())
        .arg("--cpu-seconds")
        .arg(cpu_seconds.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the compiler process {}: {e}", exe.display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let feed = async move {
        // The child may exit before reading everything (a refused input).
        let _ = stdin.write_all(&bytes).await;
        drop(stdin);
    };
    let collect = async move {
        let mut artifact = Vec::new();
        let mut message = Vec::new();
        let mut artifact_reader = (&mut stdout).take(MAX_ARTIFACT_BYTES + 1);
        let mut message_reader = (&mut stderr).take(MAX_CHILD_STDERR);
        let (read_artifact, _) = tokio::join!(artifact_reader.read_to_end(&mut artifact), message_reader.read_to_end(&mut message));
        read_artifact.map_err(|e| format!("reading the compiled artifact: {e}"))?;
        Ok::<_, String>((artifact, message))
    };
    let run = async {
        let ((), collected) = tokio::join!(feed, collect);
        let status = child.wait().await.map_err(|e| format!("waiting for the compiler process: {e}"))?;
        Ok::<_, String>((status, collected?))
    };
    let (status, (artifact, message)) = match tokio::time::timeout(limits.timeout, run).await {
        Ok(result) => result?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!("compiling took longer than the limit of {:?}", limits.timeout));
        }
    };
    let message = String::from_utf8_lossy(&message).trim().to_string();
    if !status.success() {
        #[cfg(unix)]
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            return Err(bounded(&format!(
                "the compiler process was killed by signal {signal} (compile memory limit {} MiB, time limit {:?}){}",
                limits.memory_bytes >> 20,
                limits.timeout,
                if message.is_empty() { String::new() } else { format!(": {message}") }
            )));
        }
        return Err(bounded(if message.is_empty() { "the compiler process failed" } else { &message }));
    }
    if artifact.len() as u64 > MAX_ARTIFACT_BYTES {
        return Err(format!("the compiled artifact is larger than {} MiB", MAX_ARTIFACT_BYTES >> 20));
    }
    Ok(artifact)
}

/// The `compile-plugin` command, run in the child: limits itself, reads a
/// component on stdin (at most `max_input` bytes), writes the compiled
/// artifact on stdout. Errors go to stderr with a non-zero exit.
pub fn compile_plugin_main(engine: &Engine, memory_bytes: u64, cpu_seconds: u64, max_input: u64) -> Result<(), String> {
    limit_this_process(memory_bytes, cpu_seconds);
    let mut bytes = Vec::new();
    std::io::stdin().take(max_input + 1).read_to_end(&mut bytes).map_err(|e| format!("reading the component: {e}"))?;
    if bytes.len() as u64 > max_input {
        return Err(format!("the component is larger than {max_input} bytes"));
    }
    let artifact = engine.precompile_component(&bytes).map_err(|e| format!("not a valid wasm component: {e:#}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&artifact).and_then(|()| out.flush()).map_err(|e| format!("writing the artifact: {e}"))
}

/// Address-space and CPU limits, lower priority, and death with the parent.
fn limit_this_process(memory_bytes: u64, cpu_seconds: u64) {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this process with valid arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        if libc::getppid() == 1 {
            // The parent is already gone.
            libc::_exit(1);
        }
    }
    #[cfg(unix)]
    // SAFETY: setrlimit/setpriority on this process with valid arguments.
    unsafe {
        let memory = libc::rlimit { rlim_cur: memory_bytes as libc::rlim_t, rlim_max: memory_bytes as libc::rlim_t };
        libc::setrlimit(libc::RLIMIT_AS, &memory);
        let cpu = libc::rlimit { rlim_cur: cpu_seconds as libc::rlim_t, rlim_max: cpu_seconds as libc::rlim_t };
        libc::setrlimit(libc::RLIMIT_CPU, &cpu);
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    #[cfg(not(unix))]
    let _ = (memory_bytes, cpu_seconds);
}
