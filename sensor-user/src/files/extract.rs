//! Extraction of file content to disk: `<log dir>/extract_files/`, one file
//! per transferred file, named from its protocol, uid and type
//! (`SMTP-<fuid>.<ext>`) — never from anything the sender chose. Content is
//! written under a temporary name and renamed when complete. A per-file
//! limit cuts extraction short (`extracted_cutoff`); a total budget shared
//! by all files stops new extractions once spent.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::inline_str::InlineStr;

/// Which files to extract.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExtractPolicy {
    /// None (the default).
    #[default]
    None,
    /// Every file.
    All,
    /// Files whose sniffed MIME type is one of these.
    Types(Vec<String>),
}

impl std::str::FromStr for ExtractPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(ExtractPolicy::None),
            "all" => Ok(ExtractPolicy::All),
            list => {
                let types: Vec<String> = list
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect();
                if types.iter().all(|t| t.contains('/')) && !types.is_empty() {
                    Ok(ExtractPolicy::Types(types))
                } else {
                    Err(format!("'{s}' is not none, all, or a comma-separated list of MIME types (e.g. text/plain,application/pdf)"))
                }
            }
        }
    }
}

/// Extraction settings shared by a worker's files.
#[derive(Clone, Debug)]
pub struct ExtractConfig {
    /// Which files.
    pub policy: ExtractPolicy,
    /// Also every whole mail message (`message/rfc822`), as `.eml`.
    pub messages: bool,
    /// Where (`<log dir>/extract_files`).
    pub dir: PathBuf,
    /// Most bytes written per file (0: no limit).
    pub per_file_limit: u64,
    /// Most bytes written by all files together (0: no limit).
    pub total_budget: u64,
    /// Bytes written so far, shared.
    pub spent: Arc<AtomicU64>,
}

impl ExtractConfig {
    /// Whether a file of type `mime` (possibly unknown yet) is wanted.
    pub fn wants(&self, mime: Option<&str>) -> bool {
        if self.messages && mime == Some("message/rfc822") {
            return true;
        }
        match &self.policy {
            ExtractPolicy::None => false,
            ExtractPolicy::All => true,
            ExtractPolicy::Types(t) => mime.is_some_and(|m| t.iter().any(|x| x == m)),
        }
    }
}

/// What extraction wrote, for files.log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// File name under `extract_files/`.
    pub name: InlineStr<96>,
    /// Whether the limit cut it short.
    pub cutoff: bool,
    /// Bytes written.
    pub size: u64,
}

/// One extraction in progress.
#[derive(Debug)]
pub struct Extraction {
    tmp: PathBuf,
    dst: PathBuf,
    name: InlineStr<96>,
    file: Option<File>,
    written: u64,
    limit: u64,
    cutoff: bool,
    spent: Arc<AtomicU64>,
    budget: u64,
    failed: bool,
}

/// File extension for a sniffed type.
pub fn extension(mime: Option<&str>) -> &'static str {
    match mime {
        Some("text/plain") => "txt",
        Some("text/html") => "html",
        Some("application/pdf") => "pdf",
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("image/gif") => "gif",
        Some("application/zip") => "zip",
        Some("application/x-dosexec") => "exe",
        Some("application/msword") => "doc",
        Some("message/rfc822") => "eml",
        Some(m) if m.ends_with("wordprocessingml.document") => "docx",
        Some(m) if m.ends_with("spreadsheetml.sheet") => "xlsx",
        Some(m) if m.ends_with("presentationml.presentation") => "pptx",
        _ => "dat",
    }
}

impl Extraction {
    /// Starts extracting `source`/`fuid` (of type `mime`) into `cfg.dir`.
    /// `None` when the total budget is spent or the directory cannot be
    /// created.
    pub fn start(
        cfg: &ExtractConfig,
        source: &str,
        fuid: &str,
        mime: Option<&str>,
    ) -> Option<Extraction> {
        if cfg.total_budget > 0 && cfg.spent.load(Ordering::Relaxed) >= cfg.total_budget {
            return None;
        }
        std::fs::create_dir_all(&cfg.dir).ok()?;
        // The directory itself must not be a symbolic link planted to send
        // extracted content elsewhere.
        if std::fs::symlink_metadata(&cfg.dir)
            .ok()?
            .file_type()
            .is_symlink()
        {
            return None;
        }
        let mut name = InlineStr::<96>::new();
        use std::fmt::Write as _;
        let _ = write!(name, "{source}-{fuid}.{}", extension(mime));
        let name_str = std::str::from_utf8(name.as_bytes()).ok()?;
        let dst = cfg.dir.join(name_str);
        let tmp = cfg.dir.join(format!(".{name_str}.part"));
        let _ = std::fs::remove_file(&tmp);
        // A new file, never through a symbolic link (one planted under the
        // temporary name is removed above, one planted again in between
        // makes the open fail); the rename below replaces a link planted
        // under the final name instead of following it.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .ok()?;
        Some(Extraction {
            tmp,
            dst,
            name,
            file: Some(file),
            written: 0,
            limit: cfg.per_file_limit,
            cutoff: false,
            spent: cfg.spent.clone(),
            budget: cfg.total_budget,
            failed: false,
        })
    }

