//! `cargo xtask fuzz [--minutes N] [--target NAME] [--runs N]`: runs every
//! fuzz target of `sensor-user/fuzz` in turn (or only `NAME`) for `N`
//! minutes each (default 5), or until `--runs` executions, and writes a
//! report to `target/fuzz-report/` (`report.md`, `report.json`, and each
//! target's libFuzzer output under `logs/`).
//!
//! Each target reads three corpus folders: `corpus/NAME` (what fuzzing
//! found, not kept in the repository), `seeds/NAME` (inputs cut from the
//! reference traces, kept) and `regressions/NAME` (inputs that once
//! crashed, kept, so every run replays them first). A run fails on a crash,
//! a hang (an input taking over [`TIMEOUT_S`] s) or a memory blow-up (over
//! [`RSS_LIMIT_MB`] MiB); the input is saved under `artifacts/NAME/`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{run_cmd, step, workspace_root, NIGHTLY};

/// Fuzz targets of `sensor-user/fuzz`.
pub const TARGETS: [&str; 11] = [
    "decode",
    "reassembly",
    "capture",
    "pipeline",
    "smtp",
    "tls",
    "mailbox",
    "x509",
    "config",
    "dispatch",
    "hashes",
];

/// An input slower than this (seconds) is a hang.
pub const TIMEOUT_S: u32 = 1;

/// A process larger than this (MiB) is a memory blow-up.
pub const RSS_LIMIT_MB: u32 = 256;

/// ASan keeps freed memory in quarantine to catch use after free; by
/// default up to 256 MiB, which would count against [`RSS_LIMIT_MB`] for
/// targets that allocate a few MiB per input. Kept small instead.
const ASAN_OPTIONS: &str = "quarantine_size_mb=32";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Minutes per target.
    pub minutes: u32,
    /// Only this target.
    pub target: Option<String>,
    /// Stop a target after this many executions.
    pub runs: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            minutes: 5,
            target: None,
            runs: None,
        }
    }
}

/// Parses the arguments after `cargo xtask fuzz`.
pub fn parse_options(args: &[&str]) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        let mut value = || {
            it.next()
                .copied()
                .with_context(|| format!("{a} needs a value"))
        };
        match a {
            "--minutes" => o.minutes = value()?.parse().context("--minutes takes a number")?,
            "--runs" => o.runs = Some(value()?.parse().context("--runs takes a number")?),
            "--target" => {
                let t = value()?;
                if !TARGETS.contains(&t) {
                    bail!("no fuzz target {t}; the targets are {TARGETS:?}");
                }
                o.target = Some(t.to_string());
            }
            _ => bail!("unknown fuzz option {a}"),
        }
    }
    Ok(o)
}

/// What one target's run reached.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Target name.
    pub target: String,
    /// Inputs executed.
    pub execs: u64,
    /// libFuzzer's `cov:` (code edges covered).
    pub cov: u64,
    /// libFuzzer's `ft:` (features).
    pub ft: u64,
    /// Inputs in the corpus at the end.
    pub corpus: u64,
    /// Peak resident memory (MiB).
    pub rss_mb: u64,
    /// Executions per second (libFuzzer's average).
    pub exec_per_sec: u64,
    /// Wall-clock seconds (with the build check).
    pub seconds: f64,
    /// What went wrong (`crash`, `timeout`, `out-of-memory`, `leak`...),
    /// none when the run was clean.
    pub failure: Option<String>,
    /// The input saved for the failure.
    pub artifact: Option<String>,
}

