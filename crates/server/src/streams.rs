//! Caps on live event streams: a global number and a number per user, so one account (or a
//! script with one stolen session) cannot hold thousands of connections and receivers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open streams, in all and per user.
#[derive(Debug)]
pub struct StreamLimits {
    max_total: usize,
    max_per_user: usize,
    open: Mutex<(usize, HashMap<i64, usize>)>,
}

/// Held while a stream is open; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    limits: Arc<StreamLimits>,
    user_id: i64,
}

impl StreamLimits {
    pub fn new(max_total: usize, max_per_user: usize) -> Arc<Self> {
        Arc::new(Self { max_total: max_total.max(1), max_per_user: max_per_user.max(1), open: Mutex::new((0, HashMap::new())) })
    }

    /// A slot for `user_id`, or None when the user or the server is at its limit.
    pub fn acquire(self: &Arc<Self>, user_id: i64) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mine = open.1.get(&user_id).copied().unwrap_or(0);
        if open.0 >= self.max_total || mine >= self.max_per_user {
            return None;
        }
        open.0 += 1;
        open.1.insert(user_id, mine + 1);
        Some(StreamSlot { limits: self.clone(), user_id })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_total_caps_and_slots_are_freed_on_drop() {
        let limits = StreamLimits::new(3, 2);
        let a1 = limits.acquire(1);
        let a2 = limits.acquire(1);
        assert!(a1.is_some() && a2.is_some());
        assert!(limits.acquire(1).is_none(), "per-user cap");
        let b1 = limits.acquire(2);
        assert!(b1.is_some());
        assert!(limits.acquire(3).is_none(), "total cap");
        drop(a1);
        assert!(limits.acquire(1).is_some(), "a closed stream frees its slot");
        drop(b1);
        drop(a2);
        assert_eq!(limits.open.lock().unwrap_or_else(|p| p.into_inner()).0, 0);
    }
}
