//! Traffic generation and benchmarks of the sensor.
pub mod certs;
pub mod gen;
pub mod mail;
pub mod replay;
pub mod pcapw;
pub mod report;
pub mod stages;
pub mod synth;
pub mod testbed;
pub mod tls;
