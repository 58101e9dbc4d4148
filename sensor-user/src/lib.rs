//! The sensor's userspace: everything between a captured frame and a Zeek
//! log line.
//!
//! Data flows one way: [`capture`] yields frames, [`decode`] views them as
//! packets, [`flow`] finds each packet's connection and keeps conn.log
//! state, [`reassembly`] orders TCP payload, [`analyzers`] turn byte streams
//! into records, and [`logs`] writes those records as Zeek logs.

pub mod analyzers;
pub mod bytes;
pub mod calendar;
pub mod capture;
pub mod community_id;
pub mod config;
pub mod decode;
pub mod engine;
pub mod files;
pub mod flow;
pub mod huge_pages;
pub mod inline_str;
pub mod live;
pub mod logs;
pub mod metrics;
pub mod offline;
pub mod reassembly;
pub mod service;
pub mod sinks;
pub mod test_dir;
pub mod uid;
pub mod zeek_pattern;
