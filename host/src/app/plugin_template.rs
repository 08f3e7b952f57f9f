//! `metrics-host plugin new NAME --lang rust|python|js`: a buildable renderer
//! project with the contract's WIT, a working format to edit, a test, a
//! sample snapshot, and a README with the commands from build to served.
//! Rust projects are self-contained (the SDK and its formatting core are
//! written into them); Python (componentize-py) and JavaScript
//! (componentize-js) projects get a `metrics_renderer_helpers` module that
//! walks batches by UTF-8 byte offsets (the bindings hand label text over
//! as a native string) and buffers output.
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// The languages `plugin new` writes.
pub const LANGUAGES: [&str; 3] = ["rust", "python", "js"];

/// The componentize-js release the JavaScript template is built and tested with.
pub const COMPONENTIZE_JS: &str = "0.23.0";

const JS_APP: &str = include_str!("../../templates/js/app.js");
const JS_HELPERS: &str = include_str!("../../templates/js/metrics_renderer_helpers.js");
const JS_TEST: &str = include_str!("../../templates/js/test_helpers.mjs");
const JS_LINE_FORMAT: &str = include_str!("../../templates/js/line_format.js");
const JS_LINE_FORMAT_TEST: &str = include_str!("../../templates/js/test_line_format.mjs");

fn js_readme(name: &str) -> String {
    format!(
        r#"# The `{name}` renderer plugin for metrics-host (JavaScript)

A WebAssembly component, built with componentize-js {COMPONENTIZE_JS}, that renders
metrics snapshots in the format `{name}`. `line_format.js` is the format
(one series as a line; `test_line_format.mjs` reads label values holding
common delimiters back: change both together), `app.js` the renderer that
uses it; `metrics_renderer_helpers.js` walks the batches (label values
cut at UTF-8 byte offsets, which the bindings' UTF-16 strings would get
wrong; 64-bit counts arrive as BigInt) and buffers output; `wit/` is the
contract (`metrics:renderer@0.3.0`). See the host's PLUGINS.md.

```sh
npm install @bytecodealliance/componentize-js@{COMPONENTIZE_JS}    # once
node --test test_helpers.mjs test_line_format.mjs            # the helpers and the format, natively
npx componentize-js app.js --wit wit -n renderer-plugin -d http fetch-event -o {name}.wasm
metrics-host plugin check {name}.wasm
cp {name}.wasm PLUGINS_DIR/.{name}.tmp && mv PLUGINS_DIR/.{name}.tmp PLUGINS_DIR/{name}.wasm
curl 'localhost:8000/metrics?format={name}'
```

`-d http fetch-event` leaves out the WASI HTTP imports the host refuses.
The component is about 12 MB (the engine is inside); the server compiles
it once and keeps the result in its cache.
"#
    )
}

/// The componentize-py release the Python template is built and tested with.
pub const COMPONENTIZE_PY: &str = "0.25.0";

const PYTHON_APP: &str = include_str!("../../templates/python/app.py");
const PYTHON_HELPERS: &str = include_str!("../../templates/python/metrics_renderer_helpers.py");
const PYTHON_TEST: &str = include_str!("../../templates/python/test_helpers.py");
const PYTHON_LINE_FORMAT: &str = include_str!("../../templates/python/line_format.py");
const PYTHON_LINE_FORMAT_TEST: &str = include_str!("../../templates/python/test_line_format.py");

