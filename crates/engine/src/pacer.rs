//! Turns at the access portal's throttle, shared by every request Rolecall makes to it for a
//! session.
//!
//! The portal refuses requests past its rate (about 20 a second) with 429. A sweep runs at
//! that rate, so anything else sent to the portal meanwhile (the person's own request for a
//! role's credentials) would be refused, and fail after a few tries. So while a sweep runs,
//! every portal request of its session waits for a turn at one [`Pacer`], the most urgent
//! first: the person's credentials ([`Priority::Now`]), then the roles of the accounts the
//! person uses, then the sweep's account pages (so the total is known early), then the rest.
//! Pages take at most two turns in three while other listings wait, so the first accounts
//! come in while the pages are read. With no sweep running, a request goes at once.

use std::collections::{BinaryHeap, HashMap};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::sync::lock;

/// The order in which waiting requests get their turn (most urgent first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// A request the person is waiting for (a role's credentials).
    Now = 0,
    /// The roles of an account the person uses (favourites, recent roles): a few.
    First = 1,
    /// A sweep's page of accounts (the total is known early).
    Page = 2,
    /// The roles of any other account.
    Rest = 3,
}

/// Pages in a row before a waiting listing gets a turn.
const PAGES_IN_A_ROW: u32 = 2;

/// A waiting request: most urgent first, then longest waiting.
type Waiting = (std::cmp::Reverse<Priority>, std::cmp::Reverse<u64>, Slot);

/// A waiting request's turn (ordered by the heap's other fields only).
struct Slot(tokio::sync::oneshot::Sender<()>);

impl PartialEq for Slot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Slot {}
impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Slot {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

struct Queue {
    waiting: Mutex<BinaryHeap<Waiting>>,
    seq: AtomicU64,
    wake: tokio::sync::Notify,
}

impl Queue {
    /// Gives turns out, one per limiter cell, until the pacer is dropped. The turn goes to
    /// the most urgent request waiting when the cell comes, not when the previous one went;
    /// after [`PAGES_IN_A_ROW`] pages, to the next most urgent if one waits.
    async fn run(self: Arc<Self>, limiter: DefaultDirectRateLimiter) {
        let mut pages_in_a_row = 0;
        loop {
            if lock(&self.waiting).is_empty() {
                self.wake.notified().await;
                continue;
            }
            limiter.until_ready().await;
            loop {
                let next = {
                    let mut waiting = lock(&self.waiting);
                    if pages_in_a_row >= PAGES_IN_A_ROW {
                        // The most urgent waiter that is not a page, if there is one.
                        let mut pages = Vec::new();
                        let mut other = None;
                        while let Some(w) = waiting.pop() {
                            if w.0.0 == Priority::Page {
                                pages.push(w);
                            } else {
                                other = Some(w);
                                break;
                            }
                        }
                        let mut pages = pages.into_iter();
                        let chosen = other.or_else(|| pages.next());
                        waiting.extend(pages);
                        chosen
                    } else {
                        waiting.pop()
                    }
                };
                let Some((std::cmp::Reverse(priority), _, Slot(tx))) = next else {
                    break;
                };
                // A waiter that gave up (its task was aborted) does not use up the turn.
                if tx.send(()).is_ok() {
                    pages_in_a_row = if priority == Priority::Page {
                        pages_in_a_row + 1
                    } else {
                        0
                    };
                    break;
                }
            }
        }
    }
}

/// Hands out request turns at a rate, the most urgent waiting request first (and, within a
/// priority, the longest waiting). Its turns stop when the last holder drops it.
pub struct Pacer {
    queue: Arc<Queue>,
    requests_per_second: NonZeroU32,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("requests_per_second", &self.requests_per_second)
            .field("waiting", &lock(&self.queue.waiting).len())
            .finish()
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pacer {
    /// A pacer of `requests_per_second` turns (no burst: the portal's throttle has none to
    /// spare). Must be called inside a Tokio runtime.
    pub fn start(requests_per_second: NonZeroU32) -> Arc<Self> {
        let queue = Arc::new(Queue {
            waiting: Mutex::new(BinaryHeap::new()),
            seq: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
        });
        let limiter = RateLimiter::direct(
            Quota::per_second(requests_per_second).allow_burst(NonZeroU32::MIN),
        );
        let task = tokio::spawn(queue.clone().run(limiter));
        Arc::new(Self {
            queue,
            requests_per_second,
            task,
        })
    }

    pub fn requests_per_second(&self) -> NonZeroU32 {
        self.requests_per_second
    }

    /// Waits for a turn.
    pub async fn turn(&self, priority: Priority) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let seq = self.queue.seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.queue.waiting).push((
            std::cmp::Reverse(priority),
            std::cmp::Reverse(seq),
            Slot(tx),
        ));
        self.queue.wake.notify_one();
        let _ = rx.await;
    }
}

