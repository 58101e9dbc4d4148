//! Traffic generation and benchmarks of the sensor.
pub mod synth;