fn python_readme(name: &str) -> String {
    format!(
        r#"# The `{name}` renderer plugin for metrics-host (Python)

A WebAssembly component, built with componentize-py {COMPONENTIZE_PY}, that renders
metrics snapshots in the format `{name}`. `line_format.py` is the format
(one series as a line; `test_line_format.py` reads label values holding
common delimiters back: change both together), `app.py` the renderer that
uses it; `metrics_renderer_helpers.py` walks the batches (label values
cut at UTF-8 byte offsets, which the bindings' `str` would get wrong) and
buffers output; `wit/` is the contract (`metrics:renderer@0.3.0`). See the
host's PLUGINS.md for the contract's semantics and limits.

```sh
python3 -m venv .venv && .venv/bin/pip install componentize-py=={COMPONENTIZE_PY}   # once
python3 -m unittest test_helpers test_line_format          # the helpers and the format, natively
.venv/bin/componentize-py -d wit -w renderer-plugin componentize app -o {name}.wasm
metrics-host plugin check {name}.wasm
cp {name}.wasm PLUGINS_DIR/.{name}.tmp && mv PLUGINS_DIR/.{name}.tmp PLUGINS_DIR/{name}.wasm
curl 'localhost:8000/metrics?format={name}'
```

The component is about 18 MB (the Python interpreter is inside); the
server compiles it once (10 to 20 s) and keeps the result in its cache.
"#
    )
}

// Files of the SDK and its core, embedded in this program: `SDK_FILES`
// and `CORE_FILES`, (path in the project, text), listed by the build script
// from the folders themselves.
include!(concat!(env!("OUT_DIR"), "/vendored_sources.rs"));

const WIT: &str = include_str!("../../wit/v0.3.0/renderer.wit");

const CORE_MANIFEST: &str = r#"[package]
name = "metrics-render-core"
description = "Checked batch walking, escaping and the built-in formats (vendored from metrics-host)."
edition = "2021"
license = "Apache-2.0"
version = "0.1.0"

[dependencies]
ryu = "1"
itoa = "1"
"#;

const SDK_MANIFEST: &str = r#"[package]
name = "metrics-renderer-sdk"
description = "Write renderer plugins for metrics-host (vendored from metrics-host)."
edition = "2021"
license = "Apache-2.0"
version = "0.1.0"

[features]
no-std-runtime = ["dep:dlmalloc"]

[dependencies]
metrics-render-core = { path = "../core" }
wit-bindgen = { version = "0.63", default-features = false, features = ["macros", "realloc"] }

[target.'cfg(target_arch = "wasm32")'.dependencies]
dlmalloc = { version = "0.2", features = ["global"], optional = true }
"#;

fn manifest(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
description = "A renderer plugin for metrics-host: format `{name}`."
edition = "2021"
version = "0.1.0"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
# Built without std: the component imports nothing but the contract.
metrics-renderer-sdk = {{ path = "vendor/sdk", features = ["no-std-runtime"] }}

[profile.release]
opt-level = 3
codegen-units = 1
strip = true

# Not part of any enclosing workspace.
[workspace]
"#
    )
}

