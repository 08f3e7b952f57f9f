//! On-disk cache of compiled components, so a restart does not recompile.
//!
//! Entries are keyed by the component's SHA-256 and the engine's
//! compatibility hash (wasmtime version and settings). Deserializing compiled
//! code is unsafe for files someone else wrote, so the cache only reads files
//! in a folder it created itself, readable and writable by this user only, and
//! only under names it derives from the two hashes.
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::Component;
use wasmtime::Engine;

/// A folder of compiled components.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Opens (creating it with mode 0700) the cache folder `dir`.
    pub fn open(dir: PathBuf) -> std::io::Result<Self> {
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(ArtifactCache { dir })
    }

    /// The default folder: `$XDG_CACHE_HOME/metrics-host` or `~/.cache/metrics-host`.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("metrics-host"))
    }

    fn path(&self, engine: &Engine, content_hash: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{content_hash}-{:016x}.cwasm", hasher.finish()))
    }

    /// The compiled component for `content_hash`, if cached for this engine.
    pub fn get(&self, engine: &Engine, content_hash: &str) -> Option<Component> {
        let path = self.path(engine, content_hash);
        // Read into memory rather than map the file: a mapped file truncated
        // by someone else would crash the process (SIGBUS).
        let bytes = fs::read(&path).ok()?;
        // SAFETY: the file lives in our 0700 folder under a name derived from
        // the content and engine hashes; only `put` below writes such files.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "dropping unusable cache entry");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a compiled component (write then rename, so readers never see
    /// half a file). Failures only cost a recompile later, so they are logged.
    pub fn put(&self, engine: &Engine, content_hash: &str, component: &Component) {
        match component.serialize() {
            Ok(bytes) => self.put_serialized(engine, content_hash, &bytes),
            Err(error) => tracing::warn!(%error, "cannot serialize a compiled component for the cache"),
        }
    }

    /// Stores an already serialized component, like [`ArtifactCache::put`].
    pub fn put_serialized(&self, engine: &Engine, content_hash: &str, bytes: &[u8]) {
        let path = self.path(engine, content_hash);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, &path));
        if let Err(error) = result {
            let _ = fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), %error, "cannot write compiled component to the cache");
        }
    }
}
