//! proxy-wasm shared queues: process-wide, named by `(vm_id, name)`, identified by a token.
//! The VM that registered a queue last is told (`proxy_on_queue_ready`) on its own worker when
//! something is enqueued, as in Envoy.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;
use weir_abi::Status;

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
    items: VecDeque<Bytes>,
    owner: Option<(QueueReady, UnboundedSender<QueueReady>)>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<(String, Vec<u8>), u32>,
    queues: HashMap<u32, Queue>,
    next_token: u32,
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
    ) -> u32 {
        let mut inner = self.inner.lock();
        let key = (vm_id.to_string(), name.to_vec());
        let token = match inner.tokens.get(&key) {
            Some(token) => *token,
            None => {
                inner.next_token += 1;
                let token = inner.next_token;
                inner.tokens.insert(key, token);
                token
            }
        };
        let queue =
            inner.queues.entry(token).or_insert_with(|| Queue { items: VecDeque::new(), owner: None });
        queue.owner =
            owner.map(|(vm_instance, context_id, tx)| (QueueReady { vm_instance, context_id, token }, tx));
        token
    }

    /// Looks a queue up by `(vm_id, name)`.
    pub fn resolve(&self, vm_id: &str, name: &[u8]) -> Result<u32, Status> {
        self.inner.lock().tokens.get(&(vm_id.to_string(), name.to_vec())).copied().ok_or(Status::NotFound)
    }

    /// Appends an item and notifies the owner.
    pub fn enqueue(&self, token: u32, value: Bytes) -> Result<(), Status> {
        let mut inner = self.inner.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.items.push_back(value);
        if let Some((ready, tx)) = &queue.owner {
            // A closed channel means the owning worker is gone; the item stays for dequeue.
            let _ = tx.send(*ready);
        }
        Ok(())
    }

    /// Takes the oldest item: `Empty` when there is none, `NotFound` for an unknown token.
    pub fn dequeue(&self, token: u32) -> Result<Bytes, Status> {
        let mut inner = self.inner.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.items.pop_front().ok_or(Status::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_resolve_enqueue_dequeue() {
        let queues = SharedQueues::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let token = queues.register("vm", b"q", Some((7, 1, tx)));
        assert_eq!(queues.resolve("vm", b"q"), Ok(token));
        assert_eq!(queues.resolve("other", b"q"), Err(Status::NotFound));
        assert_eq!(queues.dequeue(token), Err(Status::Empty));
        assert_eq!(queues.dequeue(token + 1), Err(Status::NotFound));
        queues.enqueue(token, Bytes::from("x")).unwrap();
        let ready = rx.try_recv().unwrap();
        assert_eq!((ready.vm_instance, ready.context_id, ready.token), (7, 1, token));
        assert_eq!(queues.dequeue(token).unwrap(), "x");
        assert_eq!(queues.register("vm", b"q", None), token);
        assert_eq!(queues.enqueue(99, Bytes::new()), Err(Status::NotFound));
    }
}
