//! A fixed pool of per-connection analyzer sessions, allocated at start-up
//! and reused (reset in place), so analysis allocates nothing per
//! connection. A connection holds its session's slot number.

/// A session that can be reused for a new connection.
pub trait Reset {
    /// Returns the session to its state for a new connection, keeping its
    /// buffers.
    fn reset(&mut self);
}

/// Sessions and the slots not in use.
pub struct SessionPool<T> {
    sessions: Vec<T>,
    free: Vec<u32>,
}

impl<T: Reset> SessionPool<T> {
    /// A pool of the given (preallocated) sessions, all free.
    pub fn from_sessions(sessions: Vec<T>) -> Self {
        let free = (0..sessions.len() as u32).rev().collect();
        SessionPool { sessions, free }
    }

    /// A session for a new connection, if one is free.
    pub fn acquire(&mut self) -> Option<u32> {
        let i = self.free.pop()?;
        self.sessions[i as usize].reset();
        Some(i)
    }

    /// Returns a session to the pool.
    pub fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// Whether [`SessionPool::acquire`] would give a session now.
    pub fn has_free(&self) -> bool {
        !self.free.is_empty()
    }

    /// Sessions in use now.
    pub fn in_use(&self) -> usize {
        self.sessions.len() - self.free.len()
    }

    /// Sessions in the pool.
    pub fn size(&self) -> usize {
        self.sessions.len()
    }

    /// The session `i`.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.sessions.get_mut(i as usize)
    }
}
