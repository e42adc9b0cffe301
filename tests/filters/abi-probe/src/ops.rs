//! The operation interpreter.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::types::Action;

use crate::program::Op;
use crate::raw;

thread_local! {
    static QUEUES: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
    static METRICS: RefCell<HashMap<String, u32>> = RefCell::new(HashMap::new());
}

/// What an operation list runs against and produces.
#[derive(Debug, Default)]
pub struct Scope {
    /// Recorded `(id, value)` pairs, reported as `x-probe-<id>` response headers.
    pub report: Vec<(String, String)>,
    /// What the callback returns.
    pub action: Option<Action>,
    /// `end_of_stream` of the current body/headers callback.
    pub eos: bool,
    /// Size argument of the current callback.
    pub size: usize,
    /// Per-context counters.
    pub counters: HashMap<String, u64>,
    /// gRPC messages received so far.
    pub grpc: Vec<String>,
    /// Token of the last gRPC callout.
    pub last_grpc: Option<u32>,
    /// A local reply was sent.
    pub replied: bool,
    /// What `Append` built so far per id (the report is emptied once written).
    pub trail: HashMap<String, String>,
}

impl Scope {
    /// What `Append` built so far for `id`.
    fn counters_text(&self, id: &str) -> Option<String> {
        self.trail.get(id).cloned()
    }
}

/// Status names, so cases read `NotFound` rather than `1`.
pub fn status_name(status: u32) -> String {
    let name = match status {
        0 => "Ok",
        1 => "NotFound",
        2 => "BadArgument",
        3 => "SerializationFailure",
        4 => "ParseFailure",
        5 => "BadExpression",
        6 => "InvalidMemoryAccess",
        7 => "Empty",
        8 => "CasMismatch",
        9 => "ResultMismatch",
        10 => "InternalFailure",
        11 => "BrokenConnection",
        12 => "Unimplemented",
        other => return format!("Status{other}"),
    };
    name.to_string()
}

fn value(result: raw::Raw) -> String {
    match result {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => "<none>".into(),
        Err(s) => format!("!{}", status_name(s)),
    }
}

