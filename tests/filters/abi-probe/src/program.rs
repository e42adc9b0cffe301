//! The probe's configuration: which operations to run in which callback.

use serde::Deserialize;

/// A header map, by name or raw ABI number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MapRef {
    /// Raw ABI value (to test invalid ones).
    Raw(u32),
    /// `request_headers`, `request_trailers`, `response_headers`, `response_trailers`,
    /// `grpc_initial`, `grpc_trailing`, `call_headers`, `call_trailers`.
    Name(String),
}

impl MapRef {
    pub fn raw(&self) -> u32 {
        match self {
            MapRef::Raw(n) => *n,
            MapRef::Name(name) => match name.as_str() {
                "request_headers" => 0,
                "request_trailers" => 1,
                "response_headers" => 2,
                "response_trailers" => 3,
                "grpc_initial" => 4,
                "grpc_trailing" => 5,
                "call_headers" => 6,
                "call_trailers" => 7,
                _ => 99,
            },
        }
    }
}

/// A buffer, by name or raw ABI number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BufferRef {
    /// Raw ABI value.
    Raw(u32),
    /// `request_body`, `response_body`, `call_body`, `grpc_message`, `vm_config`,
    /// `plugin_config`, `call_data`.
    Name(String),
}

impl BufferRef {
    pub fn raw(&self) -> u32 {
        match self {
            BufferRef::Raw(n) => *n,
            BufferRef::Name(name) => match name.as_str() {
                "request_body" => 0,
                "response_body" => 1,
                "call_body" => 4,
                "grpc_message" => 5,
                "vm_config" => 6,
                "plugin_config" => 7,
                "call_data" => 8,
                _ => 99,
            },
        }
    }
}

fn zero() -> u32 {
    0
}

fn info() -> u32 {
    2
}

fn max() -> usize {
    usize::MAX / 2
}

