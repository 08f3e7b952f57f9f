//! Hostile plugins: each misbehaviour ends in a clear error within the
//! deadline, other formats keep working, healthy scrapes are not held up,
//! repeat offenders are backed off, and contract breakers never load.
mod common;

use common::{component_bytes, get};
use metrics_host::config::ServeConfig;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::{LoadError, RenderLimits, RendererEngine};
use metrics_host::registry::Registry;
use metrics_host::server::{self, RunningServer};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(1);
/// Time allowed beyond the deadline for the error to reach the client.
const MARGIN: Duration = Duration::from_secs(2);

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("lua_count", "lua contexts").unwrap().set(1.0);
    registry
}

/// A server with the built-ins plus a freshly loaded hostile plugin.
async fn hostile_server() -> RunningServer {
    let engine = RendererEngine::new().unwrap();
    let hostile = engine.load("hostile", &component_bytes("test-plugins", "hostile.wasm")).await.unwrap();
    let set = RendererSet::builtin(&engine).await.unwrap().with_plugin(Arc::new(hostile));
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        render_limits: RenderLimits { deadline: DEADLINE, memory_bytes: 64 << 20, output_bytes: 8 << 20 },
        client_stall_timeout: Duration::from_secs(2),
        ..ServeConfig::default()
    };
    server::start(&config, registry(), Arc::new(Renderers::fixed(engine, set))).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_misbehaviour_is_a_clear_error_within_the_deadline() {
    // (format, what the error says, whether output had started)
    let cases = [
        ("spin", "timed out", false),
        ("sleep", "timed out", false),
        ("oom", "ran out of memory", false),
        ("panic", "trapped", false),
        ("flood", "", true),
        ("lie", "", true),
    ];
    for (format, cause, streaming) in cases {
        // A fresh server per case: the circuit breaker would otherwise back
        // the plugin off after three failures.
        let server = hostile_server().await;
        let started = Instant::now();
        let r = get(server.local_addr, &format!("/metrics?format={format}"), &[]).await;
        let elapsed = started.elapsed();
        assert!(elapsed < DEADLINE + MARGIN, "{format}: answered after {elapsed:?}");
        if format == "flood" {
            // It ignores output.write returning false: stopped after 1024
            // more calls, not at the deadline (its render slot is free again).
            assert!(elapsed < DEADLINE / 2, "flood: answered after {elapsed:?}");
        }
        if streaming {
            assert_eq!(r.status, 200, "{format}");
            assert!(r.truncated, "{format}: a failure after output started aborts the body");
            assert!(r.body.len() <= (8 << 20) + (64 << 10), "{format}: output cap holds ({} bytes)", r.body.len());
        } else {
            assert_eq!(r.status, 500, "{format}");
            let text = r.text();
            assert!(text.contains("\"hostile\"") && text.contains(&format!("\"{format}\"")) && text.contains(cause), "{format}: {text}");
        }
        // The server still serves everything else.
        let healthy = get(server.local_addr, "/metrics?format=json", &[]).await;
        assert_eq!(healthy.status, 200, "{format}: json after the hostile render");
        let text = get(server.local_addr, "/metrics", &[]).await;
        assert_eq!(text.status, 500, "the hostile plugin overrides prometheus and panics");
        let outcomes = get(server.local_addr, "/metrics?format=json", &[]).await.text();
        let doc: Value = serde_json::from_str(&outcomes).unwrap();
        let renders = doc["metrics_host_renders_total"]["value"].as_array().unwrap();
        let expected_outcome = match format {
            "spin" | "sleep" => "timed_out",
            "oom" => "out_of_memory",
            "panic" => "trapped",
            _ => "output_too_large",
        };
        assert!(
            renders.iter().any(|r| r["format"] == format && r["outcome"] == expected_outcome && r["@"] == 1.0),
            "{format}: self-metrics count the outcome: {renders:?}"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_scrape_is_not_held_up_by_a_hostile_render() {
    let server = hostile_server().await;
    let addr = server.local_addr;
    let hostile = tokio::spawn(async move { get(addr, "/metrics?format=spin", &[]).await.status });
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        let started = Instant::now();
        let r = get(addr, "/metrics?format=json", &[]).await;
        assert_eq!(r.status, 200);
        assert!(started.elapsed() < DEADLINE, "healthy scrape took {:?} during a hostile render", started.elapsed());
    }
    assert_eq!(hostile.await.unwrap(), 500);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_override_is_backed_off_and_the_builtin_serves() {
    let server = hostile_server().await;
    let addr = server.local_addr;
    for i in 0..3 {
        let r = get(addr, "/metrics", &[]).await;
        assert_eq!(r.status, 500, "failure {i} comes from the plugin");
    }
    let r = get(addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200, "breaker open: the built-in prometheus serves");
    assert!(r.text().contains("lua_count 1\n"));
    // A format only the hostile plugin offers is refused while backed off.
    let r = get(addr, "/metrics?format=panic", &[]).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(r.text().contains("backed off"), "{}", r.text());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_breakers_never_load_and_say_why() {
    let engine = RendererEngine::new().unwrap();
    let err = engine.load("wrong", &common::built_components::other_version_component("9.0.0")).await.err().expect("refused");
    assert!(matches!(err, LoadError::UnsupportedVersion { .. }), "{err}");
    assert!(err.to_string().contains("renderer@9.0.0") && err.to_string().contains("supports 0.3.0, 0.2.0"), "{err}");

    let err = engine.load("sneaky", &common::built_components::forbidden_import_component()).await.err().expect("refused");
    assert!(matches!(err, LoadError::ForbiddenImport { .. }), "{err}");
    assert!(err.to_string().contains("metrics:renderer/secrets@0.2.0") && err.to_string().contains("\"sneaky\""), "{err}");

    let err = engine.load("text", b"not wasm at all").await.err().expect("refused");
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    let core_module = b"\0asm\x01\0\0\0";
    let err = engine.load("module", core_module).await.err().expect("a core module is not a component");
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    let empty_component = b"\0asm\x0d\0\x01\0";
    let err = engine.load("empty", empty_component).await.err().expect("refused");
    assert!(matches!(err, LoadError::MissingExport { .. }), "{err}");
    assert!(err.to_string().contains("exports: nothing"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_right_export_with_the_wrong_signature_is_refused_at_load() {
    let engine = RendererEngine::new().unwrap();
    let err = engine.load("twisted", &common::built_components::wrong_signature_component()).await.err().expect("refused");
    assert!(matches!(err, LoadError::Contract { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("\"twisted\" 0.2.0") && message.contains("an export has the wrong type"), "{message}");
    // The same code against the real contract loads through the versioned bindings.
    let good = engine.load("grow", &common::built_components::multi_memory_component(0, false)).await.unwrap();
    assert_eq!(good.wit_version, "0.2.0");
    assert_eq!(good.formats[0].name, "grow");
}
