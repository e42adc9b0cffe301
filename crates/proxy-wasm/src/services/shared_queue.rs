//! proxy-wasm shared queues: process-wide, named by `(vm_id, name)`, identified by a token.
//! The VM that registered a queue last is told (`proxy_on_queue_ready`) on its own worker when
//! something is enqueued, as in Envoy: one notification per enqueue.
//!
//! Guests cannot grow them without bound: each `vm_id`'s queues may hold at most its
//! `limits.max_queue_bytes` (items plus [`ITEM_OVERHEAD`] each, and [`QUEUE_OVERHEAD`] plus the
//! name per queue); past it enqueueing or registering a new queue is refused. Notifications
//! waiting for the owner are never more than the items waiting in the queue, so a guest that
//! enqueues and dequeues in a loop cannot fill the owner's channel.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;
use weir_abi::Status;

use super::Refusal;

/// Bytes charged per queued item on top of the item.
pub const ITEM_OVERHEAD: usize = 64;
/// Bytes charged per queue on top of its name.
pub const QUEUE_OVERHEAD: usize = 256;
/// The limit a `vm_id` gets until its plugins say otherwise (`PluginLimits` default).
pub const DEFAULT_LIMIT: usize = 16 * 1024 * 1024;

/// Tells a worker that a queue it owns has data: `(vm instance id, root context id, token)`.
#[derive(Debug, Clone, Copy)]
pub struct QueueReady {
    /// Process-unique id of the VM instance that owns the queue.
    pub vm_instance: u64,
    /// The owning root context.
    pub context_id: u32,
    /// The queue token.
    pub token: u32,
}

#[derive(Debug)]
struct Queue {
    vm_id: String,
    items: VecDeque<Bytes>,
    owner: Option<(QueueReady, UnboundedSender<QueueReady>)>,
    /// Notifications sent to the owner and not yet delivered.
    notifications: usize,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<(String, Vec<u8>), u32>,
    queues: HashMap<u32, Queue>,
    /// Bytes held and limit, per `vm_id`.
    usage: HashMap<String, (usize, usize)>,
    next_token: u32,
}

impl Inner {
    fn usage(&mut self, vm_id: &str) -> &mut (usize, usize) {
        self.usage.entry(vm_id.to_string()).or_insert((0, DEFAULT_LIMIT))
    }

    /// Charges `bytes` to `vm_id`, unless that passes its limit.
    fn charge(&mut self, vm_id: &str, bytes: usize) -> Result<(), Refusal> {
        let (used, limit) = self.usage(vm_id);
        let after =
            used.checked_add(bytes).filter(|a| *a <= *limit).ok_or(Refusal::Limit("max_queue_bytes"))?;
        *used = after;
        Ok(())
    }
}

/// All shared queues of the process.
#[derive(Debug, Default)]
pub struct SharedQueues {
    inner: Mutex<Inner>,
}

impl SharedQueues {
    /// Registers (or re-registers) a queue and makes the caller its owner. Returns its token.
    pub fn register(
        &self,
        vm_id: &str,
        name: &[u8],
        owner: Option<(u64, u32, UnboundedSender<QueueReady>)>,
    ) -> Result<u32, Refusal> {
        let mut inner = self.inner.lock();
        let key = (vm_id.to_string(), name.to_vec());
        let token = match inner.tokens.get(&key) {
            Some(token) => *token,
            None => {
                inner.charge(vm_id, name.len() + QUEUE_OVERHEAD)?;
                inner.next_token = inner.next_token.wrapping_add(1).max(1);
                let token = inner.next_token;
                inner.tokens.insert(key, token);
                let queue =
                    Queue { vm_id: vm_id.to_string(), items: VecDeque::new(), owner: None, notifications: 0 };
                inner.queues.insert(token, queue);
                token
            }
        };
        if let Some(queue) = inner.queues.get_mut(&token) {
            queue.owner = owner
                .map(|(vm_instance, context_id, tx)| (QueueReady { vm_instance, context_id, token }, tx));
            queue.notifications = 0;
        }
        Ok(token)
    }

    /// Looks a queue up by `(vm_id, name)`.
    pub fn resolve(&self, vm_id: &str, name: &[u8]) -> Result<u32, Status> {
        self.inner.lock().tokens.get(&(vm_id.to_string(), name.to_vec())).copied().ok_or(Status::NotFound)
    }

