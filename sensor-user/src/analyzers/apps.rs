//! The worker's store of per-connection application-layer state
//! ([`AppState`]): a TCP connection takes one when its first payload
//! arrives and gives it back when it is removed, so connections that never
//! carry payload (half-open, scans, floods) cost only their flow entry.

use super::dpd::AppState;

/// Application-layer states made so far and the ones not in use. At most
/// one per tracked connection, so the flow table's bound is its bound;
/// states are made as the traffic needs them and reused without
/// allocation.
pub struct AppStore {
    states: Vec<AppState>,
    free: Vec<u32>,
}

impl AppStore {
    /// A store for at most `capacity` connections (address space is
    /// reserved now, memory is used as states are made).
    pub fn new(capacity: usize) -> Self {
        let states = Vec::with_capacity(capacity);
        crate::huge_pages::advise(&states);
        AppStore {
            states,
            free: Vec::with_capacity(capacity),
        }
    }

    /// The bytes [`AppStore::new`] reserves, allocation by allocation.
    pub fn reservations(capacity: usize) -> [usize; 2] {
        [
            capacity.saturating_mul(std::mem::size_of::<AppState>()),
            capacity.saturating_mul(std::mem::size_of::<u32>()),
        ]
    }

    /// Stores `state` and returns its slot.
    pub fn insert(&mut self, state: AppState) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.states[i as usize] = state;
                i
            }
            None => {
                self.states.push(state);
                self.states.len() as u32 - 1
            }
        }
    }

    /// The state in `slot`, made by `make` and stored there first if the
    /// connection has none yet.
    pub fn attach(
        &mut self,
        slot: &mut Option<u32>,
        make: impl FnOnce() -> AppState,
    ) -> &mut AppState {
        let i = match *slot {
            Some(i) if (i as usize) < self.states.len() => i,
            _ => {
                let i = self.insert(make());
                *slot = Some(i);
                i
            }
        };
        &mut self.states[i as usize]
    }

    /// The state in slot `i`.
    pub fn get_mut(&mut self, i: u32) -> Option<&mut AppState> {
        self.states.get_mut(i as usize)
    }

    /// Gives slot `i` back.
    pub fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// States in use now.
    pub fn in_use(&self) -> usize {
        self.states.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused() {
        let mut store = AppStore::new(4);
        let a = store.insert(AppState::default());
        let b = store.insert(AppState::default());
        assert_ne!(a, b);
        store.release(a);
        assert_eq!(store.in_use(), 1);
        assert_eq!(store.insert(AppState::default()), a);
        assert_eq!(store.in_use(), 2);
        assert!(store.get_mut(b).is_some());
        let mut slot = None;
        store.attach(&mut slot, AppState::default);
        assert_eq!(slot, Some(2));
        store.attach(&mut slot, || unreachable!("already attached"));
        assert_eq!(store.in_use(), 3);
    }
}
