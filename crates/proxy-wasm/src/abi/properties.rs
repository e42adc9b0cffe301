//! `proxy_get_property` / `proxy_set_property` with Envoy's attribute names and encodings:
//! strings as raw bytes, integers as 8-byte little-endian, booleans as one byte, times as
//! nanoseconds. Paths are `\0`-separated segments.
//!
//! `proxy_set_property` writes filter state of the stream (root contexts have none: NotFound);
//! `proxy_get_property` reads it back by its first segment, after the built-in attributes, as
//! Envoy does. The deprecated top-level `cluster_name` and `route_name` are NotFound, as in
//! Envoy 1.40; use `xds.cluster_name` / `xds.route_name`.

use std::net::SocketAddr;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};
use weir_http::HttpStream;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_get_property", get_property)?;
    linker.func_wrap(ENV, "proxy_set_property", set_property)?;
    Ok(())
}

/// A property path split into its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PropertyPath(pub Vec<Vec<u8>>);

impl PropertyPath {
    /// Splits the raw `\0`-separated path.
    pub(crate) fn parse(raw: &[u8]) -> PropertyPath {
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        PropertyPath(raw.split(|b| *b == 0).map(<[u8]>::to_vec).collect())
    }

    fn segments(&self) -> Vec<&str> {
        self.0.iter().map(|s| std::str::from_utf8(s).unwrap_or("\u{fffd}")).collect()
    }
}

fn int(v: i64) -> Bytes {
    Bytes::copy_from_slice(&v.to_le_bytes())
}

fn text(v: impl Into<String>) -> Bytes {
    Bytes::from(v.into())
}

fn addr(a: SocketAddr) -> Bytes {
    text(a.to_string())
}

