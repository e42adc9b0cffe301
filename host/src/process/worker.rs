//! Worker threads: each runs a current-thread tokio runtime with its own listener sockets
//! (SO_REUSEPORT), its own VMs and its own upstream pools, as Envoy's workers do.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::{mpsc, oneshot, watch};

use crate::http::{ConnectionTracker, ListenerContext, ListenerHandle, serve_listener};
use crate::process::Generation;
use crate::process::services::{QueueReady, WorkerServices};
use crate::router::RouteTable;
use crate::upstream::Upstreams;
use weir_proxy_wasm::plugin::{Recovery, WorkerPlugins};

/// Messages from the control thread to a worker.
pub enum WorkerCommand {
    /// Apply a new generation, with this worker's sockets for the listeners it adds (by
    /// name); answer whether this worker could.
    Reload(Arc<Generation>, Vec<(String, std::net::TcpListener)>, oneshot::Sender<Result<(), String>>),
}

/// What a worker needs to start.
pub struct WorkerStart {
    /// Worker index (for logs).
    pub index: usize,
    /// The generation to run.
    pub generation: Arc<Generation>,
    /// One bound socket per listener, by name.
    pub sockets: Vec<(String, std::net::TcpListener)>,
    /// Shared connection id counter.
    pub connection_ids: Arc<AtomicU64>,
    /// Turns true on shutdown.
    pub shutdown: watch::Receiver<bool>,
    /// Turns true when listeners may accept (start-up done); connections wait in the backlog.
    pub serving: watch::Receiver<bool>,
    /// Commands.
    pub commands: mpsc::UnboundedReceiver<WorkerCommand>,
    /// Reports whether the worker started.
    pub ready: oneshot::Sender<Result<(), String>>,
    /// How long in-flight requests may take to finish on shutdown.
    pub drain_timeout: std::time::Duration,
}

struct Worker {
    services: Rc<WorkerServices>,
    listeners: RefCell<Vec<Slot>>,
    _plugins: RefCell<Rc<WorkerPlugins>>,
    /// What a listener's accept loop needs besides its socket and context.
    accept: Accept,
}

/// A listener served by this worker: its name, its current context, and the switch that
/// stops it (removed from the config, or weir stopping).
struct Slot {
    name: String,
    handle: ListenerHandle,
    stop: watch::Sender<bool>,
}

#[derive(Clone)]
struct Accept {
    connection_ids: Arc<AtomicU64>,
    shutdown: watch::Receiver<bool>,
    serving: watch::Receiver<bool>,
    tracker: Rc<ConnectionTracker>,
    drain_timeout: std::time::Duration,
}

impl Accept {
    /// Starts serving `socket` as listener `name`.
    fn start(
        &self,
        name: &str,
        socket: std::net::TcpListener,
        context: Rc<ListenerContext>,
    ) -> Result<Slot, String> {
        let listener = socket
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(socket))
            .map_err(|e| format!("listener `{name}` socket: {e}"))?;
        let handle: ListenerHandle = Rc::new(RefCell::new(context));
        let (stop, stopped) = watch::channel(false);
        // Weir stopping stops every listener.
        let (mut shutdown, forward) = (self.shutdown.clone(), stop.clone());
        tokio::task::spawn_local(async move {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => { let _ = forward.send(true); }
                () = forward.closed() => {}
            }
        });
        tokio::task::spawn_local(serve_listener(
            listener,
            handle.clone(),
            self.connection_ids.clone(),
            stopped,
            self.serving.clone(),
            self.tracker.clone(),
            self.drain_timeout,
        ));
        Ok(Slot { name: name.to_string(), handle, stop })
    }
}

/// Runs a worker until shutdown. Call on the worker's own thread.
pub fn run(start: WorkerStart) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = start.ready.send(Err(format!("worker {}: cannot build runtime: {e}", start.index)));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, worker_main(start));
}

