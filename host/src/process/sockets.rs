//! Listener sockets: one per worker for each listener, bound with SO_REUSEPORT (the kernel
//! spreads connections across workers), at start and for listeners a reload adds.

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use super::StartError;

/// Sockets for `listeners`: per worker, one per listener by name; and each listener's bound
/// address.
pub(crate) type Bound = (Vec<Vec<(String, std::net::TcpListener)>>, Vec<(String, SocketAddr)>);

/// Binds `workers` sockets for each listener (see [`bind`]).
pub(crate) fn bind_listeners<'a>(
    listeners: impl Iterator<Item = &'a crate::config::ListenerConfig>,
    workers: usize,
) -> Result<Bound, StartError> {
    let mut per_worker: Vec<Vec<(String, std::net::TcpListener)>> =
        (0..workers).map(|_| Vec::new()).collect();
    let mut addresses = Vec::new();
    for listener in listeners {
        let sockets = bind(listener.address, workers).map_err(|source| StartError::Bind {
            listener: listener.name.clone(),
            address: listener.address,
            source,
        })?;
        let actual = sockets.first().and_then(|s| s.local_addr().ok()).unwrap_or(listener.address);
        addresses.push((listener.name.clone(), actual));
        for (slot, socket) in per_worker.iter_mut().zip(sockets) {
            slot.push((listener.name.clone(), socket));
        }
    }
    Ok((per_worker, addresses))
}

/// Binds `count` sockets to `addr` with SO_REUSEPORT (port 0 is resolved by the first).
fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let first = bind_one(addr)?;
    let actual = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..count {
        sockets.push(bind_one(actual)?);
    }
    Ok(sockets)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
