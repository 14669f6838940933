//! Time comes in through a [`Clock`], so countdowns, expiry, refresh schedules and warnings can
//! be tested with a [`FakeClock`] that a test moves forward by hand.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::watch;

#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;
    /// Returns once `now() >= deadline`.
    async fn sleep_until(&self, deadline: SystemTime);
    async fn sleep(&self, duration: Duration) {
        let deadline = self.now() + duration;
        self.sleep_until(deadline).await;
    }
}

/// The wall clock. Long sleeps are taken in slices so that a suspended laptop that wakes up
/// past a deadline notices within a few seconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

const SLICE: Duration = Duration::from_secs(5);

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep_until(&self, deadline: SystemTime) {
        loop {
            let Ok(left) = deadline.duration_since(SystemTime::now()) else {
                return;
            };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(SLICE)).await;
        }
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<SystemTime>>,
    tick: Arc<watch::Sender<SystemTime>>,
}

impl FakeClock {
    pub fn new(start: SystemTime) -> Self {
        let (tx, _rx) = watch::channel(start);
        Self {
            now: Arc::new(Mutex::new(start)),
            tick: Arc::new(tx),
        }
    }

    /// A fake clock at a fixed, round date (2030-01-01T00:00:00Z).
    pub fn at_2030() -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
        self.tick.send_replace(*now);
    }

    pub fn set(&self, to: SystemTime) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to;
        self.tick.send_replace(to);
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn sleep_until(&self, deadline: SystemTime) {
        let mut rx = self.tick.subscribe();
        loop {
            if *rx.borrow_and_update() >= deadline {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Seconds left until `deadline`, zero when past.
pub fn remaining(now: SystemTime, deadline: SystemTime) -> Duration {
    deadline.duration_since(now).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_sleep_wakes_when_advanced() {
        let clock = FakeClock::at_2030();
        let deadline = clock.now() + Duration::from_secs(60);
        let c = clock.clone();
        let sleeper = tokio::spawn(async move { c.sleep_until(deadline).await });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .expect("woke")
            .expect("joined");
    }
}
