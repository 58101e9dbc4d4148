//! Running as a service: giving up privileges once capture is set up
//! ([`privilege`]) and the system-call allow-list that follows
//! ([`seccomp`]).

pub mod privilege;
pub mod seccomp;
