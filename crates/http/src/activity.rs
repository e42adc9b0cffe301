//! The progress of one exchange, watched by the connection's watchdog
//! (`stream_idle_timeout`), and the way to stop it.

use std::cell::{Cell, RefCell};

use tokio::sync::Notify;

/// The progress of one exchange, and the way to stop it.
#[derive(Default)]
pub struct Activity {
    progress: Cell<u64>,
    killed: Cell<bool>,
    stop: Notify,
    /// Lets go of the exchange's upstream response at once (set while it streams), even if
    /// the client never polls for more.
    release: RefCell<Option<Box<dyn FnOnce()>>>,
    /// Runs when the exchange's state goes away (the exchange is over).
    ended: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl Drop for Activity {
    fn drop(&mut self) {
        if let Some(ended) = self.ended.get_mut().take() {
            ended();
        }
    }
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity").field("progress", &self.progress).field("killed", &self.killed).finish()
    }
}

impl Activity {
    /// Something moved (a body frame either way).
    pub fn touch(&self) {
        self.progress.set(self.progress.get() + 1);
    }

    /// How much has moved so far (a counter the watchdog compares between checks).
    pub fn progress(&self) -> u64 {
        self.progress.get()
    }

    /// Stops the exchange: whoever waits in [`Activity::stopped`] is woken, and the upstream
    /// response, if one streams, is dropped.
    pub fn kill(&self) {
        self.killed.set(true);
        self.stop.notify_waiters();
        if let Some(release) = self.release.borrow_mut().take() {
            release();
        }
    }

    /// What [`Activity::kill`] runs to let go of the upstream response.
    pub fn on_kill(&self, release: Box<dyn FnOnce()>) {
        *self.release.borrow_mut() = Some(release);
    }

    /// What runs when the exchange is over (its state dropped): the connection's watchdog
    /// starts the idle clock then.
    pub fn on_end(&self, ended: Box<dyn FnOnce()>) {
        *self.ended.borrow_mut() = Some(ended);
    }

    /// Whether the exchange was stopped.
    pub fn killed(&self) -> bool {
        self.killed.get()
    }

    /// Resolves when the exchange is stopped.
    pub async fn stopped(&self) {
        loop {
            let notified = self.stop.notified();
            if self.killed.get() {
                return;
            }
            notified.await;
        }
    }
}
