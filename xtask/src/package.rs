//! `cargo xtask package`: the Debian package of the sensor,
//! `target/debian/sensor_<version>_<arch>.deb`.
//!
//! Builds the XDP program and the release binary (which embeds it), lays
//! out the package's tree under `target/debian/build/debian/sensor` and
//! hands it to `dpkg-deb --root-owner-group --build`. The tree:
//!
//! - `/usr/bin/sensor`, stripped as Debian strips binaries;
//! - `/lib/systemd/system/sensor.service` from `deploy/sensor.service`;
//! - `/etc/sensor/sensor.conf` from `deploy/sensor.conf`, a conffile, mode
//!   0640 (output URLs may carry passwords);
//! - `/usr/share/doc/sensor/copyright` and `README.md.gz`;
//! - `DEBIAN/`: `control` from `deploy/debian/control` (version from
//!   sensor-user's manifest, architecture from `dpkg --print-architecture`,
//!   shared-library dependencies from `dpkg-shlibdeps`, installed size),
//!   `conffiles`, `md5sums`, and the maintainer scripts of `deploy/debian`.
//!
//! Everything is owned by root in the archive; the `sensor` user and its
//! directories are made by `postinst` on the target host.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{anyhow, bail, Context, Result};

use crate::{build_ebpf, capture, run_cmd, step, workspace_root, Profile};

/// The package's name.
const PACKAGE: &str = "sensor";

/// Maintainer scripts copied from `deploy/debian` into `DEBIAN/`.
const SCRIPTS: [&str; 3] = ["postinst", "prerm", "postrm"];

/// The configuration file, marked as a conffile.
const CONFFILE: &str = "etc/sensor/sensor.conf";

/// Fix suggested when a Debian packaging tool is missing.
const INSTALL_DPKG_DEV: &str = "install the packaging tools with `apt-get install dpkg-dev`";

/// Builds the package and returns the path of the `.deb`. `debug` packs
/// the debug build of the sensor instead of the release one (the package
/// test: what it checks is the packaging, and the suite has that build
/// already).
pub fn run(debug: bool) -> Result<PathBuf> {
    let root = workspace_root();
    let target = target_dir(&root);

    step("XDP program (embedded into the sensor)");
    build_ebpf(Profile::Release)?;

    let profile = if debug { "debug" } else { "release" };
    step(&format!("sensor ({profile})"));
    let mut build = Command::new("cargo");
    build
        .current_dir(&root)
        .args(["build", "-p", "sensor-user", "--bin", "sensor"])
        // The package embeds the object `build-ebpf` just made.
        .env_remove("SENSOR_EBPF_OBJECT");
    if !debug {
        build.arg("--release");
    }
    run_cmd(&mut build, "see the compiler output above")?;
    let binary = target.join(profile).join("sensor");

    let crate_version = crate_version(&root)?;
    let version = debian_version(&crate_version);
    let printed = capture(
        Command::new(&binary).arg("--version"),
        "rebuild with `cargo build --release -p sensor-user`",
    )?;
    if printed.trim() != format!("{PACKAGE} {crate_version}") {
        bail!(
            "{} says `{}` but sensor-user/Cargo.toml says {crate_version}; rebuild with \
             `cargo build --release -p sensor-user`",
            binary.display(),
            printed.trim()
        );
    }
    let arch = capture(
        Command::new("dpkg").arg("--print-architecture"),
        "run this on Debian or a derivative (dpkg is needed)",
    )?
    .trim()
    .to_string();

    let out_dir = root.join("target").join("debian");
    // dpkg-shlibdeps wants debhelper's layout: it runs where `debian/control`
    // is, on binaries under `debian/<package>/`.
    let build = out_dir.join("build");
    let tree = build.join("debian").join(PACKAGE);
    step(&format!("stage {}", tree.display()));
    if build.exists() {
        fs::remove_dir_all(&build).with_context(|| format!("cannot remove {}", build.display()))?;
    }
    stage(&root, &binary, &tree)?;
    write(&build.join("debian").join("control"), "", 0o644)?;
    // dpkg-shlibdeps finds the package's root by its DEBIAN folder.
    let debian = tree.join("DEBIAN");
    create_dir(&debian)?;

    let depends = shlib_depends(&build, &format!("debian/{PACKAGE}/usr/bin/{PACKAGE}"))?;
    let control = control_text(
        &read(&root.join("deploy/debian/control"))?,
        &version,
        &arch,
        &depends,
        installed_size_kib(&tree)?,
    )?;
    write(&debian.join("md5sums"), &md5sums(&tree)?, 0o644)?;
    write(&debian.join("control"), &control, 0o644)?;
    write(&debian.join("conffiles"), &format!("/{CONFFILE}\n"), 0o644)?;
    for script in SCRIPTS {
        let text = read(&root.join("deploy/debian").join(script))?;
        write(&debian.join(script), &text, 0o755)?;
    }

    let deb = out_dir.join(format!("{PACKAGE}_{version}_{arch}.deb"));
    step(&format!("build {}", deb.display()));
    run_cmd(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb),
        "see dpkg-deb's message above",
    )?;
    println!("xtask: package: {}", deb.display());
    Ok(deb)
}

