//! `cargo xtask test`: the whole test suite, in the order a failure is
//! cheapest to find. Every step must pass.
//!
//! 1. `setup` (idempotent): rust-src, cargo-fuzz, bpf-linker.
//! 2. Formatting (`cargo fmt --check`, also on the XDP program).
//! 3. The XDP program builds for the BPF target (the sensor embeds it).
//! 4. Lints (`cargo clippy -D warnings` on every crate and target).
//! 5. Unit and integration tests (`cargo test --workspace`): Zeek
//!    conformance, command line, allocation, garbage input, and live
//!    capture on a veth test bed in network namespaces (as root).
//! 6. Every fuzz target runs for `FUZZ_SECONDS` (default 20) seconds,
//!    replaying its kept seeds and regression inputs first (see
//!    [`crate::fuzz`]).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::fuzz::{run_target, TARGETS as FUZZ_TARGETS};
use crate::{build_ebpf, run_cmd, setup, step, workspace_root, Profile};

/// Runs the suite.
pub fn run() -> Result<()> {
    let root = workspace_root();
    setup()?;

    step("formatting");
    run_cmd(
        Command::new("cargo")
            .current_dir(&root)
            .args(["fmt", "--all", "--check"]),
        "run `cargo fmt --all`",
    )?;
    // Outside the workspace: the XDP program and the fuzz targets.
    let mut outside = vec!["sensor-ebpf/src/main.rs".to_string()];
    outside.extend(
        FUZZ_TARGETS
            .iter()
            .map(|t| format!("sensor-user/fuzz/fuzz_targets/{t}.rs")),
    );
    run_cmd(
        Command::new("rustfmt")
            .current_dir(&root)
            .args(["--edition", "2021", "--check"])
            .args(&outside),
        "run rustfmt on the files it names",
    )?;

    // First: the sensor embeds the XDP object, and the live tests use it.
    step("XDP program");
    build_ebpf(Profile::Release)?;

    step("lints");
    run_cmd(
        Command::new("cargo").current_dir(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "fix the warnings clippy printed",
    )?;

    step("unit and integration tests");
    run_cmd(
        Command::new("cargo")
            .current_dir(&root)
            .args(["test", "--workspace"]),
        "fix the failing tests",
    )?;

    let seconds: u64 = match std::env::var("FUZZ_SECONDS") {
        Ok(v) => v
            .parse()
            .context("FUZZ_SECONDS takes a number of seconds")?,
        Err(_) => 20,
    };
    let logs = root.join("target").join("fuzz-report").join("suite");
    for target in FUZZ_TARGETS {
        step(&format!("fuzz target {target} for {seconds} s"));
        let o = run_target(target, seconds, None, &logs.join(format!("{target}.log")))?;
        println!(
            "xtask: {target}: {} executions, cov {}, ft {}",
            o.execs, o.cov, o.ft
        );
        if let Some(f) = o.failure {
            bail!(
                "fuzz target {target}: {f} (input: {}; log: {}); reproduce with \
                 `cargo +nightly fuzz run {target} <file>`",
                o.artifact.as_deref().unwrap_or("none saved"),
                logs.join(format!("{target}.log")).display()
            );
        }
    }
    println!("xtask: the whole suite passed");
    Ok(())
}
