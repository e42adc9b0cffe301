//! The module's exports: the ABI version marker, the allocator the host uses to hand over
//! bytes, and every callback of proxy-wasm ABI 0.2.1 that HTTP and network (stream) filters
//! receive, each passed to the context it names; a callback for a context the module does not
//! know does nothing and continues.

#![allow(unsafe_code)]

use std::alloc::{Layout, alloc};
use std::ptr::NonNull;

use super::callouts::{Calls, owner};
use super::{Entry, create, declared, delete, with_entry, with_http, with_root, with_stream};
use crate::host;
use crate::types::{Action, HttpCallbacks, PeerType};

/// The ABI version this module speaks.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// The HTTP callbacks the filter declared (weir's extension, see [`weir_abi::callbacks`]).
#[unsafe(no_mangle)]
pub extern "C" fn weir_http_callbacks() -> u32 {
    declared().raw()
}

/// The host asks for `size` bytes to copy data into; they are released by the SDK code that
/// takes them over (as a `Vec<u8>` of exactly `size`).
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    if size == 0 {
        return NonNull::<u8>::dangling().as_ptr();
    }
    match Layout::array::<u8>(size) {
        // SAFETY: a non-zero size; a null result tells the host the allocation failed.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_context_create(context_id: u32, root_context_id: u32) {
    create(context_id, root_context_id);
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_vm_start(context_id: u32, vm_configuration_size: usize) -> bool {
    with_root(context_id, false, |root| root.on_vm_start(vm_configuration_size))
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_configure(context_id: u32, plugin_configuration_size: usize) -> bool {
    with_root(context_id, false, |root| root.on_configure(plugin_configuration_size))
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_tick(context_id: u32) {
    with_root(context_id, (), |root| root.on_tick());
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_queue_ready(context_id: u32, queue_id: u32) {
    with_root(context_id, (), |root| root.on_queue_ready(queue_id));
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_done(context_id: u32) -> bool {
    let http = declared().contains(HttpCallbacks::DONE);
    with_entry(context_id, true, |entry| match entry {
        Entry::Http(_) if !http => true,
        entry => entry.context().on_done(),
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_log(context_id: u32) {
    let http = declared().contains(HttpCallbacks::LOG);
    with_entry(context_id, (), |entry| match entry {
        Entry::Root(root) => root.on_log(),
        Entry::Http(context) if http => context.on_log(),
        Entry::Http(_) => {}
        Entry::Stream(stream) => stream.on_log(),
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_new_connection(context_id: u32) -> u32 {
    with_stream(context_id, Action::Continue, |stream| stream.on_new_connection()).raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_downstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 {
    with_stream(context_id, Action::Continue, |stream| {
        stream.on_downstream_data(data_size, end_of_stream != 0)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_upstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 {
    with_stream(context_id, Action::Continue, |stream| stream.on_upstream_data(data_size, end_of_stream != 0))
        .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_downstream_connection_close(context_id: u32, peer_type: u32) {
    let peer = PeerType::from_raw(peer_type).unwrap_or(PeerType::Unknown);
    with_stream(context_id, (), |stream| stream.on_downstream_close(peer));
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_upstream_connection_close(context_id: u32, peer_type: u32) {
    let peer = PeerType::from_raw(peer_type).unwrap_or(PeerType::Unknown);
    with_stream(context_id, (), |stream| stream.on_upstream_close(peer));
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    delete(context_id);
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 {
    with_http(context_id, HttpCallbacks::REQUEST_HEADERS, Action::Continue, |http| {
        http.on_http_request_headers(num_headers, end_of_stream != 0)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 {
    with_http(context_id, HttpCallbacks::REQUEST_BODY, Action::Continue, |http| {
        http.on_http_request_body(body_size, end_of_stream != 0)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_trailers(context_id: u32, num_trailers: usize) -> u32 {
    with_http(context_id, HttpCallbacks::REQUEST_TRAILERS, Action::Continue, |http| {
        http.on_http_request_trailers(num_trailers)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 {
    with_http(context_id, HttpCallbacks::RESPONSE_HEADERS, Action::Continue, |http| {
        http.on_http_response_headers(num_headers, end_of_stream != 0)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 {
    with_http(context_id, HttpCallbacks::RESPONSE_BODY, Action::Continue, |http| {
        http.on_http_response_body(body_size, end_of_stream != 0)
    })
    .raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_trailers(context_id: u32, num_trailers: usize) -> u32 {
    with_http(context_id, HttpCallbacks::RESPONSE_TRAILERS, Action::Continue, |http| {
        http.on_http_response_trailers(num_trailers)
    })
    .raw()
}

/// Delivers a callout event to the context that started it, with hostcalls acting for it.
fn deliver(calls: Calls, token: u32, last: bool, f: impl FnOnce(&mut Entry)) {
    let Some(context_id) = owner(calls, token, last) else {
        log::debug!("weir-sdk: callout event for unknown token {token} ignored");
        return;
    };
    if host::set_effective_context(context_id).is_ok() {
        with_entry(context_id, (), f);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_http_call_response(
    _context_id: u32,
    token: u32,
    num_headers: usize,
    body_size: usize,
    num_trailers: usize,
) {
    deliver(Calls::Http, token, true, |entry| {
        entry.context().on_http_call_response(token, num_headers, body_size, num_trailers)
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_grpc_receive_initial_metadata(_context_id: u32, token: u32, headers: u32) {
    deliver(Calls::GrpcStream, token, false, |entry| {
        entry.context().on_grpc_stream_initial_metadata(token, headers)
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_grpc_receive(_context_id: u32, token: u32, response_size: usize) {
    if owner(Calls::Grpc, token, false).is_some() {
        deliver(Calls::Grpc, token, true, |entry| {
            entry.context().on_grpc_call_response(token, 0, response_size)
        });
    } else {
        deliver(Calls::GrpcStream, token, false, |entry| {
            entry.context().on_grpc_stream_message(token, response_size)
        });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_grpc_receive_trailing_metadata(_context_id: u32, token: u32, trailers: u32) {
    deliver(Calls::GrpcStream, token, false, |entry| {
        entry.context().on_grpc_stream_trailing_metadata(token, trailers)
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_grpc_close(_context_id: u32, token: u32, status_code: u32) {
    if owner(Calls::Grpc, token, false).is_some() {
        deliver(Calls::Grpc, token, true, |entry| {
            entry.context().on_grpc_call_response(token, status_code, 0)
        });
    } else {
        deliver(Calls::GrpcStream, token, true, |entry| {
            entry.context().on_grpc_stream_close(token, status_code)
        });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_foreign_function(context_id: u32, function_id: u32, arguments_size: usize) {
    if host::set_effective_context(context_id).is_ok() {
        with_entry(context_id, (), |entry| entry.context().on_foreign_function(function_id, arguments_size));
    }
}
