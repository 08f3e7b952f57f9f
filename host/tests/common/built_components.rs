//! Components the Rust toolchain cannot produce, built in the test from
//! WebAssembly text: the core module is written by hand and wrapped into a
//! component against `wit/v0.3.0/renderer.wit` with `wit-component`, the way
//! wit-bindgen's output is.

/// The contract, read from the repository (never a copy).
fn renderer_wit() -> String {
    let path = format!("{}/../wit/v0.2.0/renderer.wit", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Wraps a core module that exports the canonical-ABI functions of the
/// `renderer-plugin` world into a component.
fn componentize(core_wat: &str) -> Vec<u8> {
    componentize_against(core_wat, &renderer_wit())
}

/// Like [`componentize`], against the given WIT text (a patched contract).
fn componentize_against(core_wat: &str, wit: &str) -> Vec<u8> {
    let mut module = wat::parse_str(core_wat).expect("core module text");
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("renderer.wit", wit).expect("wit parses");
    let world = resolve.select_world(&[package], Some("renderer-plugin")).expect("world");
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8, false).expect("embed");
    wit_component::ComponentEncoder::default().module(&module).expect("module").validate(true).encode().expect("component")
}

/// One format `name` (content type `text/plain`) laid out in memory 0 at
/// fixed addresses; `formats` returns the pointer 96.
const FORMATS_DATA: &str = r#"
  (data (memory 0) (i32.const 32) "grow")
  (data (memory 0) (i32.const 40) "text/plain")
  (data (memory 0) (i32.const 64) "\20\00\00\00\04\00\00\00\28\00\00\00\0a\00\00\00\00\00\00\00\00\00\00\00")
  (data (memory 0) (i32.const 96) "\40\00\00\00\01\00\00\00")
  (func (export "metrics:renderer/renderer@0.2.0#formats") (result i32) (i32.const 96))
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block $fits
      (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size 0) (i32.const 65536))))
      (br_if $fits (i32.ne (i32.const -1)
        (memory.grow 0 (i32.add (i32.const 1)
          (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size 0) (i32.const 65536))) (i32.const 65536))))))
      (unreachable))
    (local.get $p))
"#;

/// A renderer with `memories` linear memories besides its main one. Its
/// format `grow` grows each extra memory 1 MiB at a time until refused and
/// writes every byte of it; then it traps if `trap_at_end`, else reports
/// success.
pub fn multi_memory_component(memories: usize, trap_at_end: bool) -> Vec<u8> {
    let mut wat = String::from("(module\n  (memory (export \"memory\") 1)\n");
    for m in 1..=memories {
        wat.push_str(&format!("  (memory $m{m} 0)\n"));
    }
    wat.push_str(FORMATS_DATA);
    wat.push_str("  (func (export \"metrics:renderer/renderer@0.2.0#render\") (param i32 i32 i64 i32 i32 i32 i32) (result i32)\n");
    for m in 1..=memories {
        wat.push_str(&format!(
            "    (block $done{m} (loop $grow{m}
               (br_if $done{m} (i32.eq (memory.grow $m{m} (i32.const 16)) (i32.const -1)))
               (br $grow{m})))
             (memory.fill $m{m} (i32.const 0) (i32.const 90) (i32.mul (memory.size $m{m}) (i32.const 65536)))\n"
        ));
    }
    if trap_at_end {
        wat.push_str("    (unreachable)\n");
    }
    // result<_, render-error> at address 16: discriminant 0 (ok), zeroed memory.
    wat.push_str("    (i32.const 16))\n)\n");
    componentize(&wat)
}

/// The renderer of [`multi_memory_component`] with no extra memory, but
/// built against a contract whose `formats` returns `list<string>`: the
/// right export name and version with the wrong signature.
pub fn wrong_signature_component() -> Vec<u8> {
    let wit = renderer_wit().replace("formats: func() -> list<format-info>;", "formats: func() -> list<string>;");
    assert!(wit.contains("-> list<string>"), "the contract still declares formats() as patched here");
    let core = format!(
        "(module\n  (memory (export \"memory\") 1)\n{FORMATS_DATA}\n  \
         (func (export \"metrics:renderer/renderer@0.2.0#render\") (param i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 16))\n)\n"
    );
    componentize_against(&core, &wit)
}