/// The number after `key` in `line` (`cov: 123`).
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Reads libFuzzer's output: the last status line, the final statistics
/// (`-print_final_stats=1`) and any failure.
pub fn parse_output(target: &str, text: &str, seconds: f64) -> Outcome {
    let mut o = Outcome {
        target: target.to_string(),
        seconds,
        ..Outcome::default()
    };
    for line in text.lines() {
        if line.starts_with('#') && line.contains("cov: ") {
            o.execs = number_after(line, "#").unwrap_or(o.execs);
            o.cov = number_after(line, "cov:").unwrap_or(o.cov);
            o.ft = number_after(line, "ft:").unwrap_or(o.ft);
            o.corpus = number_after(line, "corp:").unwrap_or(o.corpus);
            o.rss_mb = number_after(line, "rss:").unwrap_or(o.rss_mb);
        } else if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            o.execs = v.trim().parse().unwrap_or(o.execs);
        } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
            o.exec_per_sec = v.trim().parse().unwrap_or(o.exec_per_sec);
        } else if let Some(v) = line.strip_prefix("stat::peak_rss_mb:") {
            o.rss_mb = v.trim().parse().unwrap_or(o.rss_mb);
        } else if let Some(what) = line.split("ERROR: libFuzzer: ").nth(1) {
            let what = what.split_whitespace().next().unwrap_or("crash");
            o.failure.get_or_insert_with(|| what.to_string());
        } else if line.contains("panicked at") || line.contains("ERROR: AddressSanitizer") {
            o.failure.get_or_insert_with(|| "crash".to_string());
        } else if let Some(file) = line.split("Test unit written to ").nth(1) {
            o.artifact = Some(file.trim().to_string());
        }
    }
    o
}

/// Runs one target for `seconds` (or `runs` executions) and reports what
/// it reached; its output goes to `log`.
pub fn run_target(target: &str, seconds: u64, runs: Option<u64>, log: &Path) -> Result<Outcome> {
    let fuzz = workspace_root().join("sensor-user").join("fuzz");
    let dirs: Vec<PathBuf> = ["corpus", "seeds", "regressions"]
        .iter()
        .map(|d| fuzz.join(d).join(target))
        .collect();
    for d in dirs.iter().chain([&fuzz.join("artifacts").join(target)]) {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent)?;
    }
    let out = fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "10", "cargo", &format!("+{NIGHTLY}"), "fuzz", "run"])
        .args(["-O", target])
        .args(&dirs)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={TIMEOUT_S}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .current_dir(fuzz.parent().unwrap_or(&fuzz))
        .env("ASAN_OPTIONS", ASAN_OPTIONS)
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(n) = runs {
        cmd.arg(format!("-runs={n}"));
    }
    println!("xtask: $ {} (output: {})", crate::show(&cmd), log.display());
    let start = Instant::now();
    let status = cmd.status().context("cannot run cargo fuzz")?;
    let seconds = start.elapsed().as_secs_f64();
    let text = fs::read_to_string(log).unwrap_or_default();
    let mut o = parse_output(target, &text, seconds);
    if !status.success() && o.failure.is_none() {
        o.failure = Some(format!("exit status {status}"));
    }
    Ok(o)
}

