//! The sensor's userspace: everything between a captured frame and a Zeek log line.
pub mod capture;
pub mod decode;
