//! The door of every local server (the credential endpoint, the console handoff, the agent
//! socket): another local user must not be able to stall it.
//!
//! - A bound on open connections, below the process's file limit, so `accept` never meets
//!   the limit because of connections we chose to keep.
//! - When the bound is reached, the connection that has waited longest **without a request
//!   in progress** is closed to make room: idle or byte-at-a-time connections cannot crowd out
//!   a real request, which arrives and is served at once.
//! - A failing `accept` (the file limit reached anyway) pauses before the next try instead of
//!   spinning the CPU.
//!
//! The timeouts on reading a request live with each protocol (HTTP header read, the agent's
//! request line); this module only decides who may hold a connection.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::lock;
use tokio_util::sync::CancellationToken;

/// How long to wait after a failed `accept` before the next one.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// How long a client may take to send a whole request head (HTTP) or request line (agent).
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Entry {
    cancel: CancellationToken,
    busy: Arc<AtomicUsize>,
}

/// The open connections of one server.
#[derive(Debug)]
pub struct Gate {
    max: usize,
    next: AtomicUsize,
    open: Mutex<BTreeMap<usize, Entry>>,
}

/// The bound for a server: at most `wanted`, and at most a quarter of the file limit (the
/// rest is for the process's own files, sockets and the other servers).
pub fn bound(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let quarter = usize::try_from(limit / 4).unwrap_or(usize::MAX);
        wanted.min(quarter).max(4)
    }
    #[cfg(not(unix))]
    wanted
}

impl Gate {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            next: AtomicUsize::new(0),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    /// Lets a new connection in, closing the oldest idle one if the bound is reached. `None`
    /// when every open connection is busy with a request (the new one is then dropped).
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut open = lock(&self.open);
        if open.len() >= self.max {
            let oldest_idle = open
                .iter()
                .find(|(_, e)| e.busy.load(Ordering::SeqCst) == 0)
                .map(|(id, _)| *id);
            match oldest_idle {
                Some(id) => {
                    if let Some(e) = open.remove(&id) {
                        e.cancel.cancel();
                    }
                }
                None => return None,
            }
        }
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let cancel = CancellationToken::new();
        let busy = Arc::new(AtomicUsize::new(0));
        open.insert(
            id,
            Entry {
                cancel: cancel.clone(),
                busy: busy.clone(),
            },
        );
        Some(Ticket {
            gate: self.clone(),
            id,
            cancel,
            busy,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.open).len()
    }
}

/// One admitted connection. Dropping it frees its place.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    id: usize,
    cancel: CancellationToken,
    busy: Arc<AtomicUsize>,
}

impl Ticket {
    /// Resolves when the gate closed this connection to make room.
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Marks a request in progress until the returned guard is dropped: the connection is not
    /// closed to make room meanwhile.
    pub fn working(&self) -> Working {
        Working::new(self.busy.clone())
    }

    /// The counter [`Ticket::working`] uses, for code that marks work from elsewhere (a
    /// service that outlives this borrow).
    pub fn busy_counter(&self) -> Arc<AtomicUsize> {
        self.busy.clone()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.gate.open).remove(&self.id);
    }
}

/// A request in progress on a connection.
#[derive(Debug)]
pub struct Working(Arc<AtomicUsize>);

impl Working {
    pub fn new(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_idle_connection_makes_room_and_busy_ones_stay() {
        let gate = Gate::new(3);
        let a = gate.admit().expect("a");
        let b = gate.admit().expect("b");
        let c = gate.admit().expect("c");
        let _a_busy = a.working();
        let d = gate.admit().expect("room made");
        assert!(
            b.cancel.is_cancelled(),
            "b, the oldest idle one, was closed"
        );
        assert!(!a.cancel.is_cancelled() && !c.cancel.is_cancelled());
        assert_eq!(gate.open(), 3);
        let _c_busy = c.working();
        let _d_busy = d.working();
        assert!(
            gate.admit().is_none(),
            "every connection busy: the new one waits its turn"
        );
        drop(b);
        assert_eq!(gate.open(), 3, "a closed ticket's place was already given");
        drop(d);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit().is_some());
    }

    #[test]
    fn the_bound_stays_under_the_file_limit() {
        assert!(bound(1_000_000) < 1_000_000);
        assert_eq!(bound(8), 8.min(bound(1_000_000)));
    }
}