/// Where cargo puts build outputs (`CARGO_TARGET_DIR`, else `target/`).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

/// Lays out the files of the package under `tree`.
fn stage(root: &Path, binary: &Path, tree: &Path) -> Result<()> {
    let bin = tree.join("usr/bin").join(PACKAGE);
    copy(binary, &bin, 0o755)?;
    // As dh_strip does: symbols and debug info are not needed to run.
    run_cmd(
        Command::new("strip")
            .args(["--remove-section=.comment", "--remove-section=.note"])
            .arg("--strip-unneeded")
            .arg(&bin),
        "install binutils with `apt-get install binutils`",
    )?;
    copy(
        &root.join("deploy/sensor.service"),
        &tree.join("lib/systemd/system/sensor.service"),
        0o644,
    )?;
    copy(
        &root.join("deploy/sensor.conf"),
        &tree.join(CONFFILE),
        0o640,
    )?;
    let doc = tree.join("usr/share/doc").join(PACKAGE);
    copy(
        &root.join("deploy/debian/copyright"),
        &doc.join("copyright"),
        0o644,
    )?;
    // Debian policy 12.3: documentation over 4 kB is compressed, `gzip -9n`.
    copy(&root.join("README.md"), &doc.join("README.md"), 0o644)?;
    run_cmd(
        Command::new("gzip")
            .args(["-9nf"])
            .arg(doc.join("README.md")),
        "install gzip with `apt-get install gzip`",
    )?;
    Ok(())
}

/// The `Depends` entries of the shared libraries `binary` (relative to
/// `build`) links, as `dpkg-shlibdeps` finds them (`libc6 (>= 2.34), ...`).
fn shlib_depends(build: &Path, binary: &str) -> Result<String> {
    let out = capture(
        Command::new("dpkg-shlibdeps")
            .current_dir(build)
            .arg("-O")
            .arg(format!("-e{binary}")),
        INSTALL_DPKG_DEV,
    )?;
    parse_shlibs(&out).ok_or_else(|| {
        anyhow!("dpkg-shlibdeps printed no `shlibs:Depends=` line ({out:?}); {INSTALL_DPKG_DEV}")
    })
}

/// The value of the `shlibs:Depends=` line of `dpkg-shlibdeps -O` output.
fn parse_shlibs(out: &str) -> Option<String> {
    out.lines()
        .find_map(|line| line.strip_prefix("shlibs:Depends="))
        .map(str::trim)
        .filter(|deps| !deps.is_empty())
        .map(str::to_string)
}

/// Fills the placeholders of the control template.
fn control_text(
    template: &str,
    version: &str,
    arch: &str,
    shlibs: &str,
    installed_kib: u64,
) -> Result<String> {
    let text = template
        .replace("@VERSION@", version)
        .replace("@ARCH@", arch)
        .replace("@SHLIBS@", shlibs)
        .replace("@INSTALLED_SIZE@", &installed_kib.to_string());
    if let Some(line) = text.lines().find(|line| has_placeholder(line)) {
        bail!("deploy/debian/control: unknown placeholder in `{line}`; use @VERSION@, @ARCH@, @SHLIBS@ or @INSTALLED_SIZE@");
    }
    Ok(text)
}

/// Whether `line` holds an `@NAME@` placeholder (an e-mail address does not).
fn has_placeholder(line: &str) -> bool {
    let pieces: Vec<&str> = line.split('@').collect();
    pieces.len() > 2
        && pieces[1..pieces.len() - 1].iter().any(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
}

/// The package's version from sensor-user's manifest (or the workspace's
/// when the crate inherits it).
fn crate_version(root: &Path) -> Result<String> {
    let manifest = read(&root.join("sensor-user/Cargo.toml"))?;
    match manifest_version(&manifest, "package") {
        Some(Version::Literal(version)) => Ok(version),
        Some(Version::Workspace) => {
            match manifest_version(&read(&root.join("Cargo.toml"))?, "workspace.package") {
                Some(Version::Literal(version)) => Ok(version),
                _ => bail!(
                    "no `version` in [workspace.package] of Cargo.toml; set the workspace version"
                ),
            }
        }
        None => bail!("no `version` in [package] of sensor-user/Cargo.toml; set the crate version"),
    }
}

/// A `version` key of a manifest.
#[derive(Debug, PartialEq, Eq)]
enum Version {
    /// `version = "1.2.3"`.
    Literal(String),
    /// `version.workspace = true` or `version = { workspace = true }`.
    Workspace,
}

/// The `version` key of the `[section]` table of a Cargo manifest.
fn manifest_version(manifest: &str, section: &str) -> Option<Version> {
    let header = format!("[{section}]");
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if !inside {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "version.workspace" && value == "true" {
            return Some(Version::Workspace);
        }
        if key == "version" {
            if value.starts_with('{') && value.replace(' ', "").contains("workspace=true") {
                return Some(Version::Workspace);
            }
            return Some(Version::Literal(value.trim_matches('"').to_string()));
        }
    }
    None
}

/// A Cargo (semver) version as a Debian version: a pre-release sorts before
/// its release, which Debian writes with `~` (`1.0.0-rc.1` → `1.0.0~rc.1`).
fn debian_version(cargo: &str) -> String {
    match cargo.split_once('-') {
        Some((release, pre)) => format!("{release}~{pre}"),
        None => cargo.to_string(),
    }
}

/// `Installed-Size` as dpkg-gencontrol counts it: KiB per file rounded up,
/// one per directory or link.
fn installed_size_kib(tree: &Path) -> Result<u64> {
    let mut kib = 0;
    for path in walk(tree)? {
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("cannot stat {}", path.display()))?;
        kib += if meta.is_file() {
            meta.len().div_ceil(1024)
        } else {
            1
        };
    }
    Ok(kib)
}

