//! Build tasks that plain `cargo build` cannot do, run as `cargo xtask <task>`:
//!
//! - `setup`: installs what building the XDP program needs (the nightly
//!   toolchain's `rust-src`, and `bpf-linker` built against the nightly
//!   toolchain's own LLVM). Safe to run again: finished steps are skipped.
//! - `build-ebpf [--release | --debug]`: builds `sensor-ebpf` for
//!   `bpfel-unknown-none` and copies the object to `target/ebpf/sensor-ebpf.o`.
//!
//! - `test`: the whole test suite (what the README and CI run); see
//!   [`suite`].
//! - `fuzz [--minutes N] [--target NAME] [--runs N]`: every fuzz target
//!   in turn, with a report under `target/fuzz-report/`; see [`fuzz`].
//! - `package`: the Debian package `target/debian/sensor_<version>_<arch>.deb`
//!   (binary, systemd unit, configuration, maintainer scripts); see
//!   [`package`].
//!
//! Only `std` and `anyhow` are used, so the tasks build on a fresh machine.

mod fuzz;
mod package;
mod suite;

use std::{
    env,
    ffi::OsStr,
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
};

use anyhow::{anyhow, bail, Context, Result};

/// Usage line printed for `help` and for unknown arguments.
const USAGE: &str = "usage: cargo xtask setup | cargo xtask build-ebpf [--release | --debug] \
                     | cargo xtask test | cargo xtask package \
                     | cargo xtask fuzz [--minutes N] [--target NAME] [--runs N]";

/// Toolchain that builds the XDP program (`-Z build-std` needs nightly).
const NIGHTLY: &str = "nightly";

/// Target triple of the XDP program (little-endian eBPF).
const BPF_TARGET: &str = "bpfel-unknown-none";

/// bpf-linker release installed by `setup`; pinned so every machine links alike.
const BPF_LINKER_VERSION: &str = "0.13.0";

/// LLVM major versions that [`BPF_LINKER_VERSION`] has a cargo feature for.
const BPF_LINKER_LLVM: [u32; 3] = [21, 22, 23];

/// Rust flags for the eBPF crate, as aya's own builder (`aya-build`) sets
/// them: debug info, so that bpf-linker can emit BTF for the loader.
const BPF_RUSTFLAGS: [&str; 2] = ["-Cdebuginfo=2", "-Clink-arg=--btf"];

/// Host-side variables that must not leak into the nested nightly build.
const SCRUBBED_ENV: [&str; 6] = [
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTUP_TOOLCHAIN",
];

/// Fix suggested whenever the eBPF build lacks one of its tools.
const RUN_SETUP: &str = "run `cargo xtask setup`";

/// Cargo profile of the XDP program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// Optimised build (the default); the only kind the verifier reliably takes.
    Release,
    /// `dev` profile (also optimised, see sensor-ebpf/Cargo.toml).
    Debug,
}

impl Profile {
    /// The folder cargo writes this profile's artifacts to.
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// A task named on the command line.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    /// `cargo xtask setup`.
    Setup,
    /// `cargo xtask build-ebpf`.
    BuildEbpf(Profile),
    /// `cargo xtask test`.
    Test,
    /// `cargo xtask fuzz`.
    Fuzz(fuzz::Options),
    /// `cargo xtask package` (`--debug`: with the debug build of the
    /// sensor, for the package test, which checks the packaging itself).
    Package { debug: bool },
    /// `cargo xtask help`.
    Help,
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match parse_args(&args).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments after `cargo xtask`.
fn parse_args(args: &[String]) -> Result<Task> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["setup"] => Ok(Task::Setup),
        ["build-ebpf"] | ["build-ebpf", "--release"] => Ok(Task::BuildEbpf(Profile::Release)),
        ["build-ebpf", "--debug"] => Ok(Task::BuildEbpf(Profile::Debug)),
        ["test"] => Ok(Task::Test),
        ["package"] => Ok(Task::Package { debug: false }),
        ["package", "--debug"] => Ok(Task::Package { debug: true }),
        ["fuzz", rest @ ..] => fuzz::parse_options(rest).map(Task::Fuzz),
        [] | ["help"] | ["-h"] | ["--help"] => Ok(Task::Help),
        _ => bail!("unknown arguments {args:?}; {USAGE}"),
    }
}