fn lib_rs(name: &str) -> String {
    let type_name: String = name
        .split(['_', '-', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    let type_name = if type_name.starts_with(|c: char| c.is_ascii_alphabetic()) { type_name } else { format!("Format{type_name}") };
    TEMPLATE_LIB.replace("FORMAT_NAME", name).replace("FormatType", &type_name)
}

/// The plugin's code: one line per series, `name{label="value",...} value`
/// with Prometheus escaping, a starting point to change into any format.
const TEMPLATE_LIB: &str = r##"//! The `FORMAT_NAME` renderer: one line per series,
//! `family label=value,label=value value`. Change `series` (and the other
//! callbacks of `SeriesFormatter`) to write your format. One setting, in
//! `FORMAT_NAME.toml` beside the component: `label_separator` (one ASCII
//! punctuation character but `\` and `=`, default `,`). Label values are escaped so that
//! every value reads back (the test `delimiters_in_label_values_read_back`
//! is the reader: change both together).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use metrics_renderer_sdk::{export_renderer, render_series, Family, Format, Input, RenderError, Renderer, Series, SeriesFormatter, Sink, Writer};

pub struct FormatType {
    /// Written between labels.
    separator: u8,
}

impl SeriesFormatter for FormatType {
    fn family(&mut self, family: &Family<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        if let Some(help) = family.help {
            out.str("# ").str(family.name).byte(b' ').help(help).byte(b'\n');
        }
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, series: &Series<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        let separator = [b'\\', self.separator];
        let separator_escaped = core::str::from_utf8(&separator).unwrap_or("\\,");
        let escapes = [(b'\\', "\\\\"), (b'\n', "\\n"), (b' ', "\\ "), (b'=', "\\="), (b',', "\\,"), (self.separator, separator_escaped)];
        out.str(family.name);
        for (i, (name, value)) in series.labels().enumerate() {
            out.byte(if i == 0 { b' ' } else { self.separator });
            out.str(name).byte(b'=').escaped(value, &escapes);
        }
        out.byte(b' ').f64(series.value()).byte(b'\n');
        Ok(())
    }
}

impl Renderer for FormatType {
    const FORMATS: &'static [Format] =
        &[Format { name: "FORMAT_NAME", content_type: "text/plain; charset=utf-8", description: "one line per series" }];

    /// Checks the settings once at load: refuse what you do not know.
    fn configure(settings: &[(String, String)]) -> Result<(), String> {
        for (key, value) in settings {
            match key.as_str() {
                "label_separator" if value.len() == 1 && value.as_bytes()[0].is_ascii_punctuation() && !matches!(value.as_str(), "\\" | "=") => {}
                "label_separator" => return Err(format!("label_separator must be one ASCII punctuation character other than \\ and =, got {value:?}")),
                other => return Err(format!("unknown setting {other:?} (known: label_separator)")),
            }
        }
        Ok(())
    }

    fn render(input: Input<'_>, _format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
        let separator = input.settings.iter().find(|(key, _)| key == "label_separator").map(|(_, v)| v.as_bytes()[0]).unwrap_or(b',');
        render_series(input.families, input.batches, &mut FormatType { separator }, sink)
    }
}

export_renderer!(FormatType);

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_renderer_sdk::{BatchSource, MetricKind};

    /// The sample snapshot's one batch, handed out once.
    struct OneBatch(bool);

    impl BatchSource for OneBatch {
        fn next_batch(
            &mut self,
            f: &mut dyn FnMut(&metrics_renderer_sdk::SeriesBatch<'_>) -> Result<(), RenderError>,
        ) -> Result<bool, RenderError> {
            if std::mem::take(&mut self.0) {
                // Two series of label `queue`: "a b" and "ü".
                f(&metrics_renderer_sdk::SeriesBatch::of_values(0, "a bü", &[3, 5], &[1.5, 2.0]))?;
                return Ok(true);
            }
            Ok(false)
        }
    }

    #[test]
    fn renders_one_line_per_series_with_escaped_labels() {
        let families = [Family {
            name: "queued",
            help: Some("messages queued"),
            kind: MetricKind::Gauge,
            label_names: vec!["queue"],
            series: 2,
            bounds: &[],
            native: false,
            quantiles: &[],
        }];
        let mut out = Vec::new();
        render_series(&families, &mut OneBatch(true), &mut FormatType { separator: b',' }, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "# queued messages queued\nqueued queue=a\\ b 1.5\nqueued queue=ü 2\n");
    }

    /// The delimiters of common formats (the ones `metrics-host plugin
    /// check` tries), each in label values of series rendered with two
    /// separators, read back from the output by `read_line`.
    #[test]
    fn delimiters_in_label_values_read_back() {
        const DELIMITERS: [&str; 12] = [",", "\"", "\\", "\n", "=", "{", "}", " ", ".", "/", ";", "\t"];
        let mut text = String::new();
        let mut ends = Vec::new();
        for d in DELIMITERS {
            for value in [format!("zz{d}zz"), d.to_string()] {
                text.push_str(&value);
                ends.push(text.len() as u32);
            }
        }
        let families = [Family {
            name: "queued",
            help: None,
            kind: MetricKind::Gauge,
            label_names: vec!["queue", "tenant"],
            series: DELIMITERS.len() as u32,
            bounds: &[],
            native: false,
            quantiles: &[],
        }];
        let values: Vec<f64> = (0..DELIMITERS.len()).map(|i| i as f64).collect();
        struct Batch<'a>(Option<metrics_renderer_sdk::SeriesBatch<'a>>);
        impl BatchSource for Batch<'_> {
            fn next_batch(
                &mut self,
                f: &mut dyn FnMut(&metrics_renderer_sdk::SeriesBatch<'_>) -> Result<(), RenderError>,
            ) -> Result<bool, RenderError> {
                match self.0.take() {
                    Some(batch) => f(&batch).map(|()| true),
                    None => Ok(false),
                }
            }
        }
        for separator in [b',', b';'] {
            let batch = metrics_renderer_sdk::SeriesBatch::of_values(0, &text, &ends, &values);
            let mut out = Vec::new();
            render_series(&families, &mut Batch(Some(batch)), &mut FormatType { separator }, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), DELIMITERS.len(), "one line per series: {out}");
            for (i, (line, d)) in lines.iter().zip(DELIMITERS).enumerate() {
                let want = (String::from("queued"), vec![("queue".into(), format!("zz{d}zz")), ("tenant".into(), d.to_string())], format!("{i}"));
                assert_eq!(read_line(line, separator as char), want, "{line:?}");
            }
        }
    }

    /// Splits `text` at each `at` not escaped by a backslash.
    fn split_unescaped(text: &str, at: char) -> Vec<String> {
        let mut parts = vec![String::new()];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let last = parts.last_mut().unwrap();
                    last.push(c);
                    last.extend(chars.next());
                }
                c if c == at => parts.push(String::new()),
                c => parts.last_mut().unwrap().push(c),
            }
        }
        parts
    }

    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => out.push(match chars.next() {
                    Some('n') => '\n',
                    Some(other) => other,
                    None => panic!("a lone backslash at the end of {text:?}"),
                }),
                (c, false) => out.push(c),
            }
        }
        out
    }

    /// The format's reader: `family label=value<separator>... value`.
    fn read_line(line: &str, separator: char) -> (String, Vec<(String, String)>, String) {
        let parts = split_unescaped(line, ' ');
        assert_eq!(parts.len(), 3, "name, labels, value: {line:?}");
        let labels = split_unescaped(&parts[1], separator)
            .iter()
            .map(|pair| {
                let kv = split_unescaped(pair, '=');
                assert_eq!(kv.len(), 2, "one unescaped = in {pair:?}");
                (kv[0].clone(), unescape(&kv[1]))
            })
            .collect();
        (parts[0].clone(), labels, parts[2].clone())
    }

    #[test]
    fn only_a_one_character_label_separator_is_accepted() {
        let setting = |key: &str, value: &str| vec![(String::from(key), String::from(value))];
        assert!(FormatType::configure(&[]).is_ok());
        assert!(FormatType::configure(&setting("label_separator", ";")).is_ok());
        assert!(FormatType::configure(&setting("label_separator", ";;")).is_err());
        assert!(FormatType::configure(&setting("label_separator", "n")).is_err(), "\\n is the escaped newline");
        assert!(FormatType::configure(&setting("label_separator", "=")).is_err(), "= ends a label name");
        assert!(FormatType::configure(&setting("colour", "red")).unwrap_err().contains("unknown setting"));
    }
}
"##;

