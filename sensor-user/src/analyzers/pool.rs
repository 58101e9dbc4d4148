//! A bounded pool of per-connection analyzer sessions, created on demand
//! up to the bound and reused (reset in place): memory follows the
//! concurrency the traffic actually has, and once a slot exists analysis
//! allocates nothing for the connections that reuse it. A connection
//! holds its session's slot number.

/// A session that can be reused for a new connection.
pub trait Reset {
    /// Returns the session to its state for a new connection, keeping its
    /// buffers.
    fn reset(&mut self);
}

/// Sessions created so far, the ones not in use, and how to make more.
pub struct SessionPool<T> {
    sessions: Vec<T>,
    free: Vec<u32>,
    limit: usize,
    make: Box<dyn Fn() -> T>,
}

impl<T: Reset> SessionPool<T> {
    /// A pool of at most `limit` sessions, each made by `make` when the
    /// pool first needs it (the slot table is reserved at once: address
    /// space, no memory until used).
    pub fn on_demand(limit: usize, make: impl Fn() -> T + 'static) -> Self {
        let sessions = Vec::with_capacity(limit);
        crate::huge_pages::advise(&sessions);
        SessionPool {
            sessions,
            free: Vec::with_capacity(limit),
            limit,
            make: Box::new(make),
        }
    }

    /// The bytes [`SessionPool::on_demand`] reserves for `limit`
    /// sessions, allocation by allocation.
    pub fn reservations(limit: usize) -> [usize; 2] {
        [
            limit.saturating_mul(std::mem::size_of::<T>()),
            limit.saturating_mul(std::mem::size_of::<u32>()),
        ]
    }

    /// A session for a new connection, if the pool is not at its bound
    /// with every session in use.
    pub fn acquire(&mut self) -> Option<u32> {
        if let Some(i) = self.free.pop() {
            self.sessions[i as usize].reset();
            return Some(i);
        }
        if self.sessions.len() >= self.limit {
            return None;
        }
        self.sessions.push((self.make)());
        Some(self.sessions.len() as u32 - 1)
    }

    /// Returns a session to the pool.
    pub fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// Whether [`SessionPool::acquire`] would give a session now.
    pub fn has_free(&self) -> bool {
        !self.free.is_empty() || self.sessions.len() < self.limit
    }

    /// Sessions in use now.
    pub fn in_use(&self) -> usize {
        self.sessions.len() - self.free.len()
    }

    /// The pool's bound.
    pub fn size(&self) -> usize {
        self.limit
    }

    /// Sessions created so far (the most ever in use at once).
    pub fn created(&self) -> usize {
        self.sessions.len()
    }

    /// The session `i`.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.sessions.get_mut(i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct S(u32);

    impl Reset for S {
        fn reset(&mut self) {
            self.0 = 0;
        }
    }

    #[test]
    fn sessions_are_made_on_demand_up_to_the_bound_and_reused() {
        let mut p = SessionPool::on_demand(2, || S(7));
        assert_eq!((p.created(), p.size(), p.has_free()), (0, 2, true));
        let a = p.acquire().unwrap();
        assert_eq!(p.get_mut(a).unwrap().0, 7, "a new session is not reset");
        let b = p.acquire().unwrap();
        assert_eq!((p.acquire(), p.has_free(), p.in_use()), (None, false, 2));
        p.get_mut(b).unwrap().0 = 5;
        p.release(b);
        assert_eq!(p.acquire(), Some(b));
        assert_eq!(p.get_mut(b).unwrap().0, 0, "a reused session is reset");
        assert_eq!(p.created(), 2);
    }
}
