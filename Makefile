# Two commands on a fresh machine: `make run` and `make test`.
CARGO ?= cargo
WASM_TARGET := wasm32-wasip2
PLUGINS_DIR := target/plugins
VENV := .venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deb lint example-project package package-project build plugins examples js-tools wasm-target run test test-deps bench fuzz fuzz-tools clean

## build: the host binary (target/release/metrics-host) and every renderer component (target/plugins/)
build: plugins
	$(CARGO) build --release -p metrics-host

wasm-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

## plugins: the renderer components, built for wasm32-wasip2
plugins: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) -p prometheus-renderer -p openmetrics-renderer
	@mkdir -p $(PLUGINS_DIR)
	cp target/$(WASM_TARGET)/release/prometheus_renderer.wasm $(PLUGINS_DIR)/prometheus.wasm
	cp target/$(WASM_TARGET)/release/openmetrics_renderer.wasm $(PLUGINS_DIR)/openmetrics.wasm

## js-tools: componentize-js (JavaScript plugins) in target/js-tools
COMPONENTIZE_JS := 0.23.0
JS_TOOLS := target/js-tools
js-tools:
	@command -v npm >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends nodejs npm; }
	@test -x $(JS_TOOLS)/node_modules/.bin/componentize-js && grep -q '"version": "$(COMPONENTIZE_JS)"' $(JS_TOOLS)/node_modules/@bytecodealliance/componentize-js/package.json \
	  || { mkdir -p $(JS_TOOLS) && npm install --prefix $(JS_TOOLS) --no-audit --no-fund --silent @bytecodealliance/componentize-js@$(COMPONENTIZE_JS); }

## examples: the example plugins (examples/plugins/), built into target/examples/
EXAMPLES_DIR := target/examples
examples: wasm-target test-deps js-tools
	$(CARGO) build --release --target $(WASM_TARGET) -p influx-renderer
	@mkdir -p $(EXAMPLES_DIR)
	cp target/$(WASM_TARGET)/release/influx_renderer.wasm $(EXAMPLES_DIR)/influx.wasm
	$(VENV)/bin/componentize-py -d wit/v0.3.0 -w renderer-plugin componentize app \
	  -p examples/plugins/influx-python -p host/templates/python -o $(EXAMPLES_DIR)/influx_py.wasm
	@mkdir -p $(EXAMPLES_DIR)/influx-js-src
	cp examples/plugins/influx-js/app.js host/templates/js/metrics_renderer_helpers.js $(EXAMPLES_DIR)/influx-js-src/
	$(JS_TOOLS)/node_modules/.bin/componentize-js $(EXAMPLES_DIR)/influx-js-src/app.js --wit wit/v0.3.0 -n renderer-plugin \
	  -d http fetch-event -o $(EXAMPLES_DIR)/influx_js.wasm

## run: serve the demo data on 127.0.0.1:8000 with the embedded default renderer
run: build
	target/release/metrics-host serve --demo --listen 127.0.0.1:8000

## test-deps: promtool (Debian's prometheus package), victoria-metrics (a second remote-write receiver), prometheus-pushgateway, curl (a client decoding gzip, deflate and zstd; and of the TLS listener), chromium (headless, the browser tests), and in .venv Python's prometheus-client, componentize-py (Python plugins) and opentelemetry-proto (the OTLP receiver) and cramjam (snappy, for the remote write 2.0 receiver)
COMPONENTIZE_PY := 0.25.0
test-deps:
	@command -v promtool >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends prometheus; }
	@command -v victoria-metrics >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends victoria-metrics; }
	@command -v prometheus-pushgateway >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends prometheus-pushgateway; }
	@command -v curl >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends curl; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; }
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c 'import prometheus_client' 2>/dev/null || $(VENV)/bin/pip install --quiet prometheus-client
	@$(VENV)/bin/componentize-py --version 2>/dev/null | grep -q '$(COMPONENTIZE_PY)' || $(VENV)/bin/pip install --quiet componentize-py==$(COMPONENTIZE_PY)
	@$(VENV)/bin/python -c 'import line_protocol_parser' 2>/dev/null || $(VENV)/bin/pip install --quiet line-protocol-parser==2.0.1
	@$(VENV)/bin/python -c 'import opentelemetry.proto' 2>/dev/null || $(VENV)/bin/pip install --quiet opentelemetry-proto==1.45.2
	@$(VENV)/bin/python -c 'import cramjam' 2>/dev/null || $(VENV)/bin/pip install --quiet cramjam==2.14.0