/// Runs one task.
fn run(task: Task) -> Result<()> {
    match task {
        Task::Setup => setup(),
        Task::BuildEbpf(profile) => build_ebpf(profile).map(|_| ()),
        Task::Test => suite::run(),
        Task::Package { debug } => package::run(debug).map(|_| ()),
        Task::Fuzz(opts) => fuzz::run(&opts),
        Task::Help => {
            println!("{USAGE}");
            Ok(())
        }
    }
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> PathBuf {
    // `cargo run` (what `cargo xtask` is) says where xtask's manifest is;
    // the path compiled in is the fallback. It is wrong when another
    // checkout sharing the target folder built this binary last and cargo
    // found nothing to rebuild.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .expect("xtask lives in a workspace folder")
}

/// Prints the start of a step.
fn step(what: &str) {
    println!("xtask: ==> {what}");
}

/// Renders a command for logs and error messages.
fn show(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` with inherited output; on failure the error names `fix`.
fn run_cmd(cmd: &mut Command, fix: &str) -> Result<()> {
    println!("xtask: $ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|err| anyhow!("cannot run `{}` ({err}); {fix}", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status}); {fix}", show(cmd));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its standard output.
fn capture(cmd: &mut Command, fix: &str) -> Result<String> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| anyhow!("cannot run `{}` ({err}); {fix}", show(cmd)))?;
    if !out.status.success() {
        bail!("`{}` failed ({}); {fix}", show(cmd), out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{}` printed non-UTF-8", show(cmd)))
}

/// A `rustc +nightly` command.
fn nightly_rustc() -> Command {
    let mut cmd = Command::new("rustc");
    cmd.arg(format!("+{NIGHTLY}"));
    for key in SCRUBBED_ENV {
        cmd.env_remove(key);
    }
    cmd
}

/// The version line of a working `bpf-linker`, or `None` when it is missing
/// or cannot start (for example after a nightly update moved its libLLVM).
fn bpf_linker_version() -> Option<String> {
    let out = Command::new("bpf-linker")
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `cargo xtask setup`: everything the eBPF build needs, each step skipped
/// when already done.
fn setup() -> Result<()> {
    step("rust-src for the nightly toolchain (for -Z build-std=core)");
    run_cmd(
        Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", NIGHTLY]),
        "install the toolchain with `rustup toolchain install nightly` and retry",
    )?;

    step("cargo-fuzz (fuzz targets)");
    if capture(Command::new("cargo").args(["fuzz", "--version"]), "").is_ok() {
        println!("xtask: already installed");
    } else {
        run_cmd(
            Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]),
            "check that crates.io is reachable",
        )?;
    }

    step("bpf-linker");
    if let Some(version) = bpf_linker_version() {
        println!("xtask: already installed and working: {version}");
        return Ok(());
    }
    install_bpf_linker()?;
    let version = bpf_linker_version().ok_or_else(|| {
        anyhow!("bpf-linker was installed but does not run; check that ~/.cargo/bin is on PATH")
    })?;
    println!("xtask: installed {version}");
    println!("xtask: setup done; next: cargo xtask build-ebpf");
    Ok(())
}

