//! A plugin's settings: `NAME.toml` beside `NAME.wasm` in the plugins
//! folder, a flat table of strings, numbers and booleans, handed to the
//! plugin as key/value text (sorted by key) by `configure` at load and in
//! every render's options. Read as carefully as the plugin file itself
//! (a regular file, non-blocking open, bounded size).
use super::folder::read_plugin;
use std::path::Path;

/// Largest settings file read.
pub const MAX_SETTINGS_BYTES: u64 = 64 * 1024;
/// Most settings a plugin gets.
pub const MAX_SETTINGS: usize = 256;

/// Settings as the contract carries them.
pub type Settings = Vec<(String, String)>;

/// The settings file of the plugin at `wasm`: its path.
pub fn settings_path(wasm: &Path) -> std::path::PathBuf {
    wasm.with_extension("toml")
}

/// Reads the settings of the plugin at `wasm`: `None` without a settings
/// file, else the file's SHA-256 (to notice changes) and the settings.
/// Blocks: call it on a blocking thread.
pub fn read_settings(wasm: &Path) -> Result<Option<(String, Settings)>, String> {
    let path = settings_path(wasm);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    read_settings_bytes(&path).map(Some)
}

/// Reads the settings file at `path` (named as the user gave it), as the
/// server reads `NAME.toml` (`plugin check --settings`). Blocks.
pub fn read_settings_file(path: &Path) -> Result<Settings, String> {
    read_settings_bytes(path).map(|(_, settings)| settings)
}

/// A regular file (after symlinks), opened without blocking, at most
/// [`MAX_SETTINGS_BYTES`], UTF-8, a flat table: its SHA-256 and settings.
fn read_settings_bytes(path: &Path) -> Result<(String, Settings), String> {
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = read_plugin(path, MAX_SETTINGS_BYTES).map_err(|why| format!("settings {file}: {why}"))?;
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("settings {file}: not UTF-8"))?;
    Ok((hash, parse_settings(text).map_err(|why| format!("settings {file}: {why}"))?))
}

/// A flat TOML table as settings, sorted by key.
pub fn parse_settings(text: &str) -> Result<Settings, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    if table.len() > MAX_SETTINGS {
        return Err(format!("{} settings; at most {MAX_SETTINGS}", table.len()));
    }
    let mut settings: Settings = table
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(format!("{key}: only strings, numbers and booleans (no tables, arrays or dates)")),
            };
            Ok((key, text))
        })
        .collect::<Result<_, String>>()?;
    settings.sort();
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_table_becomes_sorted_text_pairs() {
        let settings = parse_settings("precision = \"ms\"\nbatch = 500\nratio = 0.5\nenabled = true\n").unwrap();
        assert_eq!(
            settings,
            vec![
                ("batch".into(), "500".into()),
                ("enabled".into(), "true".into()),
                ("precision".into(), "ms".into()),
                ("ratio".into(), "0.5".into())
            ]
        );
        assert!(parse_settings("[nested]\na = 1\n").unwrap_err().contains("only strings"));
        assert!(parse_settings("a = [1, 2]\n").unwrap_err().contains("only strings"));
        assert!(!parse_settings("a = \n").unwrap_err().is_empty());
    }
}
