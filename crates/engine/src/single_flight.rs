//! One piece of work per key at a time, however many ask: the first caller runs it, the
//! others wait for its result. Used by sign-in (one sign-in per session) and the vault (one
//! fetch per role). A key's entry lives only while its work runs: the map never grows with
//! the keys ever used.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::sync::lock;

#[derive(Debug)]
struct Flight<V> {
    id: u64,
    done: watch::Receiver<Option<V>>,
    cancel: CancellationToken,
}

/// The work of a key was dropped before it finished (its caller went away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned;

#[derive(Debug)]
pub struct SingleFlight<K, V> {
    flights: Mutex<HashMap<K, Flight<V>>>,
    next: AtomicU64,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }
}

/// Removes the leader's entry however its work ends (done, or dropped).
struct Landing<'a, K: Hash + Eq, V> {
    flights: &'a Mutex<HashMap<K, Flight<V>>>,
    key: &'a K,
    id: u64,
}

impl<K: Hash + Eq, V> Drop for Landing<'_, K, V> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        if flights.get(self.key).is_some_and(|f| f.id == self.id) {
            flights.remove(self.key);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    /// Runs `work` for `key`, or waits for the run already under way. `work` gets a token that
    /// [`SingleFlight::cancel`] cancels.
    pub async fn run<F, Fut>(&self, key: &K, work: F) -> Result<V, Abandoned>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = V>,
    {
        let (mut rx, leader) = {
            let mut flights = lock(&self.flights);
            match flights.get(key) {
                Some(f) => (f.done.clone(), None),
                None => {
                    let (tx, rx) = watch::channel(None);
                    let cancel = CancellationToken::new();
                    let id = self.next.fetch_add(1, Ordering::Relaxed);
                    flights.insert(
                        key.clone(),
                        Flight {
                            id,
                            done: rx.clone(),
                            cancel: cancel.clone(),
                        },
                    );
                    (rx, Some((tx, cancel, id)))
                }
            }
        };
        if let Some((tx, cancel, id)) = leader {
            let _landing = Landing {
                flights: &self.flights,
                key,
                id,
            };
            let value = work(cancel).await;
            tx.send_replace(Some(value.clone()));
            return Ok(value);
        }
        loop {
            if let Some(value) = rx.borrow_and_update().clone() {
                return Ok(value);
            }
            if rx.changed().await.is_err() {
                return rx.borrow().clone().ok_or(Abandoned);
            }
        }
    }

    /// Cancels the work under way for `key`, if any.
    pub fn cancel(&self, key: &K) {
        if let Some(f) = lock(&self.flights).get(key) {
            f.cancel.cancel();
        }
    }

    /// Keys with work under way.
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn one_run_per_key_and_nothing_left_behind() {
        let flights: Arc<SingleFlight<String, u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
        let mut waiters = Vec::new();
        for _ in 0..5 {
            let (flights, runs, released) = (flights.clone(), runs.clone(), released.clone());
            waiters.push(tokio::spawn(async move {
                flights
                    .run(&"k".to_owned(), |_| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if let Some(rx) = released.lock().await.take() {
                            let _ = rx.await;
                        }
                        7
                    })
                    .await
            }));
        }
        tokio::task::yield_now().await;
        let _ = release.send(());
        for w in waiters {
            assert_eq!(w.await.expect("joined"), Ok(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "ran once for five callers");
        assert_eq!(flights.in_flight(), 0, "the key's entry is gone");
        for i in 0..100 {
            flights
                .run(&i.to_string(), |_| async { 1 })
                .await
                .expect("ran");
        }
        assert_eq!(
            flights.in_flight(),
            0,
            "the map does not grow with keys used"
        );
    }

    #[tokio::test]
    async fn a_dropped_leader_abandons_its_waiters_and_frees_the_key() {
        let flights: Arc<SingleFlight<u8, u8>> = Arc::default();
        let f = flights.clone();
        let leader = tokio::spawn(async move { f.run(&1, |_| std::future::pending::<u8>()).await });
        tokio::task::yield_now().await;
        let f = flights.clone();
        let waiter = tokio::spawn(async move { f.run(&1, |_| async { 2 }).await });
        tokio::task::yield_now().await;
        leader.abort();
        assert_eq!(waiter.await.expect("joined"), Err(Abandoned));
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(flights.run(&1, |_| async { 3 }).await, Ok(3));
    }
}