fn readme(name: &str) -> String {
    format!(
        r#"# The `{name}` renderer plugin for metrics-host

A WebAssembly component that renders metrics snapshots in the format
`{name}`. `src/lib.rs` is the format (edit `series`); `vendor/` holds the
SDK and `wit/` the contract (`metrics:renderer@0.3.0`) it is built against.
See the host's PLUGINS.md for the contract's semantics and limits.

```sh
rustup target add wasm32-wasip2                      # once
cargo test                                           # the format, natively
cargo build --release --target wasm32-wasip2         # the component
metrics-host plugin check target/wasm32-wasip2/release/{name}.wasm
metrics-host render --input sample/metrics.json --plugin target/wasm32-wasip2/release/{name}.wasm --format {name}
# serve it: copy into the server's plugins folder (write, then rename)
cp target/wasm32-wasip2/release/{name}.wasm PLUGINS_DIR/.{name}.tmp && mv PLUGINS_DIR/.{name}.tmp PLUGINS_DIR/{name}.wasm
curl 'localhost:8000/metrics?format={name}'
# settings: PLUGINS_DIR/{name}.toml, e.g. label_separator = ";" (checked by `configure` at load)
```
"#
    )
}

/// A small metrics.json snapshot to render with `metrics-host render`.
const SAMPLE: &str = r#"{
"queued":{"help":"messages queued","type":"gauge","value":{"queue":{"a b":1.5,"ü":2.0}}},
"delivered_total":{"help":"messages delivered","type":"counter","value":[{"service":"smtp","domain":"example.com","@":42.0}]},
"latency_seconds":{"help":"delivery latency","type":"histogram","value":{"count":3,"sum":1.5,"avg":0.5,"bucket":[[0.1,1.0],[1.0,2.0]]}}
}
"#;

