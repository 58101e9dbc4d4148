//! Arbitrary text as a `--zeek-script` file and as a `--config` options
//! file: splitting it, applying every `@load`, `redef` and `zeek_init`
//! statement to a configuration, and checking the result never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensor::config::{options_file_args, script_parts, Config};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parts = script_parts(&text);
    // The defaults compile patterns: built once, cloned for each input.
    static DEFAULT: OnceLock<Config> = OnceLock::new();
    let mut cfg = DEFAULT.get_or_init(Config::default).clone();
    for script in &parts.loads {
        let _ = cfg.apply_load(script);
    }
    for stmt in &parts.redefs {
        let _ = cfg.apply_redef(stmt);
    }
    for s in &parts.init {
        let _ = cfg.apply_init(s.priority, &s.text);
    }
    let _ = cfg.dpd.port_map();
    // A lone statement too, without the script's `redef ` filter.
    let _ = cfg.apply_redef(text.trim());
    if let Ok(args) = options_file_args(&text, "fuzz") {
        assert!(args.len() <= 2 * text.lines().count());
    }
});