/// A working renderer (format `grow`) built against the contract with its
/// version patched to `version`: the export is `metrics:renderer/renderer@VERSION`.
pub fn other_version_component(version: &str) -> Vec<u8> {
    let wit = renderer_wit().replace("@0.2.0", &format!("@{version}"));
    let core = format!(
        "(module\n  (memory (export \"memory\") 1)\n{}\n  \
         (func (export \"metrics:renderer/renderer@{version}#render\") (param i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 16))\n)\n",
        FORMATS_DATA.replace("@0.2.0", &format!("@{version}"))
    );
    componentize_against(&core, &wit)
}

/// A renderer built against the contract plus an interface the host never
/// provides (`metrics:renderer/secrets`), which its `render` imports.
pub fn forbidden_import_component() -> Vec<u8> {
    let wit = renderer_wit()
        .replace(
            "/// What a renderer component exports.",
            "/// Something the host never provides.\ninterface secrets {\n    get: func(key: string) -> string;\n}\n\n/// What a renderer component exports.",
        )
        .replace("    export renderer;\n}", "    export renderer;\n    import secrets;\n}");
    assert!(wit.contains("import secrets;"), "the world is patched");
    let core = format!(
        "(module\n  (import \"metrics:renderer/secrets@0.2.0\" \"get\" (func $get (param i32 i32 i32)))\n  \
         (memory (export \"memory\") 1)\n{FORMATS_DATA}\n  \
         (func (export \"metrics:renderer/renderer@0.2.0#render\") (param i32 i32 i64 i32 i32 i32 i32) (result i32)\n    \
         (call $get (i32.const 32) (i32.const 4) (i32.const 200)) (i32.const 16))\n)\n"
    );
    componentize_against(&core, &wit)
}

/// A core function `$big` of `blocks` blocks of arithmetic over many
/// locals: valid, and slow and memory-hungry to compile.
fn big_function(blocks: usize) -> String {
    let mut body = String::with_capacity(blocks * 200);
    for i in 0..blocks {
        let (a, b, c) = (i % 200, (i * 7 + 3) % 200, (i * 13 + 5) % 200);
        body.push_str(&format!(
            "(local.set {c} (i64.add (i64.mul (local.get {a}) (local.get {b})) (i64.xor (local.get {c}) (i64.const {i}))))
             (if (i64.gt_u (local.get {a}) (local.get {b})) (then (local.set {a} (i64.rotl (local.get {a}) (local.get {c})))))\n"
        ));
    }
    let locals = "i64 ".repeat(200);
    format!("(func $big (export \"big\") (param i64) (result i64) (local {locals}) {body} (local.get 1))")
}

/// A component exporting nothing useful around [`big_function`].
pub fn slow_to_compile_component(blocks: usize) -> Vec<u8> {
    wat::parse_str(format!("(component (core module {}))", big_function(blocks))).expect("component text")
}

/// A working renderer (format `grow`, as [`multi_memory_component`] with no
/// extra memory) that also carries [`big_function`], called only for a
/// format name nobody asks for: a large plugin that loads and serves.
pub fn large_renderer_component(blocks: usize) -> Vec<u8> {
    let wat = format!(
        "(module\n  (memory (export \"memory\") 1)\n{FORMATS_DATA}\n  {}\n  \
         (func (export \"metrics:renderer/renderer@0.2.0#render\") (param i32 i32 i64 i32 i32 i32 i32) (result i32)\n    \
         (if (i32.eq (local.get 4) (i32.const 12345)) (then (drop (call $big (i64.const 1)))))\n    (i32.const 16))\n)\n",
        big_function(blocks).replace("(export \"big\") ", "")
    );
    componentize(&wat)
}