/// Builds bpf-linker from crates.io against the libLLVM shipped inside the
/// nightly toolchain, so that it reads the bitcode that nightly writes.
fn install_bpf_linker() -> Result<()> {
    let sysroot = nightly_sysroot()?;
    let llvm_major = nightly_llvm_major()?;
    if !BPF_LINKER_LLVM.contains(&llvm_major) {
        bail!(
            "nightly uses LLVM {llvm_major} but bpf-linker {BPF_LINKER_VERSION} supports LLVM \
             {BPF_LINKER_LLVM:?}; pin a matching nightly or raise BPF_LINKER_VERSION in xtask"
        );
    }
    let sysroot_lib = sysroot.join("lib");
    let libllvm = find_libllvm(&sysroot_lib)?;
    let prefix = workspace_root().join("target").join("llvm-link");
    let link_dir = link_libllvm(&prefix, &libllvm)?;

    step(&format!(
        "cargo install bpf-linker {BPF_LINKER_VERSION} for LLVM {llvm_major} (a few minutes)"
    ));
    let rustflags = format!(
        "-L {} -C link-arg=-Wl,-rpath,{}",
        link_dir.display(),
        sysroot_lib.display()
    );
    println!(
        "xtask: LLVM_PREFIX={} RUSTFLAGS=\"{rustflags}\"",
        prefix.display()
    );
    let mut cmd = Command::new("cargo");
    cmd.args(["install", "bpf-linker", "--locked", "--force"])
        .args(["--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features"])
        .arg(format!("llvm-{llvm_major}"))
        .env("LLVM_PREFIX", &prefix)
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTUP_TOOLCHAIN");
    run_cmd(
        &mut cmd,
        "check that crates.io is reachable and a C toolchain (cc) is installed",
    )
}

/// The nightly toolchain's sysroot, as `rustc +nightly --print sysroot` says.
fn nightly_sysroot() -> Result<PathBuf> {
    let out = capture(
        nightly_rustc().args(["--print", "sysroot"]),
        "install it with `rustup toolchain install nightly`",
    )?;
    Ok(PathBuf::from(out.trim()))
}

/// The LLVM major version of the nightly toolchain, from `rustc +nightly -vV`.
fn nightly_llvm_major() -> Result<u32> {
    let out = capture(
        nightly_rustc().arg("-vV"),
        "install it with `rustup toolchain install nightly`",
    )?;
    parse_llvm_major(&out).ok_or_else(|| {
        anyhow!(
            "no `LLVM version: N.x` line in `rustc +nightly -vV`; reinstall the nightly toolchain"
        )
    })
}

/// Extracts `N` from the `LLVM version: N.x.y` line of `rustc -vV` output.
fn parse_llvm_major(version_output: &str) -> Option<u32> {
    version_output
        .lines()
        .find_map(|line| line.strip_prefix("LLVM version:"))
        .and_then(|version| version.trim().split('.').next())
        .and_then(|major| major.parse().ok())
}

/// Finds the real libLLVM shared object (`libLLVM.so.<version>-rust-...`) in
/// the toolchain's `lib` folder.
fn find_libllvm(sysroot_lib: &Path) -> Result<PathBuf> {
    let entries = fs::read_dir(sysroot_lib).with_context(|| {
        format!(
            "cannot list {}; reinstall the nightly toolchain",
            sysroot_lib.display()
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| is_libllvm_name(path.file_name()))
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        anyhow!(
            "no libLLVM.so.* in {}; reinstall the nightly toolchain",
            sysroot_lib.display()
        )
    })
}

/// Whether a file name is a versioned libLLVM shared object.
fn is_libllvm_name(name: Option<&OsStr>) -> bool {
    name.and_then(OsStr::to_str)
        .is_some_and(|name| name.starts_with("libLLVM.so."))
}

/// Makes `<prefix>/lib/libLLVM.so` point at `libllvm`, the layout bpf-linker's
/// build script expects under `LLVM_PREFIX`; returns `<prefix>/lib`.
fn link_libllvm(prefix: &Path, libllvm: &Path) -> Result<PathBuf> {
    let lib = prefix.join("lib");
    fs::create_dir_all(&lib).with_context(|| format!("cannot create {}", lib.display()))?;
    let link = lib.join("libLLVM.so");
    if fs::symlink_metadata(&link).is_ok() {
        fs::remove_file(&link).with_context(|| format!("cannot replace {}", link.display()))?;
    }
    symlink(libllvm, &link).with_context(|| format!("cannot create {}", link.display()))?;
    println!("xtask: {} -> {}", link.display(), libllvm.display());
    Ok(lib)
}

