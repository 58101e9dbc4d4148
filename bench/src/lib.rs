//! Traffic generation and benchmarks of the sensor.
pub mod mail;
pub mod replay;
pub mod synth;
pub mod testbed;
pub mod tls;
