#!/usr/bin/env python3
"""A fresh project outside the workspace that depends on the crate exactly as
the README's "Depending on it" says (its Cargo.toml block, with a path
dependency) and runs the README's exporter example (its Rust block): built,
started, scraped on its port 0 address, stopped with Ctrl-C (SIGINT), which
must end it with status 0.

Run by `make example-project` (part of `make test`) after `cargo test`, with
the workspace's target folder and lock file so the build reuses what the
tests compiled.

With `--packaged` (`make package-project`) the project depends on the crates
`make package` wrote (target/package/*.crate, unpacked here, as a vendored
or unpublished crate is used: a path dependency and a `[patch.crates-io]`
for metrics-render-core): the package builds without the workspace around
it, from its prebuilt default renderer."""
import os, pathlib, re, signal, subprocess, sys, tarfile, tempfile, urllib.request

root = pathlib.Path(__file__).resolve().parents[3]
readme = (root / "README.md").read_text()
section = readme[readme.index("### Depending on it"):]
toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
rust = re.search(r"```rust[^\n]*\n(.*?)```", section, re.S).group(1)
dependency = re.compile(r"^metrics-host = .*$", re.M)
assert dependency.search(toml), "README's Cargo.toml block names metrics-host"
packaged = "--packaged" in sys.argv[1:]

with tempfile.TemporaryDirectory() as work:
    project = pathlib.Path(work) / "my-app"
    if packaged:
        unpacked = {}
        for name in ["metrics-host", "metrics-render-core"]:
            crates = sorted((root / "target" / "package").glob(f"{name}-[0-9]*.crate"))
            assert crates, f"no {name} package in target/package: run `make package`"
            with tarfile.open(crates[-1]) as crate:
                crate.extractall(pathlib.Path(work) / "vendor", filter="data")
            unpacked[name] = pathlib.Path(work) / "vendor" / crates[-1].name.removesuffix(".crate")
        assert not (unpacked["metrics-host"].parent / "guest-renderer").exists(), "no workspace around the package"
        toml = dependency.sub(f'metrics-host = {{ path = "{unpacked["metrics-host"]}" }}', toml)
        toml += f'\n[patch.crates-io]\nmetrics-render-core = {{ path = "{unpacked["metrics-render-core"]}" }}\n'
    else:
        toml = dependency.sub(f'metrics-host = {{ path = "{root / "host"}" }}', toml)
    (project / "src").mkdir(parents=True)
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
print(f"example project{' on the packaged crates' if packaged else ''}: built from the README, served, stopped on Ctrl-C")