/// The pacer of each session while something (a sweep) holds it.
#[derive(Debug, Default)]
pub struct Pacers {
    by_session: Mutex<HashMap<String, Weak<Pacer>>>,
}

impl Pacers {
    /// The session's pacer: the one running, whatever its rate (two sweeps of a session share
    /// the throttle), else a new one at `requests_per_second`. It runs while the result is held.
    pub fn start(&self, session: &str, requests_per_second: NonZeroU32) -> Arc<Pacer> {
        let mut by_session = lock(&self.by_session);
        by_session.retain(|_, p| p.strong_count() > 0);
        if let Some(p) = by_session.get(session).and_then(Weak::upgrade) {
            return p;
        }
        let pacer = Pacer::start(requests_per_second);
        by_session.insert(session.to_owned(), Arc::downgrade(&pacer));
        pacer
    }

    /// The session's pacer if one runs.
    pub fn running(&self, session: &str) -> Option<Arc<Pacer>> {
        lock(&self.by_session).get(session).and_then(Weak::upgrade)
    }

    /// Waits for a turn at the session's pacer while one runs; returns at once otherwise.
    pub async fn turn(&self, session: &str, priority: Priority) {
        if let Some(pacer) = self.running(session) {
            pacer.turn(priority).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::time::Duration;

    fn rps(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("not zero")
    }

    #[tokio::test]
    async fn a_request_the_person_waits_for_goes_before_every_waiting_sweep_request() {
        // A turn each 200 ms: every request below is waiting when the next one comes.
        let pacer = Pacer::start(rps(5));
        // The limiter's first cell is free: use it so that everything below has to wait.
        pacer.turn(Priority::Rest).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("rest", Priority::Rest),
            ("first", Priority::First),
            ("page", Priority::Page),
        ] {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                pacer.turn(priority).await;
                lock(&order).push(name);
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (p, o) = (pacer.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            p.turn(Priority::Now).await;
            lock(&o).push("now");
        }));
        for t in tasks {
            t.await.expect("joined");
        }
        assert_eq!(*lock(&order), ["now", "first", "page", "rest"]);
    }

    /// Pages are read first, but not all of them before any listing: two pages, then a
    /// listing that waits, and so on.
    #[tokio::test]
    async fn pages_leave_every_third_turn_to_a_waiting_listing() {
        // A turn each 200 ms: every request below is waiting when the next one comes.
        let pacer = Pacer::start(rps(5));
        pacer.turn(Priority::Rest).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("rest1", Priority::Rest),
            ("rest2", Priority::Rest),
            ("page1", Priority::Page),
            ("page2", Priority::Page),
            ("page3", Priority::Page),
            ("page4", Priority::Page),
        ] {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                pacer.turn(priority).await;
                lock(&order).push(name);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.expect("joined");
        }
        assert_eq!(
            *lock(&order),
            ["page1", "page2", "rest1", "page3", "page4", "rest2"]
        );
    }

    #[tokio::test]
    async fn a_session_shares_one_pacer_while_it_is_held_and_none_after() {
        let pacers = Pacers::default();
        assert!(pacers.running("work").is_none());
        let a = pacers.start("work", rps(20));
        let b = pacers.start("work", rps(5));
        assert!(
            Arc::ptr_eq(&a, &b),
            "a second sweep shares the first's throttle"
        );
        assert_eq!(b.requests_per_second(), rps(20));
        assert!(pacers.running("home").is_none(), "sessions do not share");
        drop((a, b));
        assert!(pacers.running("work").is_none());
        // With no pacer running, a turn is ready the first time it is asked.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for _ in 0..100 {
            let turn = std::pin::pin!(pacers.turn("work", Priority::Now));
            assert!(turn.poll(&mut cx).is_ready());
        }
    }

    #[tokio::test]
    async fn a_dropped_pacer_stops_handing_out_turns() {
        let pacer = Pacer::start(rps(1));
        let task = pacer.task.abort_handle();
        drop(pacer);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(task.is_finished());
    }
}
