//! Temporary directories for the workspace's tests (unit and integration):
//! fresh when made, removed when the test is done with them, kept when the
//! test fails so its files can be read. Nothing in the sensor uses them.

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

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept the failed test's directory {}", self.0.display());
        } else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_when_done_kept_when_failing() {
        let passed = TempDir::new("test-dir-passed");
        let path = passed.to_path_buf();
        std::fs::write(path.join("x"), b"x").unwrap();
        drop(passed);
        assert!(!path.exists());

        let failed = std::panic::catch_unwind(|| {
            let d = TempDir::new("test-dir-failed");
            let p = d.to_path_buf();
            std::panic::panic_any(p);
        });
        let kept = *failed.unwrap_err().downcast::<PathBuf>().unwrap();
        assert!(kept.is_dir());
        std::fs::remove_dir_all(&kept).unwrap();
    }
}