/// `cargo xtask build-ebpf`: builds the XDP program and returns the path of
/// the copied object.
fn build_ebpf(profile: Profile) -> Result<PathBuf> {
    if bpf_linker_version().is_none() {
        bail!("bpf-linker is missing or does not run; {RUN_SETUP}");
    }
    let root = workspace_root();
    let target_dir = root.join("target").join("sensor-ebpf");
    step(&format!(
        "build sensor-ebpf ({}) for {BPF_TARGET}",
        profile.dir()
    ));
    let mut cmd = nightly_cargo_build(&root.join("sensor-ebpf"), &target_dir, profile);
    run_cmd(
        &mut cmd,
        &format!("see the compiler output above; if a tool or rust-src is missing, {RUN_SETUP}"),
    )?;

    let built = target_dir
        .join(BPF_TARGET)
        .join(profile.dir())
        .join("sensor-ebpf");
    let out_dir = root.join("target").join("ebpf");
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let object = out_dir.join("sensor-ebpf.o");
    // Copied only when it changed, so the sensor (which embeds it) is not
    // rebuilt for nothing.
    let fresh = fs::read(&built).with_context(|| format!("cannot read {}", built.display()))?;
    if fs::read(&object).ok().as_deref() != Some(fresh.as_slice()) {
        fs::write(&object, &fresh).with_context(|| format!("cannot write {}", object.display()))?;
    }
    println!("xtask: eBPF object: {}", object.display());
    Ok(object)
}

/// The `cargo +nightly build` command for the eBPF crate in `crate_dir`.
fn nightly_cargo_build(crate_dir: &Path, target_dir: &Path, profile: Profile) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{NIGHTLY}"))
        .args(["build", "-Z", "build-std=core", "--target", BPF_TARGET])
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    for key in SCRUBBED_ENV {
        cmd.env_remove(key);
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", BPF_RUSTFLAGS.join("\x1f"));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llvm_major_is_read_from_rustc_output() {
        let out = "rustc 1.97.0-nightly\nhost: x86_64-unknown-linux-gnu\nLLVM version: 22.1.4\n";
        assert_eq!(parse_llvm_major(out), Some(22));
        assert_eq!(parse_llvm_major("rustc 1.80.0\n"), None);
    }

    #[test]
    fn libllvm_names() {
        assert!(is_libllvm_name(Some(OsStr::new(
            "libLLVM.so.22.1-rust-1.97.0-nightly"
        ))));
        assert!(!is_libllvm_name(Some(OsStr::new(
            "libLLVM-22-rust-1.97.0-nightly.so"
        ))));
        assert!(!is_libllvm_name(None));
    }

    #[test]
    fn arguments() {
        let args = |list: &[&str]| -> Vec<String> { list.iter().map(|s| s.to_string()).collect() };
        assert_eq!(parse_args(&args(&["setup"])).unwrap(), Task::Setup);
        assert_eq!(
            parse_args(&args(&["build-ebpf"])).unwrap(),
            Task::BuildEbpf(Profile::Release)
        );
        assert_eq!(
            parse_args(&args(&["build-ebpf", "--debug"])).unwrap(),
            Task::BuildEbpf(Profile::Debug)
        );
        assert!(parse_args(&args(&["build-ebpf", "--fast"])).is_err());
        assert_eq!(
            parse_args(&args(&["package"])).unwrap(),
            Task::Package { debug: false }
        );
        assert!(parse_args(&args(&["package", "--rpm"])).is_err());
    }
}
