//! One piece of work per key at a time, however many ask: the first caller runs it, the
//! others wait for its result. Used by sign-in (one sign-in per session), the sweeps and the
//! vault (one fetch per role). A key's entry lives only while its work runs: the map never
//! grows with the keys ever used.
//!
//! [`SingleFlight::run`] runs the work in its first caller: if that caller goes away, the work
//! is dropped and the others are told so ([`Abandoned`]). [`SingleFlight::run_shared`] runs it
//! as a task of its own instead, so a fetch that others wait on finishes even when the caller
//! that started it gives up (an SDK that stops waiting after 2 s must not fail every other
//! client of that role).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

type Flights<K, V> = Arc<Mutex<HashMap<K, Flight<V>>>>;

#[derive(Debug)]
pub struct SingleFlight<K, V> {
    flights: Flights<K, V>,
    next: AtomicU64,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            flights: Arc::new(Mutex::new(HashMap::new())),
            next: AtomicU64::new(0),
        }
    }
}

/// Removes the leader's entry however its work ends (done, or dropped).
struct Landing<K: Hash + Eq, V> {
    flights: Flights<K, V>,
    key: K,
    id: u64,
}

impl<K: Hash + Eq, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        let mut flights = lock(&self.flights);
        if flights.get(&self.key).is_some_and(|f| f.id == self.id) {
            flights.remove(&self.key);
        }
    }
}

/// What a caller of a key is: the one that starts its work, or one that waits for it.
enum Role<V> {
    Leader(watch::Sender<Option<V>>, CancellationToken, u64),
    Waiter,
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    /// Runs `work` for `key`, or waits for the run already under way. `work` gets a token that
    /// [`SingleFlight::cancel`] cancels.
    pub async fn run<F, Fut>(&self, key: &K, work: F) -> Result<V, Abandoned>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = V>,
    {
        let (rx, role) = self.join(key);
        if let Role::Leader(tx, cancel, id) = role {
            let _landing = Landing {
                flights: self.flights.clone(),
                key: key.clone(),
                id,
            };
            let value = work(cancel).await;
            tx.send_replace(Some(value.clone()));
            return Ok(value);
        }
        wait(rx).await
    }

    /// Like [`SingleFlight::run`], but the work runs as a task of its own: it goes on when its
    /// first caller (or any caller) goes away, and every caller still waiting gets its value.
    /// Only [`SingleFlight::cancel`] stops it early.
    pub async fn run_shared<F, Fut>(&self, key: &K, work: F) -> Result<V, Abandoned>
    where
        K: Send + 'static,
        V: Send + Sync + 'static,
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let (rx, role) = self.join(key);
        if let Role::Leader(tx, cancel, id) = role {
            let landing = Landing {
                flights: self.flights.clone(),
                key: key.clone(),
                id,
            };
            let task = work(cancel);
            tokio::spawn(async move {
                let _landing = landing;
                let value = task.await;
                tx.send_replace(Some(value));
            });
        }
        wait(rx).await
    }

    /// The receiver of `key`'s result, and whether this caller starts the work.
    fn join(&self, key: &K) -> (watch::Receiver<Option<V>>, Role<V>) {
        let mut flights = lock(&self.flights);
        match flights.get(key) {
            Some(f) => (f.done.clone(), Role::Waiter),
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
                (rx, Role::Leader(tx, cancel, id))
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

/// Waits for the value the work of a key sends, or learns that the work was dropped.
async fn wait<V: Clone>(mut rx: watch::Receiver<Option<V>>) -> Result<V, Abandoned> {
    loop {
        if let Some(value) = rx.borrow_and_update().clone() {
            return Ok(value);
        }
        if rx.changed().await.is_err() {
            return rx.borrow().clone().ok_or(Abandoned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// A portal fault made a fetch slow; boto3 gave up on its request after 2 s, and the fetch
    /// it had started was dropped with it, failing every other client waiting on that role.
    /// A shared run goes on without its first caller: the others get the value, and it ran once.
    #[tokio::test]
    async fn a_fetch_others_wait_on_finishes_when_its_first_caller_goes_away() {
        let flights: Arc<SingleFlight<u8, u8>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let start = |flights: Arc<SingleFlight<u8, u8>>| {
            let (runs, released) = (runs.clone(), released.clone());
            tokio::spawn(async move {
                flights
                    .run_shared(&1, move |_| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let rx = lock(&released).take();
                        async move {
                            if let Some(rx) = rx {
                                let _ = rx.await;
                            }
                            9
                        }
                    })
                    .await
            })
        };
        let first = start(flights.clone());
        tokio::task::yield_now().await;
        let others: Vec<_> = (0..3).map(|_| start(flights.clone())).collect();
        tokio::task::yield_now().await;
        first.abort();
        let _ = first.await;
        let _ = release.send(());
        for other in others {
            assert_eq!(
                other.await.expect("joined"),
                Ok(9),
                "a waiter got the value"
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one fetch for every caller");
        assert_eq!(flights.in_flight(), 0, "the key's entry is gone");
    }

    /// With nobody waiting any more, the work still finishes (and is not run again).
    #[tokio::test]
    async fn a_shared_run_finishes_with_no_caller_left() {
        let flights: Arc<SingleFlight<u8, u8>> = Arc::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let f = flights.clone();
        let caller = tokio::spawn(async move {
            f.run_shared(&1, move |_| async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let _ = done_tx.send(());
                1
            })
            .await
        });
        tokio::task::yield_now().await;
        caller.abort();
        done_rx.await.expect("the work finished on its own");
    }
}
