//! Which context started each callout: the context whose callback runs is the active one, and
//! a callout it starts is registered to it, so the callout's events reach it.

use std::cell::{Cell, RefCell};

use super::table::IdTable;

/// Which table a callout token lives in.
#[derive(Clone, Copy)]
pub(super) enum Calls {
    Http,
    Grpc,
    GrpcStream,
}

struct Callouts {
    /// The context whose callback is running (callouts it starts are registered to it).
    active: Cell<u32>,
    /// Callout token → the context that started it.
    http: RefCell<IdTable<u32>>,
    grpc: RefCell<IdTable<u32>>,
    grpc_streams: RefCell<IdTable<u32>>,
}

impl Callouts {
    fn table(&self, calls: Calls) -> &RefCell<IdTable<u32>> {
        match calls {
            Calls::Http => &self.http,
            Calls::Grpc => &self.grpc,
            Calls::GrpcStream => &self.grpc_streams,
        }
    }
}

thread_local! {
    static CALLOUTS: Callouts = const {
        Callouts {
            active: Cell::new(0),
            http: RefCell::new(IdTable::new()),
            grpc: RefCell::new(IdTable::new()),
            grpc_streams: RefCell::new(IdTable::new()),
        }
    };
}

/// Context `id`'s callback is about to run.
pub(super) fn set_active(id: u32) {
    CALLOUTS.with(|c| c.active.set(id));
}

/// Forgets the callouts a deleted context still waits for.
pub(super) fn forget_context(id: u32) {
    CALLOUTS.with(|c| {
        for calls in [Calls::Http, Calls::Grpc, Calls::GrpcStream] {
            if let Ok(mut table) = c.table(calls).try_borrow_mut()
                && table.len() > 0
            {
                table.retain(|owner| *owner != id);
            }
        }
    });
}

fn register(calls: Calls, token: u32) {
    CALLOUTS.with(|c| {
        if let Ok(mut table) = c.table(calls).try_borrow_mut() {
            table.insert(token, c.active.get());
        }
    });
}

/// The context that started callout `token`; `take` forgets the token (its last event).
pub(super) fn owner(calls: Calls, token: u32, take: bool) -> Option<u32> {
    CALLOUTS.with(|c| {
        let mut table = c.table(calls).try_borrow_mut().ok()?;
        if take { table.remove(token) } else { table.get_mut(token).copied() }
    })
}

/// Remembers that the running context started HTTP callout `token`.
pub(crate) fn register_http_callout(token: u32) {
    register(Calls::Http, token);
}

/// Remembers that the running context started unary gRPC call `token`.
pub(crate) fn register_grpc_call(token: u32) {
    register(Calls::Grpc, token);
}

/// Remembers that the running context opened gRPC stream `token`.
pub(crate) fn register_grpc_stream(token: u32) {
    register(Calls::GrpcStream, token);
}