    /// Appends an item and notifies the owner.
    pub fn enqueue(&self, token: u32, value: Bytes) -> Result<(), Refusal> {
        let mut inner = self.inner.lock();
        let vm_id =
            inner.queues.get(&token).map(|q| q.vm_id.clone()).ok_or(Refusal::Status(Status::NotFound))?;
        inner.charge(&vm_id, value.len() + ITEM_OVERHEAD)?;
        let Some(queue) = inner.queues.get_mut(&token) else {
            return Err(Refusal::Status(Status::NotFound));
        };
        queue.items.push_back(value);
        if let Some((ready, tx)) = &queue.owner
            && queue.notifications < queue.items.len()
            // A closed channel means the owning worker is gone; the item stays for dequeue.
            && tx.send(*ready).is_ok()
        {
            queue.notifications += 1;
        }
        Ok(())
    }

    /// Takes the oldest item: `Empty` when there is none, `NotFound` for an unknown token.
    pub fn dequeue(&self, token: u32) -> Result<Bytes, Status> {
        let mut inner = self.inner.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        let item = queue.items.pop_front().ok_or(Status::Empty)?;
        let vm_id = queue.vm_id.clone();
        let used = &mut inner.usage(&vm_id).0;
        *used = used.saturating_sub(item.len() + ITEM_OVERHEAD);
        Ok(item)
    }

    /// The owner took a notification of `token` off its channel (call before delivering it).
    pub fn delivered(&self, token: u32) {
        if let Some(queue) = self.inner.lock().queues.get_mut(&token) {
            queue.notifications = queue.notifications.saturating_sub(1);
        }
    }

    /// Sets the most bytes `vm_id`'s queues may hold.
    pub fn set_limit(&self, vm_id: &str, bytes: usize) {
        self.inner.lock().usage(vm_id).1 = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_resolve_enqueue_dequeue() {
        let queues = SharedQueues::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let token = queues.register("vm", b"q", Some((7, 1, tx))).unwrap();
        assert_eq!(queues.resolve("vm", b"q"), Ok(token));
        assert_eq!(queues.resolve("other", b"q"), Err(Status::NotFound));
        assert_eq!(queues.dequeue(token), Err(Status::Empty));
        assert_eq!(queues.dequeue(token + 1), Err(Status::NotFound));
        queues.enqueue(token, Bytes::from("x")).unwrap();
        let ready = rx.try_recv().unwrap();
        assert_eq!((ready.vm_instance, ready.context_id, ready.token), (7, 1, token));
        assert_eq!(queues.dequeue(token).unwrap(), "x");
        assert_eq!(queues.register("vm", b"q", None), Ok(token));
        assert_eq!(queues.enqueue(99, Bytes::new()), Err(Refusal::Status(Status::NotFound)));
    }

    #[test]
    fn a_vm_id_cannot_queue_past_its_limit_nor_flood_the_owner() {
        let queues = SharedQueues::default();
        queues.set_limit("vm", 10_000);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let token = queues.register("vm", b"q", Some((1, 1, tx))).unwrap();
        let mut queued = 0;
        while queues.enqueue(token, Bytes::from(vec![0u8; 100])).is_ok() {
            queued += 1;
        }
        assert_eq!(queued, (10_000 - 1 - QUEUE_OVERHEAD) / (100 + ITEM_OVERHEAD));
        assert_eq!(
            queues.enqueue(token, Bytes::from(vec![0u8; 100])),
            Err(Refusal::Limit("max_queue_bytes"))
        );
        while queues.dequeue(token).is_ok() {}
        // Enqueue and dequeue in a loop, the owner never reading its channel.
        for _ in 0..10_000 {
            queues.enqueue(token, Bytes::from_static(b"x")).unwrap();
            queues.dequeue(token).unwrap();
        }
        let mut waiting = 0;
        while rx.try_recv().is_ok() {
            waiting += 1;
        }
        assert!(waiting <= queued + 1, "{waiting} notifications for an empty queue");
        // New queues cost too.
        let mut made = 0;
        while queues.register("vm", format!("q{made}").as_bytes(), None).is_ok() {
            made += 1;
        }
        assert!(made < 10_000 / QUEUE_OVERHEAD);
    }
}