async fn worker_main(start: WorkerStart) {
    let WorkerStart {
        index,
        generation,
        sockets,
        connection_ids,
        shutdown,
        serving,
        mut commands,
        ready,
        drain_timeout,
    } = start;
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let upstreams = Rc::new(Upstreams::new(&generation.clusters));
    let services = Rc::new(WorkerServices::new(upstreams.clone(), queue_tx));
    let (plugins, contexts) = match build(&generation, &services, &upstreams) {
        Ok(built) => built,
        Err(e) => {
            let _ = ready.send(Err(format!("worker {index}: {e}")));
            return;
        }
    };
    let tracker = Rc::new(ConnectionTracker::default());
    let accept = Accept {
        connection_ids,
        shutdown: shutdown.clone(),
        serving,
        tracker: tracker.clone(),
        drain_timeout,
    };
    let mut listeners = Vec::new();
    for ((name, socket), context) in sockets.into_iter().zip(contexts) {
        match accept.start(&name, socket, context) {
            Ok(slot) => listeners.push(slot),
            Err(e) => {
                let _ = ready.send(Err(format!("worker {index}: {e}")));
                return;
            }
        }
    }
    tokio::task::spawn_local(deliver_queue_ready(
        Rc::downgrade(&services),
        generation.process.clone(),
        queue_rx,
    ));
    tokio::task::spawn_local(housekeeping(Rc::downgrade(&services)));
    let (failed_tx, mut failed) = mpsc::unbounded_channel();
    services.report_failures_to(failed_tx);
    let (due_tx, mut due) = mpsc::unbounded_channel::<String>();
    let schedule = |key: String, wait: std::time::Duration| {
        let due_tx = due_tx.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(wait).await;
            let _ = due_tx.send(key);
        });
    };
    let mut recovery = Recovery::default();
    let process = generation.process.clone();
    let worker =
        Worker { services, listeners: RefCell::new(listeners), _plugins: RefCell::new(plugins), accept };
    let _ = ready.send(Ok(()));
    let mut shutdown = shutdown;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(WorkerCommand::Reload(generation, sockets, reply)) => {
                    let old = worker._plugins.borrow().clone();
                    let result = worker.reload(&generation, sockets);
                    if result.is_ok() {
                        recovery.reset(&old);
                    }
                    let _ = reply.send(result);
                }
                None => break,
            },
            Some(key) = failed.recv() => {
                let plugins = worker._plugins.borrow().clone();
                if let Some(wait) = recovery.failed(&key, &plugins) {
                    schedule(key, wait);
                }
            }
            Some(key) = due.recv() => {
                let plugins = worker._plugins.borrow().clone();
                if let Some(wait) = recovery.replace(&key, &plugins, &process.guest, &worker.services) {
                    schedule(key, wait);
                }
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    let left = tracker.drain(drain_timeout).await;
    if left > 0 {
        tracing::warn!(
            worker = index,
            connections = left,
            "drain timeout: closing connections with requests in flight"
        );
    }
    tracing::debug!(worker = index, "worker stopped");
}

type Built = (Rc<WorkerPlugins>, Vec<Rc<ListenerContext>>);

fn build(
    generation: &Generation,
    services: &Rc<WorkerServices>,
    upstreams: &Rc<Upstreams>,
) -> Result<Built, String> {
    let plugins =
        WorkerPlugins::build(&generation.engines, &generation.plugins, &generation.process.guest, services)
            .map_err(|e| e.to_string())?;
    let plugins = Rc::new(plugins);
    let mut contexts = Vec::new();
    for (listener, tls) in generation.config.listeners.iter().zip(&generation.listener_tls) {
        let routes = RouteTable::build(listener, &|name| plugins.get(name), &generation.process.stats)
            .map_err(|e| format!("listener `{}`: {e}", listener.name))?;
        let access_log = match &listener.access_log {
            Some(config) => Some(std::sync::Arc::new(
                crate::access_log::AccessLog::open(&generation.process.access_logs, config)
                    .map_err(|e| format!("listener `{}`: {e}", listener.name))?,
            )),
            None => None,
        };
        let tracer = match &generation.config.tracing {
            Some(config) => Some(generation.process.tracers.get(config)?),
            None => None,
        };
        let nonzero = |d: std::time::Duration| (!d.is_zero()).then_some(d);
        contexts.push(Rc::new(ListenerContext {
            name: listener.name.clone(),
            tracer,
            metadata: crate::config::encoded_metadata(listener.metadata.as_ref()),
            routes,
            upstreams: upstreams.clone(),
            buffer_limit: listener.buffer_limit_bytes,
            request_timeout: nonzero(listener.request_timeout),
            stats: generation.process.stats.listener(&listener.name),
            access_log: access_log.clone(),
            limits: crate::http::ConnectionLimits {
                max_headers: listener.max_request_headers,
                max_header_bytes: listener.max_request_headers_kb as usize * 1024,
                max_response_header_bytes: listener.max_response_headers_kb as usize * 1024,
                max_response_headers: listener.max_response_headers,
                timeouts: crate::http::Timeouts {
                    headers: nonzero(listener.request_headers_timeout),
                    idle: nonzero(listener.idle_timeout),
                    stream_idle: nonzero(listener.stream_idle_timeout),
                },
                max_connections: listener.max_connections,
                http2_max_concurrent_streams: listener.http2_max_concurrent_streams,
                http2_keepalive_interval: nonzero(listener.http2_keepalive_interval),
                http1_trailers: listener.http_protocol_options.enable_trailers,
            },
            path_options: listener.path_options(),
            use_remote_address: listener.use_remote_address,
            preserve_external_request_id: listener.preserve_external_request_id,
            tls: tls.clone(),
            upgrade_types: listener.upgrade_types.iter().map(|t| t.to_ascii_lowercase()).collect(),
            tcp: match &listener.tcp_proxy {
                Some(config) => Some(Rc::new(crate::tcp::TcpProxy {
                    name: listener.name.clone(),
                    metadata: crate::config::encoded_metadata(listener.metadata.as_ref()),
                    upstreams: upstreams.clone(),
                    buffer_limit: listener.buffer_limit_bytes,
                    access_log: access_log.clone(),
                    config: config.clone(),
                    filters: listener
                        .network_filters
                        .iter()
                        .map(|name| {
                            plugins
                                .get(name)
                                .ok_or_else(|| format!("listener `{}`: no plugin `{name}`", listener.name))
                        })
                        .collect::<Result<_, _>>()?,
                })),
                None => None,
            },
        }));
    }
    Ok((plugins, contexts))
}