/// The report as markdown.
pub fn markdown(outcomes: &[Outcome], opts: &Options) -> String {
    let mut s = String::from("# Fuzzing report\n\n");
    let _ = writeln!(
        s,
        "{} minute(s) per target{}; hang limit {TIMEOUT_S} s per input, memory limit \
         {RSS_LIMIT_MB} MiB.\n",
        opts.minutes,
        opts.runs
            .map(|n| format!(" or {n} executions"))
            .unwrap_or_default()
    );
    s.push_str(
        "| target | executions | exec/s | cov | ft | corpus | peak RSS MiB | seconds | result |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for o in outcomes {
        let result = match (&o.failure, &o.artifact) {
            (None, _) => "clean".to_string(),
            (Some(f), Some(a)) => format!("{f}: {a}"),
            (Some(f), None) => f.clone(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {result} |",
            o.target, o.execs, o.exec_per_sec, o.cov, o.ft, o.corpus, o.rss_mb, o.seconds
        );
    }
    s
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The report as JSON (an array, one object per target).
pub fn json(outcomes: &[Outcome]) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("null".to_string(), json_str);
    let rows: Vec<String> = outcomes
        .iter()
        .map(|o| {
            format!(
                "  {{\"target\": {}, \"executions\": {}, \"cov\": {}, \"ft\": {}, \"corpus\": {}, \
                 \"exec_per_sec\": {}, \"peak_rss_mb\": {}, \"seconds\": {:.1}, \"failure\": {}, \"artifact\": {}}}",
                json_str(&o.target),
                o.execs,
                o.cov,
                o.ft,
                o.corpus,
                o.exec_per_sec,
                o.rss_mb,
                o.seconds,
                opt(&o.failure),
                opt(&o.artifact)
            )
        })
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}

/// `cargo xtask fuzz`.
pub fn run(opts: &Options) -> Result<()> {
    let root = workspace_root();
    step("build the fuzz targets");
    run_cmd(
        Command::new("nice")
            .args([
                "-n",
                "10",
                "cargo",
                &format!("+{NIGHTLY}"),
                "fuzz",
                "build",
                "-O",
            ])
            .current_dir(root.join("sensor-user"))
            .stdout(Stdio::inherit()),
        "run `cargo xtask setup` (cargo-fuzz, nightly) and fix the build",
    )?;
    let report = root.join("target").join("fuzz-report");
    let targets: Vec<&str> = match &opts.target {
        Some(t) => vec![t.as_str()],
        None => TARGETS.to_vec(),
    };
    let mut outcomes = Vec::new();
    for t in targets {
        step(&format!("fuzz {t} for {} minute(s)", opts.minutes));
        let log = report.join("logs").join(format!("{t}.log"));
        let o = run_target(t, u64::from(opts.minutes) * 60, opts.runs, &log)?;
        println!(
            "xtask: {t}: {} executions, cov {}, ft {}, {}",
            o.execs,
            o.cov,
            o.ft,
            o.failure.as_deref().unwrap_or("clean")
        );
        outcomes.push(o);
        // Written after every target, so an interrupted run keeps a report.
        fs::write(report.join("report.md"), markdown(&outcomes, opts))?;
        fs::write(report.join("report.json"), json(&outcomes))?;
    }
    println!("xtask: report: {}", report.join("report.md").display());
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.failure.is_some())
        .map(|o| o.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {failed:?}; the inputs are under sensor-user/fuzz/artifacts \
             (reproduce with `cargo +nightly fuzz run <target> <file>`)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let o = parse_options(&["--minutes", "2", "--target", "tls", "--runs", "1000"]).unwrap();
        assert_eq!(
            o,
            Options {
                minutes: 2,
                target: Some("tls".into()),
                runs: Some(1000)
            }
        );
        assert!(parse_options(&["--target", "nope"]).is_err());
        assert!(parse_options(&["--minutes"]).is_err());
        assert!(parse_options(&["--fast"]).is_err());
    }

    #[test]
    fn libfuzzer_output() {
        let text = "INFO: Seed: 1\n\
            #2\tINITED cov: 10 ft: 12 corp: 1/1b exec/s: 0 rss: 40Mb\n\
            #4096\tpulse  cov: 150 ft: 219 corp: 5/15b lim: 4 exec/s: 2048 rss: 61Mb\n\
            ==1== ERROR: libFuzzer: out-of-memory (used: 284Mb; limit: 256Mb)\n\
            artifact_prefix='./'; Test unit written to ./oom-63fd\n\
            stat::number_of_executed_units: 4100\n\
            stat::average_exec_per_sec:     2050\n\
            stat::peak_rss_mb:              284\n";
        let o = parse_output("x", text, 2.0);
        assert_eq!(
            (o.execs, o.cov, o.ft, o.corpus, o.rss_mb),
            (4100, 150, 219, 5, 284)
        );
        assert_eq!(o.failure.as_deref(), Some("out-of-memory"));
        assert_eq!(o.artifact.as_deref(), Some("./oom-63fd"));
        let md = markdown(std::slice::from_ref(&o), &Options::default());
        assert!(md
            .contains("| x | 4100 | 2050 | 150 | 219 | 5 | 284 | 2 | out-of-memory: ./oom-63fd |"));
        assert!(json(&[o]).contains("\"failure\": \"out-of-memory\", \"artifact\": \"./oom-63fd\""));
        let clean = parse_output("y", "#10\tDONE   cov: 3 ft: 4 corp: 2/2b rss: 30Mb\n", 1.0);
        assert_eq!(clean.failure, None);
        assert_eq!(clean.execs, 10);
    }
}
