//! Traffic generation and benchmarks of the sensor.
pub mod attack;
pub mod certs;
pub mod child;
pub mod gen;
pub mod mail;
pub mod pcapw;
pub mod replay;
pub mod report;
pub mod servers;
pub mod soak;
pub mod stages;
pub mod synth;
pub mod testbed;
pub mod tls;