    /// Appends content.
    pub fn write(&mut self, data: &[u8]) {
        if self.failed || self.cutoff {
            return;
        }
        let mut n = data.len() as u64;
        if self.limit > 0 && self.written + n > self.limit {
            n = self.limit - self.written;
            self.cutoff = true;
        }
        if self.budget > 0 {
            let spent = self.spent.fetch_add(n, Ordering::Relaxed);
            if spent + n > self.budget {
                self.cutoff = true;
                n = self.budget.saturating_sub(spent);
            }
        }
        if let Some(f) = self.file.as_mut() {
            if f.write_all(&data[..n as usize]).is_err() {
                self.failed = true;
            }
        }
        self.written += n;
    }

    /// Missing content: the extracted file gets zeros in its place (so
    /// offsets stay right), within the limits.
    pub fn gap(&mut self, len: u64) {
        let zeros = [0u8; 4096];
        let mut left = len;
        while left > 0 && !self.cutoff && !self.failed {
            let n = left.min(zeros.len() as u64) as usize;
            self.write(&zeros[..n]);
            left -= n as u64;
        }
    }

    /// Completes the file (rename into place) and reports it.
    pub fn finish(mut self, _seen: u64) -> Extracted {
        if let Some(f) = self.file.take() {
            let _ = f.sync_data();
        }
        if !self.failed {
            let _ = std::fs::rename(&self.tmp, &self.dst);
        } else {
            let _ = std::fs::remove_file(&self.tmp);
        }
        Extracted {
            name: self.name,
            cutoff: self.cutoff,
            size: self.written,
        }
    }

    /// The final path of the extracted file.
    pub fn path(&self) -> &Path {
        &self.dst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_parsing() {
        assert_eq!(
            "none".parse::<ExtractPolicy>().unwrap(),
            ExtractPolicy::None
        );
        assert_eq!("all".parse::<ExtractPolicy>().unwrap(), ExtractPolicy::All);
        assert_eq!(
            "text/plain, application/PDF"
                .parse::<ExtractPolicy>()
                .unwrap(),
            ExtractPolicy::Types(vec!["text/plain".into(), "application/pdf".into()])
        );
        assert!("bogus".parse::<ExtractPolicy>().is_err());
    }

    #[test]
    fn writes_renames_and_cuts_off() {
        let dir = crate::test_dir::TempDir::new("extract");
        let cfg = ExtractConfig {
            policy: ExtractPolicy::All,
            messages: false,
            dir: dir.to_path_buf(),
            per_file_limit: 10,
            total_budget: 0,
            spent: Default::default(),
        };
        let mut x = Extraction::start(&cfg, "SMTP", "Fabc", Some("text/plain")).unwrap();
        let path = x.path().to_path_buf();
        x.write(b"0123456");
        x.write(b"789abcdef");
        let r = x.finish(16);
        assert!(r.cutoff);
        assert_eq!(r.size, 10);
        assert_eq!(r.name.as_bytes(), b"SMTP-Fabc.txt");
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
        assert!(!dir.join(".SMTP-Fabc.txt.part").exists());
    }

    #[test]
    fn planted_links_are_replaced_not_followed() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("sensor-extract-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.with_extension("victim");
        std::fs::write(&victim, b"keep").unwrap();
        symlink(&victim, dir.join(".SMTP-Fx.txt.part")).unwrap();
        symlink(&victim, dir.join("SMTP-Fx.txt")).unwrap();
        let cfg = ExtractConfig {
            policy: ExtractPolicy::All,
            messages: false,
            dir: dir.clone(),
            per_file_limit: 0,
            total_budget: 0,
            spent: Default::default(),
        };
        let mut x = Extraction::start(&cfg, "SMTP", "Fx", Some("text/plain")).unwrap();
        x.write(b"content");
        x.finish(7);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let dst = dir.join("SMTP-Fx.txt");
        assert!(std::fs::symlink_metadata(&dst)
            .unwrap()
            .file_type()
            .is_file());
        assert_eq!(std::fs::read(&dst).unwrap(), b"content");
        // A directory that is itself a link is not used.
        let link_dir = dir.with_extension("link");
        let _ = std::fs::remove_file(&link_dir);
        symlink(&dir, &link_dir).unwrap();
        let cfg = ExtractConfig {
            dir: link_dir.clone(),
            ..cfg
        };
        assert!(Extraction::start(&cfg, "SMTP", "Fy", None).is_none());
        let _ = std::fs::remove_file(&link_dir);
        let _ = std::fs::remove_file(&victim);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