## test: unit and integration tests, with external validators. The fixture components are
## built by the test-components crate (host/tests/components/); every external tool must be
## present here (METRICS_TEST_REQUIRE_TOOLS), where a plain `cargo test` skips what is missing.
test: examples test-deps
	$(CARGO) build --release -p metrics-host --examples
	METRICS_TEST_REQUIRE_TOOLS=1 METRICS_TEST_PYTHON=$(CURDIR)/$(VENV)/bin/python $(CARGO) test --release
	$(MAKE) example-project package-project

## lint: formatting; clippy on the library and binary as users build them (internal modules
## pub(crate), so an item nothing uses is an error) and on every target (tests see the internals);
## the public docs without a warning; no two library modules that use each other.
lint: plugins
	$(CARGO) fmt --check
	python3 host/tests/scripts/import_cycles.py
	$(CARGO) clippy --release -p metrics-host --lib --bins -- -D warnings
	$(CARGO) clippy --release --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --release --no-deps -p metrics-host

## example-project: a fresh project outside the workspace depending on the crate as the
## README says, built (reusing target/), run, scraped and stopped with Ctrl-C.
example-project:
	python3 host/tests/scripts/example_project.py

## package: the crates as crates.io would get them (target/package/*.crate):
## metrics-render-core, and metrics-host carrying the default renderer
## prebuilt from guest-renderer/ and the guest sources `plugin new` vendors
## (host/prebuilt/, written here, never committed); package-project builds
## a fresh project on the packaged crates and scrapes it.
package: plugins
	rm -rf host/prebuilt && mkdir -p host/prebuilt/sdk host/prebuilt/core
	cp $(PLUGINS_DIR)/prometheus.wasm host/prebuilt/default-renderer.wasm
	cp -r guest-renderer/sdk/src host/prebuilt/sdk/ && cp -r guest-renderer/core/src host/prebuilt/core/
	$(CARGO) package --quiet --allow-dirty --no-verify -p metrics-render-core -p metrics-host

package-project: package
	python3 host/tests/scripts/example_project.py --packaged

## bench: scale measurements (render paths vs peers at 1k/100k/1M series, 1M HTTP scrape, counters)
bench: build
	$(CARGO) bench -p metrics-host --bench scale

## fuzz: every fuzz target (fuzz/fuzz_targets/) for FUZZ_SECONDS each, coverage-guided with
## libFuzzer on the stable toolchain (cargo fuzz run -s none); seeds in fuzz/seeds/, the corpus
## grows in target/fuzz-corpus/, crashes land in fuzz/artifacts/ and fail the run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := accept accept_encoding query scrape_timeout metrics_json exposition upstream_response settings format_descriptors escaping push_answer
fuzz-tools:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
fuzz: plugins fuzz-tools
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t; \
	  echo "fuzz $$t for $(FUZZ_SECONDS) s"; \
	  METRICS_DEFAULT_RENDERER_WASM=$(CURDIR)/$(PLUGINS_DIR)/prometheus.wasm \
	    $(CARGO) fuzz run -s none $$t target/fuzz-corpus/$$t fuzz/seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    > target/fuzz-$$t.log 2>&1 || { tail -60 target/fuzz-$$t.log; exit 1; }; \
	  grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' target/fuzz-$$t.log | tail -2; \
	done

## deb: a Debian package of the release binary, default config and systemd unit
## (packaging/build-deb.sh; target/debian/metrics-host_VERSION_ARCH.deb).
deb: build
	packaging/build-deb.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV)
