//! Flows: connection state keyed by the 5-tuple, and the bounded table
//! that holds it.
pub mod conn;
pub mod history;
pub mod index;
pub mod key;
pub mod owner;
pub mod table;
pub mod tcp;
pub mod timers;

/// A small deterministic generator (xorshift) for the flow tests.
#[cfg(test)]
pub(crate) struct TestRng(pub u64);

#[cfg(test)]
impl TestRng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
