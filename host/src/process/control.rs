//! The control thread: a small runtime for process-wide background work (cluster health checks,
//! ejection expiry, DNS refresh, the xDS client), apart from the data-path workers.

use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A running control thread; stopped on drop.
#[derive(Debug)]
pub struct Control {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Control {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Control> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("weir-control".into()).spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(Control { handle, stop: Some(stop), thread: Some(thread) })
    }

    /// Where to spawn background tasks.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
