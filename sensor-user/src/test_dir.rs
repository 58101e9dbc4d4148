//! Temporary directories for unit tests: fresh when made, removed when the
//! test is done with them, kept when the test fails so its files can be read.

use std::path::{Path, PathBuf};

/// A test's temporary directory, `sensor-<name>-<pid>` under the system's
/// temporary directory.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes the directory empty (removing what an earlier run left).
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("sensor-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("creating a temporary directory");
        TempDir(d)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A file written into its own [`TempDir`], which goes with it.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    _dir: TempDir,
}

impl TempFile {
    /// Writes `bytes` to `name` in a fresh directory.
    pub fn new(name: &str, bytes: &[u8]) -> TempFile {
        let dir = TempDir::new(&format!("file-{name}"));
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("writing a temporary file");
        TempFile { path, _dir: dir }
    }
}

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}
