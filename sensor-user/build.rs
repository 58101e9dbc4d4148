//! Embeds the XDP program built by `cargo xtask build-ebpf` (or the object
//! named by `SENSOR_EBPF_OBJECT`) into the sensor binary. Without it the
//! sensor still builds and reads captures; `sensor run` then says how to get
//! the program.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=SENSOR_EBPF_OBJECT");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let object = std::env::var_os("SENSOR_EBPF_OBJECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target/ebpf/sensor-ebpf.o"));
    println!("cargo:rerun-if-changed={}", object.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("sensor-ebpf.o");
    let bytes = std::fs::read(&object).unwrap_or_default();
    if let Err(e) = std::fs::write(&out, bytes) {
        panic!("cannot write {}: {e}", out.display());
    }
}