/// `DEBIAN/md5sums`: `md5sum` of every file but the conffile (whose sum
/// dpkg keeps itself), paths relative to `tree`.
fn md5sums(tree: &Path) -> Result<String> {
    let mut files = Vec::new();
    for path in walk(tree)? {
        if path != tree.join(CONFFILE)
            && fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file())
        {
            files.push(
                path.strip_prefix(tree)
                    .expect("walked from tree")
                    .to_path_buf(),
            );
        }
    }
    files.sort();
    capture(
        Command::new("md5sum").current_dir(tree).args(&files),
        "install coreutils",
    )
}

/// Every file and folder of the package's contents under `tree`, not
/// `DEBIAN`.
fn walk(tree: &Path) -> Result<Vec<PathBuf>> {
    let control = tree.join("DEBIAN");
    Ok(walk_dir(tree)?
        .into_iter()
        .filter(|path| !path.starts_with(&control))
        .collect())
}

/// Every file and folder under `dir` (not `dir` itself), depth first.
fn walk_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        out.push(path.clone());
        if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
            out.extend(walk_dir(&path)?);
        }
    }
    Ok(out)
}

/// Creates `dir` and its missing parents, each mode 0755 whatever the umask.
fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir(parent)?;
    }
    fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    set_mode(dir, 0o755)
}

/// Copies `from` to `to` (parents created) with `mode`.
fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    create_dir(to.parent().expect("a file in a folder"))?;
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    set_mode(to, mode)
}

/// Writes `text` to `path` (parents created) with `mode`.
fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    create_dir(path.parent().expect("a file in a folder"))?;
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    set_mode(path, mode)
}

/// Reads a text file of the source tree.
fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {}; restore it with `git checkout -- {}`",
            path.display(),
            path.display()
        )
    })
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_manifests() {
        let member = "[package]\nname = \"sensor-user\"\nversion.workspace = true\n";
        assert_eq!(
            manifest_version(member, "package"),
            Some(Version::Workspace)
        );
        let inline = "[package]\nversion = { workspace = true }\n";
        assert_eq!(
            manifest_version(inline, "package"),
            Some(Version::Workspace)
        );
        let workspace = "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"0.3.1\" # x\n\n[dependencies]\nversion = \"9\"\n";
        assert_eq!(
            manifest_version(workspace, "workspace.package"),
            Some(Version::Literal("0.3.1".into()))
        );
        assert_eq!(manifest_version(workspace, "package"), None);
    }

    #[test]
    fn prereleases_sort_before_their_release() {
        assert_eq!(debian_version("0.1.0"), "0.1.0");
        assert_eq!(debian_version("1.0.0-rc.1"), "1.0.0~rc.1");
        assert_eq!(debian_version("1.0.0+build.5"), "1.0.0+build.5");
    }

    #[test]
    fn control_fields() {
        let out = "shlibs:Depends=libc6 (>= 2.34), zlib1g (>= 1:1.2.0)\n";
        assert_eq!(
            parse_shlibs(out).as_deref(),
            Some("libc6 (>= 2.34), zlib1g (>= 1:1.2.0)")
        );
        assert_eq!(parse_shlibs("shlibs:Depends=\n"), None);
        let control = control_text(
            "Version: @VERSION@\nArchitecture: @ARCH@\nDepends: @SHLIBS@\nInstalled-Size: @INSTALLED_SIZE@\n",
            "0.1.0",
            "amd64",
            "libc6",
            12,
        )
        .unwrap();
        assert_eq!(
            control,
            "Version: 0.1.0\nArchitecture: amd64\nDepends: libc6\nInstalled-Size: 12\n"
        );
        assert!(control_text("Version: @VERSON@\n", "1", "a", "l", 1).is_err());
        assert!(control_text("Maintainer: A <a@b.example>\n", "1", "a", "l", 1).is_ok());
        assert!(!has_placeholder("x@y @ z@"));
    }
}