impl Worker {
    /// Applies `generation`: listeners kept (by name) take their new context, new ones start
    /// on `sockets`, removed ones stop accepting and drain.
    fn reload(
        &self,
        generation: &Generation,
        sockets: Vec<(String, std::net::TcpListener)>,
    ) -> Result<(), String> {
        let upstreams = Rc::new(Upstreams::new(&generation.clusters));
        let previous = self.services.clusters();
        self.services.set_clusters(upstreams.clone());
        let (plugins, contexts) = match build(generation, &self.services, &upstreams) {
            Ok(built) => built,
            Err(e) => {
                self.services.set_clusters(previous);
                return Err(e);
            }
        };
        // Start the new listeners first: if one cannot start, nothing changes.
        let mut started = Vec::new();
        for (name, socket) in sockets {
            let Some(i) = generation.config.listeners.iter().position(|l| l.name == name) else { continue };
            match self.accept.start(&name, socket, contexts[i].clone()) {
                Ok(slot) => started.push(slot),
                Err(e) => {
                    for slot in &started {
                        let _ = slot.stop.send(true);
                    }
                    self.services.set_clusters(previous);
                    return Err(e);
                }
            }
        }
        let mut old = std::mem::take(&mut *self.listeners.borrow_mut());
        let mut next = Vec::new();
        for (config, context) in generation.config.listeners.iter().zip(contexts) {
            if let Some(i) = started.iter().position(|s| s.name == config.name) {
                next.push(started.swap_remove(i));
            } else if let Some(i) = old.iter().position(|s| s.name == config.name) {
                let slot = old.swap_remove(i);
                *slot.handle.borrow_mut() = context;
                next.push(slot);
            } else {
                tracing::error!(listener = config.name, "a new listener came without its socket");
            }
        }
        for removed in old {
            tracing::info!(listener = removed.name, "listener removed: draining its connections");
            let _ = removed.stop.send(true);
        }
        *self.listeners.borrow_mut() = next;
        *self._plugins.borrow_mut() = plugins;
        Ok(())
    }
}

/// Periodic chores: deleting retired root contexts that are done.
async fn housekeeping(services: std::rc::Weak<WorkerServices>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        interval.tick().await;
        let Some(services) = services.upgrade() else { return };
        services.sweep_retired(false);
    }
}

async fn deliver_queue_ready(
    services: std::rc::Weak<WorkerServices>,
    process: Arc<crate::process::services::ProcessServices>,
    mut rx: mpsc::UnboundedReceiver<QueueReady>,
) {
    while let Some(ready) = rx.recv().await {
        // Before the callback: an enqueue during it must notify again.
        process.guest.queues.delivered(ready.token);
        let Some(vm) = services.upgrade().and_then(|s| s.vm(ready.vm_instance)) else {
            continue;
        };
        let Ok(mut vm) = vm.try_borrow_mut() else {
            continue;
        };
        if vm.failure().is_some() {
            continue;
        }
        if let Err(e) = vm.on_queue_ready(ready.context_id, ready.token) {
            tracing::error!(vm_id = %vm.state().vm_id(), "proxy_on_queue_ready failed: {e}");
        }
    }
}
