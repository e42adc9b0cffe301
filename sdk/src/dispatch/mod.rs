//! The dispatcher: the module's contexts by id, and which context started each callout, so
//! that every callback the host makes (`exports`) reaches the right context.
//!
//! A host calls a filter's callbacks a few times per request per filter, so the lookup is
//! made cheap: ids index a table by their low bits (`table::IdTable`) instead of going
//! through a general hash map. Hosts never re-enter a module while one of its callbacks runs
//! (a local reply or a resumed stream takes effect after it returns), so a callback borrows
//! the context table for its whole run; if that borrow is ever refused, the callback is
//! skipped with an error logged instead of trapping.

pub(crate) mod callouts;
mod exports;
mod table;

use std::cell::{Cell, RefCell};

use table::IdTable;

use crate::stream::StreamContext;
use crate::traits::{Context, HttpContext, NewHttpContext, NewRootContext, RootContext};
use crate::types::{ContextType, HttpCallbacks};

/// One context of the module.
enum Entry {
    Root(Box<dyn RootContext>),
    Http(Box<dyn HttpContext>),
    Stream(Box<dyn StreamContext>),
}

impl Entry {
    fn context(&mut self) -> &mut dyn Context {
        match self {
            Entry::Root(root) => &mut **root,
            Entry::Http(http) => &mut **http,
            Entry::Stream(stream) => &mut **stream,
        }
    }
}

struct Dispatcher {
    new_root: Cell<Option<NewRootContext>>,
    new_http: Cell<Option<NewHttpContext>>,
    /// The HTTP callbacks the filter declared ([`set_http_callbacks`]).
    callbacks: Cell<HttpCallbacks>,
    contexts: RefCell<IdTable<Entry>>,
}

thread_local! {
    static DISPATCHER: Dispatcher = const {
        Dispatcher {
            new_root: Cell::new(None),
            new_http: Cell::new(None),
            callbacks: Cell::new(HttpCallbacks::ALL),
            contexts: RefCell::new(IdTable::new()),
        }
    };
}

/// Sets how root contexts are made (call it in `main!`).
pub fn set_root_context(new: NewRootContext) {
    DISPATCHER.with(|d| d.new_root.set(Some(new)));
}

/// Sets how request contexts are made, instead of the root context's
/// [`RootContext::create_http_context`].
pub fn set_http_context(new: NewHttpContext) {
    DISPATCHER.with(|d| d.new_http.set(Some(new)));
}

/// Declares the HTTP context callbacks the filter implements; the others are never passed to
/// its contexts, in any host, and weir does not even make them (see
/// [`weir_abi::callbacks`]). Without a declaration every callback is passed. Call it in
/// `main!`:
///
/// ```ignore
/// weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::RESPONSE_HEADERS);
/// ```
///
/// Declare every callback the filter's `HttpContext` overrides: one left out never runs.
pub fn set_http_callbacks(callbacks: HttpCallbacks) {
    DISPATCHER.with(|d| d.callbacks.set(callbacks));
}

/// The declared HTTP callbacks.
fn declared() -> HttpCallbacks {
    DISPATCHER.with(|d| d.callbacks.get())
}

/// The root context used when the module set none: it accepts everything and makes no request
/// contexts.
struct NoRoot;

impl Context for NoRoot {}
impl RootContext for NoRoot {}

/// `proxy_on_context_create`.
fn create(id: u32, root_id: u32) {
    DISPATCHER.with(|d| {
        let entry = if root_id == 0 {
            Some(Entry::Root(
                d.new_root.get().map_or_else(|| Box::new(NoRoot) as Box<dyn RootContext>, |f| f(id)),
            ))
        } else if let Some(new) = d.new_http.get() {
            Some(Entry::Http(new(id, root_id)))
        } else {
            let Ok(mut contexts) = d.contexts.try_borrow_mut() else {
                return refused("proxy_on_context_create", id);
            };
            match contexts.get_mut(root_id) {
                Some(Entry::Root(root)) if root.get_type() == Some(ContextType::StreamContext) => {
                    root.create_stream_context(id).map(Entry::Stream)
                }
                Some(Entry::Root(root)) => root.create_http_context(id).map(Entry::Http),
                _ => {
                    error(format_args!("context {id} created under {root_id}, which is not a root context"));
                    None
                }
            }
        };
        let Some(entry) = entry else {
            error(format_args!("the root context made no context for request {id}; the filter skips it"));
            return;
        };
        match d.contexts.try_borrow_mut() {
            Ok(mut contexts) => {
                if contexts.insert(id, entry).is_some() {
                    error(format_args!("context {id} created twice; the newer one replaces the older"));
                }
            }
            Err(_) => refused("proxy_on_context_create", id),
        }
    });
}

/// `proxy_on_delete`: forgets the context and the callouts it still waits for.
fn delete(id: u32) {
    DISPATCHER.with(|d| {
        let removed = match d.contexts.try_borrow_mut() {
            Ok(mut contexts) => contexts.remove(id),
            Err(_) => return refused("proxy_on_delete", id),
        };
        callouts::forget_context(id);
        // Dropped outside the borrow: a context's `Drop` may use the SDK.
        drop(removed);
    });
}

/// Runs `f` on context `id` (made the active context); `default` if there is none.
fn with_entry<R>(id: u32, default: R, f: impl FnOnce(&mut Entry) -> R) -> R {
    DISPATCHER.with(|d| {
        let Ok(mut contexts) = d.contexts.try_borrow_mut() else {
            refused("a callback", id);
            return default;
        };
        match contexts.get_mut(id) {
            Some(entry) => {
                callouts::set_active(id);
                f(entry)
            }
            None => default,
        }
    })
}

/// Runs `f` on HTTP context `id` if the filter declared `callback`; `default` if not, or if
/// there is no such context.
fn with_http<R>(
    id: u32,
    callback: HttpCallbacks,
    default: R,
    f: impl FnOnce(&mut dyn HttpContext) -> R,
) -> R {
    if !declared().contains(callback) {
        return default;
    }
    with_entry(id, None, |entry| match entry {
        Entry::Http(http) => Some(f(&mut **http)),
        Entry::Root(_) | Entry::Stream(_) => None,
    })
    .unwrap_or(default)
}

/// Runs `f` on stream (TCP connection) context `id`; `default` if there is none.
fn with_stream<R>(id: u32, default: R, f: impl FnOnce(&mut dyn StreamContext) -> R) -> R {
    with_entry(id, None, |entry| match entry {
        Entry::Stream(stream) => Some(f(&mut **stream)),
        Entry::Root(_) | Entry::Http(_) => None,
    })
    .unwrap_or(default)
}

/// Runs `f` on root context `id`; `default` if there is none.
fn with_root<R>(id: u32, default: R, f: impl FnOnce(&mut dyn RootContext) -> R) -> R {
    with_entry(id, None, |entry| match entry {
        Entry::Root(root) => Some(f(&mut **root)),
        Entry::Http(_) | Entry::Stream(_) => None,
    })
    .unwrap_or(default)
}

#[cold]
#[inline(never)]
fn refused(what: &str, id: u32) {
    error(format_args!("{what} for context {id} arrived while another callback ran; skipped"));
}

/// Logs a dispatcher error. Out of line, so the callbacks' common path carries no formatting
/// code.
#[cold]
#[inline(never)]
fn error(message: std::fmt::Arguments<'_>) {
    log::error!("weir-sdk: {message}");
}