fn encode_property(bytes: &[u8], kind: Option<&str>) -> String {
    match kind.unwrap_or("str") {
        "int" => match <[u8; 8]>::try_from(bytes) {
            Ok(b) => i64::from_le_bytes(b).to_string(),
            Err(_) => format!("!len{}", bytes.len()),
        },
        "bool" => match bytes {
            [0] => "false".into(),
            [1] => "true".into(),
            _ => format!("!len{}", bytes.len()),
        },
        "len" => bytes.len().to_string(),
        "hex" => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        "present" => "yes".into(),
        "addr" => {
            let text = String::from_utf8_lossy(bytes);
            match text.rsplit_once(':') {
                Some((ip, port)) if port.parse::<u16>().is_ok() => format!("{ip}:PORT"),
                _ => format!("!format:{text}"),
            }
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn record(scope: &mut Scope, id: &Option<String>, value: impl Into<String>) {
    if let Some(id) = id {
        scope.report.push((id.clone(), value.into()));
    }
}

fn status(scope: &mut Scope, id: &Option<String>, s: u32) {
    record(scope, id, status_name(s));
}

fn queue_token(vm_id: &str, name: &str) -> Result<u32, u32> {
    if let Some(token) = QUEUES.with(|q| q.borrow().get(name).copied()) {
        return Ok(token);
    }
    raw::queue_resolve(vm_id, name)
}

fn cas_update(key: &str, f: impl Fn(&[u8]) -> Vec<u8>) {
    for _ in 0..64 {
        let (current, cas) = match raw::shared_get(key) {
            Ok((v, cas)) => (v.unwrap_or_default(), cas),
            Err(_) => (Vec::new(), 0),
        };
        if raw::shared_set(key, &f(&current), cas) == 0 {
            return;
        }
    }
}

/// A cluster, service or method argument: `$<header>` takes the value of that request header
/// (empty when absent), anything else is used as is.
fn arg(value: &str) -> String {
    match value.strip_prefix('$') {
        Some(header) => raw::get_header(0, header)
            .ok()
            .flatten()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default(),
        None => value.to_string(),
    }
}

/// Runs `ops` in order.
pub fn run(ops: &[Op], scope: &mut Scope) {
    for op in ops {
        run_one(op, scope);
    }
}

fn run_one(op: &Op, scope: &mut Scope) {
    match op {
        Op::GetHeader { map, name, id } => {
            let v = value(raw::get_header(map.raw(), name));
            scope.report.push((id.clone(), v));
        }
        Op::GetPairs { map, id, only } => {
            let v = match raw::get_pairs(map.raw()) {
                Ok(bytes) => raw::decode_pairs(&bytes.unwrap_or_default())
                    .into_iter()
                    .filter(|(k, _)| only.is_empty() || only.contains(k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::PairNames { map, id } => {
            let v = match raw::get_pairs(map.raw()) {
                Ok(bytes) => raw::decode_pairs(&bytes.unwrap_or_default())
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>()
                    .join(";"),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::SetPairs { map, pairs, id } => {
            let s = raw::set_pairs(map.raw(), &raw::encode_pairs(pairs));
            status(scope, id, s);
        }
        Op::MapSize { map, id } => {
            let v = match raw::map_size(map.raw()) {
                Ok(n) => n.to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::AddHeader { map, name, value, id } => status(scope, id, raw::add_header(map.raw(), name, value)),
        Op::SetHeader { map, name, value, id } => {
            status(scope, id, raw::replace_header(map.raw(), name, value))
        }
        Op::RemoveHeader { map, name, id } => status(scope, id, raw::remove_header(map.raw(), name)),
        Op::GetProperty { path, id, kind } => {
            let v = match raw::get_property(path) {
                Ok(Some(bytes)) => encode_property(&bytes, kind.as_deref()),
                Ok(None) => match kind.as_deref() {
                    Some("present") => "yes".into(),
                    _ => "<empty>".into(),
                },
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::SetProperty { path, value, id } => status(scope, id, raw::set_property(path, value.as_bytes())),
        Op::GetBuffer { buffer, start, max, id } => {
            let v = value(raw::get_buffer(buffer.raw(), *start, *max));
            scope.report.push((id.clone(), v));
        }
        Op::SetBuffer { buffer, start, len, value, id } => {
            status(scope, id, raw::set_buffer(buffer.raw(), *start, *len, value.as_bytes()))
        }
        Op::BufferStatus { buffer, id } => {
            let v = match raw::buffer_status(buffer.raw()) {
                Ok(n) => n.to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::BodyTransform { buffer, mode, value } => {
            if !scope.eos {
                scope.action = Some(Action::Pause);
                return;
            }
            let kind = buffer.raw();
            let current = raw::get_buffer(kind, 0, scope.size).ok().flatten().unwrap_or_default();
            let text = String::from_utf8_lossy(&current).into_owned();
            let new = match mode.as_str() {
                "upper" => text.to_uppercase(),
                "append" => format!("{text}{value}"),
                "prepend" => format!("{value}{text}"),
                _ => value.clone(),
            };
            raw::set_buffer(kind, 0, current.len(), new.as_bytes());
        }
        Op::BufferUntilEos => {
            if !scope.eos {
                scope.action = Some(Action::Pause);
            }
        }
        Op::RecordEos { id } => {
            let v = scope.eos.to_string();
            scope.report.push((id.clone(), v));
        }
        Op::RecordSize { id } => {
            let v = scope.size.to_string();
            scope.report.push((id.clone(), v));
        }
        Op::Count { id } => {
            let n = scope.counters.entry(id.clone()).or_default();
            *n += 1;
            let v = n.to_string();
            scope.report.retain(|(k, _)| k != id);
            scope.report.push((id.clone(), v));
        }
        Op::SharedGet { key, id } => {
            let v = match raw::shared_get(key) {
                Ok((v, _)) => String::from_utf8_lossy(&v.unwrap_or_default()).into_owned(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::SharedSet { key, value, cas, id } => {
            status(scope, id, raw::shared_set(key, value.as_bytes(), *cas))
        }
        Op::SharedAppend { key, value } => cas_update(key, |cur| {
            let mut out = cur.to_vec();
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(value.as_bytes());
            out
        }),
        Op::SharedIncrement { key } => cas_update(key, |cur| {
            let n: u64 = String::from_utf8_lossy(cur).parse().unwrap_or(0);
            (n + 1).to_string().into_bytes()
        }),
        Op::QueueRegister { name, id } => match raw::queue_register(name) {
            Ok(token) => {
                QUEUES.with(|q| q.borrow_mut().insert(name.clone(), token));
                status(scope, id, 0);
            }
            Err(s) => status(scope, id, s),
        },
        Op::QueueResolve { vm_id, name, id } => {
            let v = match raw::queue_resolve(vm_id, name) {
                Ok(_) => "Ok".to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::Enqueue { vm_id, name, value, id } => {
            let s = match queue_token(vm_id, name) {
                Ok(token) => raw::enqueue(token, value.as_bytes()),
                Err(s) => s,
            };
            status(scope, id, s);
        }
        Op::EnqueueResolved { vm_id, name, value, id } => {
            let s = match raw::queue_resolve(vm_id, name) {
                Ok(token) => raw::enqueue(token, value.as_bytes()),
                Err(s) => s,
            };
            status(scope, id, s);
        }
        Op::Dequeue { token, id } => {
            let v = value(raw::dequeue(*token));
            scope.report.push((id.clone(), v));
        }
        Op::DrainQueueTo { name, key } => {
            let Ok(token) = queue_token("", name) else { return };
            while let Ok(Some(item)) = raw::dequeue(token) {
                let item = String::from_utf8_lossy(&item).into_owned();
                run_one(&Op::SharedAppend { key: key.clone(), value: item }, scope);
            }
        }
        Op::MetricDefine { kind, name, id } => match raw::define_metric(*kind, name) {
            Ok(metric) => {
                METRICS.with(|m| m.borrow_mut().insert(name.clone(), metric));
                status(scope, id, 0);
            }
            Err(s) => status(scope, id, s),
        },
        Op::MetricIncrement { name, delta, id } => {
            let metric = METRICS.with(|m| m.borrow().get(name).copied()).unwrap_or(u32::MAX);
            status(scope, id, raw::increment_metric(metric, *delta));
        }
        Op::MetricRecord { name, value, id } => {
            let metric = METRICS.with(|m| m.borrow().get(name).copied()).unwrap_or(u32::MAX);
            status(scope, id, raw::record_metric(metric, *value));
        }
        Op::MetricGet { name, id } => {
            let metric = METRICS.with(|m| m.borrow().get(name).copied()).unwrap_or(u32::MAX);
            let v = match raw::get_metric(metric) {
                Ok(v) => v.to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::MetricRawGet { metric, id } => {
            let v = match raw::get_metric(*metric) {
                Ok(v) => v.to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::HttpCall { cluster, headers, forward, body, timeout_ms, id } => {
            let mut pairs = headers.clone();
            for (from, to) in forward {
                if let Ok(Some(v)) = raw::get_header(0, from) {
                    pairs.push((to.clone(), String::from_utf8_lossy(&v).into_owned()));
                }
            }
            // Through the SDK, which must know the token to route the response.
            let headers: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let body = (!body.is_empty()).then_some(body.as_bytes());
            let timeout = std::time::Duration::from_millis(u64::from(*timeout_ms));
            let s = match proxy_wasm::hostcalls::dispatch_http_call(cluster, headers, body, vec![], timeout) {
                Ok(_) => 0,
                Err(s) => s as u32,
            };
            status(scope, id, s);
        }
        Op::GrpcCall {
            cluster,
            service,
            method,
            message,
            message_from_header,
            metadata,
            timeout_ms,
            timeout_from_header,
            id,
        } => {
            let mut message = message.clone();
            if let Some(header) = message_from_header
                && let Ok(Some(v)) = raw::get_header(0, header)
            {
                message = String::from_utf8_lossy(&v).into_owned();
            }
            let meta: Vec<(&str, &[u8])> = metadata.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
            let mut timeout_ms = u64::from(*timeout_ms);
            if let Some(header) = timeout_from_header
                && let Ok(Some(v)) = raw::get_header(0, header)
                && let Ok(ms) = String::from_utf8_lossy(&v).parse::<u64>()
            {
                timeout_ms = ms;
            }
            let timeout = std::time::Duration::from_millis(timeout_ms);
            match proxy_wasm::hostcalls::dispatch_grpc_call(
                &arg(cluster),
                &arg(service),
                &arg(method),
                meta,
                Some(message.as_bytes()),
                timeout,
            ) {
                Ok(token) => {
                    scope.last_grpc = Some(token);
                    status(scope, id, 0);
                }
                Err(s) => status(scope, id, s as u32),
            }
        }
        Op::GrpcStream { cluster, service, method, messages, message_from_header, half_close, id } => {
            let mut messages = messages.clone();
            if let Some(header) = message_from_header
                && let Ok(Some(v)) = raw::get_header(0, header)
            {
                messages = vec![String::from_utf8_lossy(&v).into_owned()];
            }
            match proxy_wasm::hostcalls::open_grpc_stream(&arg(cluster), &arg(service), &arg(method), vec![])
                .map_err(|s| s as u32)
            {
                Ok(token) => {
                    scope.last_grpc = Some(token);
                    let last = messages.len().saturating_sub(1);
                    for (i, m) in messages.iter().enumerate() {
                        raw::grpc_send(token, m.as_bytes(), *half_close && i == last);
                    }
                    if *half_close && messages.is_empty() {
                        raw::grpc_close(token);
                    }
                    status(scope, id, 0);
                }
                Err(s) => status(scope, id, s),
            }
        }
        Op::GrpcCancelLast { id } => {
            let s = scope.last_grpc.map_or(1, raw::grpc_cancel);
            status(scope, &Some(id.clone()), s);
        }
        Op::GrpcCloseLast { id } => {
            let s = scope.last_grpc.map_or(1, raw::grpc_close);
            status(scope, &Some(id.clone()), s);
        }
        Op::GrpcStatus { id } | Op::GetStatus { id } => {
            let v = match raw::get_status() {
                Ok((code, message)) => format!("{code}:{}", String::from_utf8_lossy(&message)),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::GrpcCollect => {
            let message = value(raw::get_buffer(5, 0, usize::MAX / 2));
            scope.grpc.push(message);
        }
        Op::GrpcReport { id } => {
            let v = scope.grpc.join(",");
            scope.report.push((id.clone(), v));
        }
        Op::IfHeader { map, name, equals, then, otherwise } => {
            let current = raw::get_header(map.raw(), name).ok().flatten().unwrap_or_default();
            if current == equals.as_bytes() {
                run(then, scope);
            } else {
                run(otherwise, scope);
            }
        }
        Op::LocalReply { status: code, body, body_from_call, headers, details, id } => {
            let mut headers = headers.clone();
            headers.extend(scope.report.iter().map(|(k, v)| (format!("x-probe-{k}"), v.clone())));
            let body = if *body_from_call {
                let call = raw::get_buffer(4, 0, usize::MAX / 2).ok().flatten().unwrap_or_default();
                format!("{body}{}", String::from_utf8_lossy(&call))
            } else {
                body.clone()
            };
            let s = raw::send_local_response(*code, details, body.as_bytes(), &raw::encode_pairs(&headers));
            scope.replied = true;
            status(scope, id, s);
        }
        Op::Pause => scope.action = Some(Action::Pause),
        Op::ContinueRequest { id } => status(scope, id, raw::continue_stream(0)),
        Op::ContinueResponse { id } => status(scope, id, raw::continue_stream(1)),
        Op::ContinueStream { kind, id } => status(scope, &Some(id.clone()), raw::continue_stream(*kind)),
        Op::CloseStream { kind, id } => status(scope, &Some(id.clone()), raw::close_stream(*kind)),
        Op::Log { level, message, id } => status(scope, id, raw::log(*level, message)),
        Op::LogFlood { count, size, level } => {
            let message = format!("abi-probe log flood {}", "x".repeat(*size));
            for _ in 0..*count {
                let _ = raw::log(*level, &message);
            }
        }
        Op::LogLevel { id } => {
            let v = match raw::log_level() {
                Ok(l) => l.to_string(),
                Err(s) => format!("!{}", status_name(s)),
            };
            scope.report.push((id.clone(), v));
        }
        Op::SetEffectiveContext { context, id } => {
            status(scope, &Some(id.clone()), raw::set_effective_context(*context))
        }
        Op::Done { id } => status(scope, &Some(id.clone()), raw::done()),
        Op::Foreign { name, args, id } => {
            let v = value(raw::foreign(name, args.as_bytes()));
            scope.report.push((id.clone(), v));
        }
        Op::SharedGetOutOfBounds { id } => status(scope, &Some(id.clone()), raw::shared_get_out_of_bounds()),
        Op::Tick { ms } => {
            let _ = proxy_wasm::hostcalls::set_tick_period(std::time::Duration::from_millis(u64::from(*ms)));
        }
        #[allow(clippy::panic)]
        Op::Panic => panic!("abi-probe: panic requested by the test"),
        Op::LoopForever => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Op::Recurse => {
            recurse(std::hint::black_box(0));
        }
        Op::GrowMemory { mb } => {
            let mut hoard = Vec::with_capacity(*mb * 1024 * 1024);
            hoard.resize(*mb * 1024 * 1024, 1u8);
            std::mem::forget(hoard);
        }
        Op::Record { id, value } => scope.report.push((id.clone(), value.clone())),
        Op::Env { name, id } => {
            let value = std::env::var(name).unwrap_or_else(|_| "<unset>".into());
            scope.report.push((id.clone(), value));
        }
        Op::Append { id, value } => {
            let joined = match scope.report.iter().position(|(k, _)| k == id) {
                Some(at) => format!("{},{value}", scope.report.remove(at).1),
                None => {
                    scope.counters_text(id).map_or_else(|| value.clone(), |prev| format!("{prev},{value}"))
                }
            };
            scope.trail.insert(id.clone(), joined.clone());
            scope.report.push((id.clone(), joined));
        }
    }
}

/// Deeper and deeper, until the host's stack limit stops it. Locals stay in wasm locals (no
/// shadow-stack frame), so it is the engine's native stack that runs out.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))).wrapping_add(depth)
}
