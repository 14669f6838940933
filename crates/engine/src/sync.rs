//! Locking that survives a panic elsewhere: a poisoned mutex still holds consistent data for
//! everything this project keeps in one (maps of entries replaced whole), so it is used as is.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
