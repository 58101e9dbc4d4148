//! After the writer: the sinks of encoded records.
//!
//! The log writer encodes every record once and hands the encoded line,
//! with its log's name, to each sink. Sinks know nothing about analyzers
//! or record types:
//!
//! - [`files`]: one file per log in the log directory, rotated by time,
//!   size or SIGHUP into dated archive folders, compressed and pruned on a
//!   background thread.
//! - [`output`]: streaming outputs (syslog over TCP, TLS or UDP, Kafka,
//!   Redis), each on its own thread behind a bounded memory queue backed by
//!   a disk spool, so a destination that is down or slow never stalls the
//!   writer and loses nothing until the spool is full.

pub mod files;
pub mod output;
pub mod units;

use files::FileOptions;
use output::{Output, OutputOptions, OutputSpec};

/// Where logs go, as the command line says: files (or not), and outputs.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// The files sink's options; `None` with `--no-files`.
    pub files: Option<FileOptions>,
    /// The outputs, in `--output` order.
    pub outputs: Vec<OutputSpec>,
    /// Queue, spool and naming settings of the outputs.
    pub output: OutputOptions,
}

impl SinkOptions {
    /// Log files only, never rotated: what `sensor read` does by default.
    pub fn files_only() -> SinkOptions {
        SinkOptions {
            files: Some(FileOptions::default()),
            outputs: Vec::new(),
            output: OutputOptions {
                mem_limit: 32 << 20,
                spool_dir: None,
                spool_max: 0,
                flush_timeout: std::time::Duration::from_secs(10),
                ca: None,
                system_name: output::host_name(),
            },
        }
    }

    /// Starts every output (each sends what its spool holds first).
    pub fn start_outputs(&self) -> Result<Vec<Output>, String> {
        self.outputs
            .iter()
            .map(|spec| Output::start(spec, &self.output))
            .collect()
    }
}

/// Which log a line belongs to: its slot (a small index, stable for the
/// run) and its name (`conn`, `smtp`, ...: the file name without `.log`,
/// and `_path` of streamed records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogName {
    /// A small index, distinct for each log.
    pub slot: usize,
    /// The log's name.
    pub name: &'static str,
}
