//! Traffic generation and benchmarks of the sensor.
pub mod mail;
pub mod synth;
pub mod tls;
