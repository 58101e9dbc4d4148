//! Flows: connection state keyed by the 5-tuple, and the bounded table
//! that holds it.
pub mod conn;
pub mod history;
pub mod key;
pub mod owner;
pub mod table;
pub mod tcp;
pub mod timers;