fn get_property(mut caller: Caller<'_, HostState>, pp: i32, ps: i32, vpp: i32, vsp: i32) -> HostResult {
    if ps as u32 as usize > MAX_PATH {
        return Ok(Status::NotFound.raw() as i32);
    }
    let value =
        memory::with_bytes(&mut caller, pp, ps, |raw, state| lookup(state, &PropertyPath::parse(raw)));
    match value.and_then(|r| r) {
        Ok(value) => memory::copy_out_status(&mut caller, &value, vpp, vsp),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn set_property(mut caller: Caller<'_, HostState>, pp: i32, ps: i32, vp: i32, vs: i32) -> HostResult {
    let result = memory::with_two(&mut caller, (pp, ps), (vp, vs), |path, value, state| {
        let key = path.strip_suffix(&[0]).unwrap_or(path);
        set_filter_state(state, key, value)
    });
    Ok(status(result.and_then(|r| r)))
}

/// Stores filter state for the effective context's stream, within the plugin's
/// `max_filter_state_bytes` (`BadArgument` past it). Root contexts have no stream and so no
/// filter state: Envoy answers NotFound.
pub(super) fn set_filter_state(state: &HostState, key: &[u8], value: &[u8]) -> Result<(), Status> {
    let limit = state.limits.max_filter_state_bytes;
    if key.len() + value.len() > limit {
        state.limit_exceeded("max_filter_state_bytes");
        return Err(Status::BadArgument);
    }
    let stream = state.effective_stream().ok_or(Status::NotFound)?;
    let stored =
        stream.data.borrow_mut().set_filter_state(key.to_vec(), Bytes::copy_from_slice(value), limit);
    if !stored {
        state.limit_exceeded("max_filter_state_bytes");
        return Err(Status::BadArgument);
    }
    Ok(())
}

/// Longest property path looked up (no attribute comes close); longer ones are NotFound
/// without being parsed.
const MAX_PATH: usize = 4096;

/// Resolves a property for the effective context.
pub(crate) fn lookup(state: &HostState, path: &PropertyPath) -> Result<Bytes, Status> {
    let segments = path.segments();
    let Some(first) = segments.first() else {
        return Err(Status::NotFound);
    };
    let root = state.root_of(state.effective_context);
    let plugin_value = match *first {
        "plugin_name" => root.map(|r| text(&*r.plugin_name)),
        "plugin_root_id" => root.map(|r| text(&*r.root_id)),
        "plugin_vm_id" => Some(text(state.vm_id())),
        _ => None,
    };
    if let Some(value) = plugin_value {
        return if segments.len() == 1 { Ok(value) } else { Err(Status::NotFound) };
    }
    // The proxy's identity, from any context.
    if let ["xds", "node", rest @ ..] = segments.as_slice() {
        let node = state.env.process.node.read().clone();
        return super::node::property(&node, rest);
    }
    if let Some(stream) = state.effective_stream() {
        let data = stream.data.borrow();
        if let Some(value) = stream_attribute(&data, &segments) {
            return Ok(value);
        }
        if segments.len() == 1
            && let Some(value) = data.filter_state.get(&path.0[0])
        {
            return Ok(value.clone());
        }
        return Err(Status::NotFound);
    }
    Err(Status::NotFound)
}

/// The built-in attributes of an HTTP stream.
fn stream_attribute(s: &HttpStream, segments: &[&str]) -> Option<Bytes> {
    let req = &s.request_headers;
    let info = &s.info;
    let header =
        |map: Option<&weir_http::HeaderMap>, name: &str| map.and_then(|m| m.get(name.as_bytes()).cloned());
    match segments {
        ["request", "path"] => req.get(b":path").cloned(),
        ["request", "url_path"] => req.get_str(":path").map(|p| text(p.split('?').next().unwrap_or(p))),
        ["request", "query"] => req.get_str(":path").map(|p| text(p.split_once('?').map_or("", |(_, q)| q))),
        ["request", "host"] => req.get(b":authority").cloned(),
        ["request", "scheme"] => req.get(b":scheme").cloned(),
        ["request", "method"] => req.get(b":method").cloned(),
        ["request", "referer"] => req.get(b"referer").cloned(),
        ["request", "useragent"] => req.get(b"user-agent").cloned(),
        ["request", "id"] => req.get(b"x-request-id").cloned(),
        ["request", "protocol"] => Some(text(info.protocol)),
        ["request", "time"] => {
            let nanos = info.start_time.duration_since(UNIX_EPOCH).ok()?.as_nanos();
            Some(int(i64::try_from(nanos).ok()?))
        }
        ["request", "duration"] => {
            let elapsed = info.start_time.elapsed().ok()?.as_nanos();
            (s.phase == weir_http::Phase::Done).then(|| int(i64::try_from(elapsed).unwrap_or(i64::MAX)))
        }
        ["request", "size"] => Some(int(info.request_body_bytes as i64)),
        ["request", "headers", name] => header(Some(req), name),
        ["response", "code"] => info.response_code.map(|c| int(i64::from(c))),
        ["response", "code_details"] => {
            (!info.response_code_details.is_empty()).then(|| text(info.response_code_details.clone()))
        }
        ["response", "flags"] => info.response_code.map(|_| int(0)),
        ["response", "size"] => info.response_code.map(|_| int(info.response_body_bytes as i64)),
        ["response", "headers", name] => header(s.response_headers.as_ref(), name),
        ["response", "trailers", name] => header(s.response_trailers.as_ref(), name),
        ["request", "trailers", name] => header(s.request_trailers.as_ref(), name),
        ["source", "address"] => Some(addr(info.downstream_remote)),
        ["source", "port"] => Some(int(i64::from(info.downstream_remote.port()))),
        ["destination", "address"] => Some(addr(info.downstream_local)),
        ["destination", "port"] => Some(int(i64::from(info.downstream_local.port()))),
        ["connection", "id"] => Some(int(info.connection_id as i64)),
        ["connection", "mtls"] => {
            Some(Bytes::copy_from_slice(&[u8::from(info.downstream_tls.as_ref().is_some_and(|t| t.mtls()))]))
        }
        ["connection", "requested_server_name"] => {
            Some(text(info.downstream_tls.as_ref().and_then(|t| t.server_name.clone()).unwrap_or_default()))
        }
        ["connection", name] => tls_property(info.downstream_tls.as_deref(), name),
        ["upstream", name] if name.contains("certificate") || *name == "tls_version" => {
            tls_property(info.upstream_tls.as_deref(), name)
        }
        ["upstream", "address"] => info.upstream_address.map(addr),
        ["upstream", "port"] => info.upstream_address.map(|a| int(i64::from(a.port()))),
        ["xds", "cluster_name"] => info.cluster_name.clone().map(text),
        ["xds", "route_name"] => Some(text(info.route_name.clone())),
        ["xds", "listener_name"] => Some(text(info.listener_name.clone())),
        ["xds", "listener_metadata"] => Some(info.metadata.listener.clone()),
        ["xds", "route_metadata"] => info.metadata.route.clone(),
        ["xds", "cluster_metadata"] => info.metadata.cluster.clone(),
        // The request's dynamic metadata: only Envoy's native filters write it, so with Wasm
        // filters it is the empty message, in Envoy as in weir.
        ["metadata"] => Some(Bytes::new()),
        _ => None,
    }
}

/// Envoy's TLS attributes of a connection (`tls_version`, `subject_peer_certificate`, ...):
/// none on a plaintext connection; the first DNS or URI SAN for the `*_san_*` ones. As in
/// Envoy, a subject is an empty string when that side has no certificate, while a SAN or a
/// digest is then not found.
fn tls_property(tls: Option<&weir_http::TlsInfo>, name: &str) -> Option<Bytes> {
    let tls = tls?;
    let (local, peer) = (tls.local.as_ref(), tls.peer.as_ref());
    let subject = |c: Option<&weir_http::CertSummary>| c.map(|c| c.subject.clone()).unwrap_or_default();
    let value = match name {
        "tls_version" => tls.version.to_string(),
        "subject_local_certificate" => subject(local),
        "subject_peer_certificate" => subject(peer),
        "dns_san_local_certificate" => local?.dns_sans.first()?.clone(),
        "dns_san_peer_certificate" => peer?.dns_sans.first()?.clone(),
        "uri_san_local_certificate" => local?.uri_sans.first()?.clone(),
        "uri_san_peer_certificate" => peer?.uri_sans.first()?.clone(),
        "sha256_peer_certificate_digest" => peer?.sha256.clone(),
        _ => return None,
    };
    Some(text(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(PropertyPath::parse(b"request\0path").0, vec![b"request".to_vec(), b"path".to_vec()]);
        assert_eq!(PropertyPath::parse(b"x\0").0, vec![b"x".to_vec()]);
    }

    proptest::proptest! {
        /// Any path a guest passes splits into segments that join back to it.
        #[test]
        fn any_path_splits_and_joins(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..MAX_PATH.min(512))) {
            let path = PropertyPath::parse(&raw);
            let joined = path.0.join(&0u8);
            let trimmed = raw.strip_suffix(&[0]).unwrap_or(&raw);
            proptest::prop_assert_eq!(&joined[..], trimmed);
            let _ = path.segments();
        }
    }
}
