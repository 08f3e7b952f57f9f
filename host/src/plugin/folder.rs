//! The plugins folder as the host sees it: which `*.wasm` entries are
//! plugin files, which are not (and why), and reading one without letting
//! the file decide how long or how much.
//!
//! Only regular files (after following a symlink) are read. A file is opened
//! non-blocking (a FIFO put in place of a plugin cannot stall the reader),
//! checked again on the open descriptor, and read up to the size cap. These
//! functions block: call them on a blocking thread.
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// `*.wasm` entries of the folder looked at (by name order); the rest are
/// left out of the listing and counted in the reload report.
pub const MAX_FOLDER_ENTRIES: usize = 1024;
/// Plugin files loaded at most (by name order); further ones are skipped.
pub const MAX_PLUGINS: usize = 256;

/// A `*.wasm` entry of the plugins folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderEntry {
    /// A regular file (or a symlink to one) within the size cap.
    Plugin {
        /// The file name.
        file: String,
    },
    /// Something that will not be loaded, and why.
    Skipped {
        /// The file name.
        file: String,
        /// Why it is not loaded.
        reason: String,
    },
}

impl FolderEntry {
    /// The entry's file name.
    pub fn file(&self) -> &str {
        match self {
            FolderEntry::Plugin { file } | FolderEntry::Skipped { file, .. } => file,
        }
    }
}

/// What a non-regular file is, for messages.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Why a file with this metadata is not read, if it is not.
fn refusal(metadata: &std::fs::Metadata, max_bytes: u64) -> Option<String> {
    if !metadata.is_file() {
        return Some(format!("not loaded: {}", kind_of(metadata.file_type())));
    }
    if metadata.len() > max_bytes {
        return Some(format!("not loaded: {} bytes is over the plugin size limit of {} bytes", metadata.len(), max_bytes));
    }
    None
}

/// What a scan of the plugins folder found.
#[derive(Debug, Default)]
pub struct FolderScan {
    /// The first [`MAX_FOLDER_ENTRIES`] `*.wasm` entries, sorted by name.
    pub entries: Vec<FolderEntry>,
    /// `*.wasm` entries beyond [`MAX_FOLDER_ENTRIES`], not looked at.
    pub ignored: usize,
}

/// The `*.wasm` entries of `dir`, sorted by name. Hidden files (editors'
/// and `cp`'s temporaries) are left out; names that are not UTF-8 are
/// listed with the invalid bytes replaced, and skipped.
pub fn scan(dir: &Path, max_bytes: u64) -> std::io::Result<FolderScan> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let raw_name = entry?.file_name();
        let name = raw_name.to_string_lossy().into_owned();
        if !name.starts_with('.') && name.ends_with(".wasm") {
            names.push((name, raw_name.to_str().is_some()));
        }
    }
    names.sort();
    let ignored = names.len().saturating_sub(MAX_FOLDER_ENTRIES);
    names.truncate(MAX_FOLDER_ENTRIES);
    let mut entries = Vec::with_capacity(names.len());
    let mut plugins = 0;
    for (name, utf8) in names {
        let skipped = if !utf8 {
            Some("not loaded: the file name is not UTF-8".to_string())
        } else {
            // Follows a symlink; stat never opens the file, so a FIFO cannot block it.
            match std::fs::metadata(dir.join(&name)) {
                Ok(metadata) => refusal(&metadata, max_bytes),
                Err(e) => Some(format!("not loaded: {e}")),
            }
        };
        let skipped = skipped.or_else(|| {
            plugins += 1;
            (plugins > MAX_PLUGINS).then(|| format!("not loaded: more than {MAX_PLUGINS} plugin files in the folder"))
        });
        entries.push(match skipped {
            None => FolderEntry::Plugin { file: name },
            Some(reason) => FolderEntry::Skipped { file: name, reason },
        });
    }
    Ok(FolderScan { entries, ignored })
}

/// Reads a plugin file: non-blocking open, a regular file on the open
/// descriptor, at most `max_bytes`.
pub fn read_plugin(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = open_nonblocking(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let metadata = file.metadata().map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if let Some(reason) = refusal(&metadata, max_bytes) {
        return Err(reason);
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("not loaded: the file grew over the plugin size limit of {max_bytes} bytes while being read"));
    }
    Ok(bytes)
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_plugins_and_says_why_others_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wasm"), b"wasm").unwrap();
        std::fs::write(dir.path().join("big.wasm"), vec![0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("dir.wasm")).unwrap();
        std::fs::write(dir.path().join(".hidden.wasm"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/null", dir.path().join("null.wasm")).unwrap();
        let found = scan(dir.path(), 10).unwrap().entries;
        let files: Vec<&str> = found.iter().map(|e| e.file()).collect();
        assert_eq!(files, ["a.wasm", "big.wasm", "dir.wasm", "null.wasm"]);
        assert_eq!(found[0], FolderEntry::Plugin { file: "a.wasm".into() });
        let reason = |i: usize| match &found[i] {
            FolderEntry::Skipped { reason, .. } => reason.clone(),
            other => panic!("{other:?}"),
        };
        assert!(reason(1).contains("over the plugin size limit"), "{}", reason(1));
        assert!(reason(2).contains("a directory"), "{}", reason(2));
        assert!(reason(3).contains("a device"), "{}", reason(3));
    }

    #[test]
    fn the_number_of_entries_and_plugins_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..MAX_FOLDER_ENTRIES + 10 {
            std::fs::write(dir.path().join(format!("p{i:05}.wasm")), b"x").unwrap();
        }
        let found = scan(dir.path(), 10).unwrap();
        assert_eq!(found.entries.len(), MAX_FOLDER_ENTRIES);
        assert_eq!(found.ignored, 10);
        let plugins = found.entries.iter().filter(|e| matches!(e, FolderEntry::Plugin { .. })).count();
        assert_eq!(plugins, MAX_PLUGINS);
        assert!(matches!(&found.entries[MAX_PLUGINS], FolderEntry::Skipped { reason, .. } if reason.contains("more than 256")));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe.wasm");
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read_plugin(&path, 1 << 20).unwrap_err();
        assert!(err.contains("a FIFO"), "{err}");
    }

    #[test]
    fn reads_at_most_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wasm");
        std::fs::write(&path, vec![1u8; 64]).unwrap();
        assert_eq!(read_plugin(&path, 64).unwrap().len(), 64);
        assert!(read_plugin(&path, 63).unwrap_err().contains("size limit"));
    }
}