/// Writes the project for format `name` in `lang` into `parent/name`;
/// its path.
pub fn write_project(name: &str, lang: &str, parent: &Path) -> anyhow::Result<PathBuf> {
    if !LANGUAGES.contains(&lang) {
        bail!("--lang {lang:?}: this version writes {} projects", LANGUAGES.join(", "));
    }
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        bail!("{name:?} is not a plugin name: use [a-z][a-z0-9_]{{0,63}} (it is the crate's, the file's and the format's name)");
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists; choose another name or folder", dir.display());
    }
    let mut files: Vec<(String, String)> = if lang == "js" {
        vec![
            ("app.js".into(), JS_APP.replace("FORMAT_NAME", name)),
            ("metrics_renderer_helpers.js".into(), JS_HELPERS.into()),
            ("test_helpers.mjs".into(), JS_TEST.into()),
            ("line_format.js".into(), JS_LINE_FORMAT.replace("FORMAT_NAME", name)),
            ("test_line_format.mjs".into(), JS_LINE_FORMAT_TEST.into()),
            ("README.md".into(), js_readme(name)),
            ("sample/metrics.json".into(), SAMPLE.into()),
            ("wit/renderer.wit".into(), WIT.into()),
            (".gitignore".into(), "*.wasm\nnode_modules/\n".into()),
        ]
    } else if lang == "python" {
        vec![
            ("app.py".into(), PYTHON_APP.replace("FORMAT_NAME", name)),
            ("metrics_renderer_helpers.py".into(), PYTHON_HELPERS.into()),
            ("test_helpers.py".into(), PYTHON_TEST.into()),
            ("line_format.py".into(), PYTHON_LINE_FORMAT.replace("FORMAT_NAME", name)),
            ("test_line_format.py".into(), PYTHON_LINE_FORMAT_TEST.into()),
            ("README.md".into(), python_readme(name)),
            ("sample/metrics.json".into(), SAMPLE.into()),
            ("wit/renderer.wit".into(), WIT.into()),
            (".gitignore".into(), "*.wasm\n__pycache__/\n".into()),
        ]
    } else {
        rust_files(name)
    };
    write_files(&dir, &mut files)?;
    Ok(dir)
}

/// The Rust project's files.
fn rust_files(name: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = vec![
        ("Cargo.toml".into(), manifest(name)),
        ("src/lib.rs".into(), lib_rs(name)),
        ("README.md".into(), readme(name)),
        ("sample/metrics.json".into(), SAMPLE.into()),
        ("wit/renderer.wit".into(), WIT.into()),
        ("vendor/core/Cargo.toml".into(), CORE_MANIFEST.into()),
        ("vendor/sdk/Cargo.toml".into(), SDK_MANIFEST.into()),
        (".gitignore".into(), "/target\n".into()),
    ];
    files.extend(SDK_FILES.iter().chain(CORE_FILES).map(|(path, text)| (path.to_string(), text.to_string())));
    // The SDK reads the contract from its version folder in this
    // repository; a project keeps its one contract in `wit/`.
    for (path, text) in &mut files {
        if path == "vendor/sdk/src/lib.rs" {
            *text = text.replace(&format!("path: \"../../wit/v{WIT_VERSION}\""), "path: \"../../wit\"");
        }
    }
    files
}

/// The contract version the templates are written against: the newest.
const WIT_VERSION: &str = crate::plugin::wit::latest::VERSION;

fn write_files(dir: &Path, files: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    for (path, text) in files.drain(..) {
        let path = dir.join(path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