/// One operation. Operations with an `id` record their result, reported to the client as the
/// response header `x-probe-<id>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    GetHeader {
        map: MapRef,
        name: String,
        id: String,
    },
    GetPairs {
        map: MapRef,
        id: String,
        #[serde(default)]
        only: Vec<String>,
    },
    PairNames {
        map: MapRef,
        id: String,
    },
    SetPairs {
        map: MapRef,
        pairs: Vec<(String, String)>,
        #[serde(default)]
        id: Option<String>,
    },
    MapSize {
        map: MapRef,
        id: String,
    },
    AddHeader {
        map: MapRef,
        name: String,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    SetHeader {
        map: MapRef,
        name: String,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    RemoveHeader {
        map: MapRef,
        name: String,
        #[serde(default)]
        id: Option<String>,
    },
    GetProperty {
        path: Vec<String>,
        id: String,
        #[serde(default, rename = "as")]
        kind: Option<String>,
    },
    SetProperty {
        path: Vec<String>,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    GetBuffer {
        buffer: BufferRef,
        #[serde(default)]
        start: usize,
        #[serde(default = "max")]
        max: usize,
        id: String,
    },
    SetBuffer {
        buffer: BufferRef,
        start: usize,
        len: usize,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    BufferStatus {
        buffer: BufferRef,
        id: String,
    },
    /// Rewrites a whole body once the end of stream is reached (pausing until then).
    BodyTransform {
        buffer: BufferRef,
        mode: String,
        #[serde(default)]
        value: String,
    },
    /// Returns Pause unless this body callback has end_of_stream.
    BufferUntilEos,
    RecordEos {
        id: String,
    },
    RecordSize {
        id: String,
    },
    Count {
        id: String,
    },
    SharedGet {
        key: String,
        id: String,
    },
    SharedSet {
        key: String,
        value: String,
        #[serde(default = "zero")]
        cas: u32,
        #[serde(default)]
        id: Option<String>,
    },
    SharedAppend {
        key: String,
        value: String,
    },
    SharedIncrement {
        key: String,
    },
    QueueRegister {
        name: String,
        #[serde(default)]
        id: Option<String>,
    },
    QueueResolve {
        #[serde(default)]
        vm_id: String,
        name: String,
        id: String,
    },
    Enqueue {
        #[serde(default)]
        vm_id: String,
        name: String,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    /// Resolves `(vm_id, name)` (never the token cached at registration) and enqueues on it.
    EnqueueResolved {
        #[serde(default)]
        vm_id: String,
        name: String,
        value: String,
        #[serde(default)]
        id: Option<String>,
    },
    Dequeue {
        token: u32,
        id: String,
    },
    /// Dequeues everything from a queue and appends it to a shared-data key.
    DrainQueueTo {
        name: String,
        key: String,
    },
    MetricDefine {
        kind: u32,
        name: String,
        #[serde(default)]
        id: Option<String>,
    },
    MetricIncrement {
        name: String,
        delta: i64,
        #[serde(default)]
        id: Option<String>,
    },
    MetricRecord {
        name: String,
        value: u64,
        #[serde(default)]
        id: Option<String>,
    },
    MetricGet {
        name: String,
        id: String,
    },
    MetricRawGet {
        metric: u32,
        id: String,
    },
    HttpCall {
        cluster: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        forward: Vec<(String, String)>,
        #[serde(default)]
        body: String,
        #[serde(default = "zero")]
        timeout_ms: u32,
        #[serde(default)]
        id: Option<String>,
    },
    /// `cluster`, `service` and `method` of `GrpcCall` and `GrpcStream` may be `$<header>`:
    /// the value of that request header.
    GrpcCall {
        cluster: String,
        service: String,
        method: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        message_from_header: Option<String>,
        #[serde(default)]
        metadata: Vec<(String, String)>,
        #[serde(default = "zero")]
        timeout_ms: u32,
        #[serde(default)]
        timeout_from_header: Option<String>,
        #[serde(default)]
        id: Option<String>,
    },
    GrpcStream {
        cluster: String,
        service: String,
        method: String,
        #[serde(default)]
        messages: Vec<String>,
        /// A request header whose value, when present, is the one message to send instead.
        #[serde(default)]
        message_from_header: Option<String>,
        #[serde(default)]
        half_close: bool,
        #[serde(default)]
        id: Option<String>,
    },
    GrpcCancelLast {
        id: String,
    },
    /// `proxy_grpc_close` on the last gRPC callout of this context.
    GrpcCloseLast {
        id: String,
    },
    GrpcStatus {
        id: String,
    },
    GrpcCollect,
    GrpcReport {
        id: String,
    },
    GetStatus {
        id: String,
    },
    /// Runs `then` if a header equals a value, else `otherwise`.
    IfHeader {
        map: MapRef,
        name: String,
        equals: String,
        then: Vec<Op>,
        #[serde(default)]
        otherwise: Vec<Op>,
    },
    LocalReply {
        status: u32,
        #[serde(default)]
        body: String,
        #[serde(default)]
        body_from_call: bool,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        details: String,
        #[serde(default)]
        id: Option<String>,
    },
    Pause,
    ContinueRequest {
        #[serde(default)]
        id: Option<String>,
    },
    ContinueResponse {
        #[serde(default)]
        id: Option<String>,
    },
    ContinueStream {
        kind: u32,
        id: String,
    },
    CloseStream {
        kind: u32,
        id: String,
    },
    Log {
        level: u32,
        message: String,
        #[serde(default)]
        id: Option<String>,
    },
    /// Logs `count` messages of `size` bytes at `level` (default info), to flood the host's log.
    LogFlood {
        count: u32,
        #[serde(default)]
        size: usize,
        #[serde(default = "info")]
        level: u32,
    },
    LogLevel {
        id: String,
    },
    SetEffectiveContext {
        context: u32,
        id: String,
    },
    Done {
        id: String,
    },
    Foreign {
        name: String,
        #[serde(default)]
        args: String,
        id: String,
    },
    SharedGetOutOfBounds {
        id: String,
    },
    Tick {
        ms: u32,
    },
    Panic,
    LoopForever,
    /// Recurses without end, to overflow the stack.
    Recurse,
    GrowMemory {
        mb: usize,
    },
    Record {
        id: String,
        value: String,
    },
    /// Reads an environment variable through WASI (`<unset>` when absent).
    Env {
        name: String,
        id: String,
    },
    /// Appends `value` to what `id` reports (comma-separated), to show the order of callbacks.
    Append {
        id: String,
        value: String,
    },
}

/// Operations per callback.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// `on_vm_start` (root).
    #[serde(default)]
    pub vm_start: Vec<Op>,
    /// `on_configure` (root).
    #[serde(default)]
    pub configure: Vec<Op>,
    /// Answer false from `on_configure`.
    #[serde(default)]
    pub reject_configuration: bool,
    /// `on_tick` (root).
    #[serde(default)]
    pub tick: Vec<Op>,
    /// `on_queue_ready` (root).
    #[serde(default)]
    pub queue_ready: Vec<Op>,
    /// Root's `on_done`; `root_done_later` answers false and calls `proxy_done` on the next tick.
    #[serde(default)]
    pub root_done_later: bool,
    /// Callbacks of HTTP contexts.
    #[serde(default)]
    pub request_headers: Vec<Op>,
    #[serde(default)]
    pub request_body: Vec<Op>,
    #[serde(default)]
    pub request_trailers: Vec<Op>,
    #[serde(default)]
    pub response_headers: Vec<Op>,
    #[serde(default)]
    pub response_body: Vec<Op>,
    #[serde(default)]
    pub response_trailers: Vec<Op>,
    #[serde(default)]
    pub http_call_response: Vec<Op>,
    #[serde(default)]
    pub grpc_message: Vec<Op>,
    #[serde(default)]
    pub grpc_close: Vec<Op>,
    /// A stream's initial metadata arrived (the size is the number of entries).
    #[serde(default)]
    pub grpc_initial_metadata: Vec<Op>,
    /// A stream's trailing metadata arrived (the size is the number of entries).
    #[serde(default)]
    pub grpc_trailing_metadata: Vec<Op>,
    #[serde(default)]
    pub log: Vec<Op>,
    #[serde(default)]
    pub done: Vec<Op>,
}
