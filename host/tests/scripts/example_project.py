#!/usr/bin/env python3
"""A fresh project outside the workspace that depends on the crate exactly as
the README's "Depending on it" says (its Cargo.toml block, with a path
dependency) and runs the README's exporter example (its Rust block): built,
started, scraped on its port 0 address, stopped with Ctrl-C (SIGINT), which
must end it with status 0.

Run by `make example-project` (part of `make test`) after `cargo test`, with
the workspace's target folder and lock file so the build reuses what the
tests compiled."""
import os, pathlib, re, signal, subprocess, sys, tempfile, urllib.request

root = pathlib.Path(__file__).resolve().parents[3]
readme = (root / "README.md").read_text()
section = readme[readme.index("### Depending on it"):]
toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
rust = re.search(r"```rust[^\n]*\n(.*?)```", section, re.S).group(1)
dependency = re.compile(r"^metrics-host = .*$", re.M)
assert dependency.search(toml), "README's Cargo.toml block names metrics-host"
toml = dependency.sub(f'metrics-host = {{ path = "{root / "host"}" }}', toml)

with tempfile.TemporaryDirectory() as project:
    project = pathlib.Path(project)
    (project / "src").mkdir()
    (project / "Cargo.toml").write_text(toml)
    (project / "src" / "main.rs").write_text(rust)
    (project / "Cargo.lock").write_bytes((root / "Cargo.lock").read_bytes())
    env = dict(os.environ, CARGO_TARGET_DIR=str(root / "target"), CARGO_PROFILE_RELEASE_DEBUG="line-tables-only")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=project, env=env, check=True, timeout=1800)
    app = subprocess.Popen([str(root / "target" / "release" / "my-app")], stdout=subprocess.PIPE, text=True)
    try:
        line = app.stdout.readline()
        match = re.search(r"http://(\S+)/metrics", line)
        assert match, f"the example prints its address: {line!r}"
        body = urllib.request.urlopen(f"http://{match.group(1)}/metrics", timeout=30).read().decode()
        for expected in ['messages_sent_total{domain="example.com"} 1', 'queue_depth{queue="example.com"} 3',
                         "smtp_delivery_seconds_bucket", "# TYPE metrics_host_renders_total counter"]:
            assert expected in body, f"{expected!r} in:\n{body}"
        app.send_signal(signal.SIGINT)
        status = app.wait(timeout=20)
        assert status == 0, f"exit status {status} after Ctrl-C"
    finally:
        if app.poll() is None:
            app.kill()
print("example project: built from the README, served, stopped on Ctrl-C")
