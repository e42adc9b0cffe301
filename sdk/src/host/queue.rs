//! Shared queues: process-wide per `vm_id`; a root context that registered a queue gets
//! `on_queue_ready` when something is enqueued.

#![allow(unsafe_code)]

use std::ptr::null_mut;

use weir_abi::Status;

use super::{Value, owned, raw, status};

/// Registers (or finds) this VM's queue `name`; returns its id.
pub fn register_queue(name: &str) -> Result<u32, Status> {
    let mut id = 0;
    // SAFETY: valid slice and pointer.
    status(unsafe { raw::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// The id of queue `name` of VM `vm_id`, `None` when it does not exist.
pub fn resolve_queue(vm_id: &str, name: &str) -> Result<Option<u32>, Status> {
    let mut id = 0;
    // SAFETY: valid slices and pointer.
    match status(unsafe {
        raw::proxy_resolve_shared_queue(vm_id.as_ptr(), vm_id.len(), name.as_ptr(), name.len(), &mut id)
    }) {
        Ok(()) => Ok(Some(id)),
        Err(Status::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Takes the oldest item of a queue; `None` when it is empty.
pub fn dequeue(id: u32) -> Result<Option<Value>, Status> {
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid pointers to locals.
    match owned(unsafe { raw::proxy_dequeue_shared_queue(id, &mut ptr, &mut size) }, ptr, size) {
        Err(Status::Empty) => Ok(None),
        other => other.map(|v| Some(v.unwrap_or_default())),
    }
}

/// Appends an item to a queue.
pub fn enqueue(id: u32, value: &[u8]) -> Result<(), Status> {
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_enqueue_shared_queue(id, value.as_ptr(), value.len()) })
}
