//! One request/response exchange from start to end: route, plugin chain on request headers,
//! upstream (or local/direct reply), plugin chain on response headers, then filtered bodies.

use std::rc::Rc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

use super::FilteredBody;
use super::chain::{Chain, Direction, Halt};
use super::listener::{ConnectionInfo, ListenerContext};
use crate::router::{Route, RouteTarget};
use crate::upstream::UpstreamError;
use weir_http::convert::{
    downstream_response, protocol_name, request_map, response_map, upgrade_request_map, upgrade_response_map,
    upstream_request,
};
use weir_http::{
    BoxBody, BoxError, HttpStream, LocalReply, Phase, StreamInfo, StreamShared, XdsMetadata, full_body,
};

/// Entry point for one request.
#[derive(Debug)]
pub struct Exchange;

impl Exchange {
    /// Serves one request arrived on a connection `watch` looks after. An `Err` resets the
    /// downstream stream.
    pub async fn serve(
        listener: Rc<ListenerContext>,
        conn: ConnectionInfo,
        watch: &Rc<super::ConnWatch>,
        request: Request<Incoming>,
    ) -> Result<Response<BoxBody>, BoxError> {
        watch.on_request();
        // HTTP/1 heads are held to `max_request_headers` by the parser; HTTP/2 ones here.
        if request.headers().len() > listener.limits.max_headers {
            let reply = LocalReply::host(431, "Request Header Fields Too Large", "too_many_headers");
            return Ok(weir_http::local_reply_response(&reply));
        }
        // An upgrade (WebSocket, …) the listener does not proxy is refused before any plugin
        // runs, as Envoy refuses one it is not configured for.
        let upgrade = match super::upgrade::protocol(request.headers()) {
            None => None,
            Some(protocol) if proxied(&listener, protocol, request.version()) => Some(protocol.clone()),
            Some(_) => {
                let reply = LocalReply::host(403, Bytes::new(), "upgrade_failed");
                return Ok(weir_http::local_reply_response(&reply));
            }
        };
        let (mut parts, body) = request.into_parts();
        // An upgrade keeps `connection` and `upgrade` for the plugins and the upstream, where
        // the client put them, as Envoy keeps them.
        let mut headers = match upgrade {
            None => request_map(&mut parts, conn.tls.is_some()),
            Some(_) => upgrade_request_map(&mut parts, conn.tls.is_some()),
        };
        if let Some(reply) = super::path::normalize(&listener, &mut headers) {
            return Ok(reply);
        }
        super::forwarded::apply(&listener, conn.remote, conn.tls.is_some(), &mut headers);
        let route = listener.routes.find(&headers);
        let plugins =
            route.as_ref().map_or_else(|| listener.routes.default_plugins.clone(), |r| r.plugins.clone());
        let cluster = route.as_ref().and_then(|r| match &r.target {
            RouteTarget::Cluster(c) => Some(c.clone()),
            RouteTarget::Weighted(w) => Some(w.pick().to_string()),
            _ => None,
        });
        let info = StreamInfo {
            downstream_remote: conn.remote,
            downstream_local: conn.local,
            connection_id: conn.id,
            downstream_tls: conn.tls.clone(),
            start_time: SystemTime::now(),
            protocol: protocol_name(parts.version),
            listener_name: listener.name.clone(),
            route_name: route.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            // A weighted route's cluster is chosen now, as Envoy does when it picks the route.
            cluster_name: cluster.clone(),
            metadata: XdsMetadata {
                listener: listener.metadata.clone(),
                route: route.as_ref().map(|r| r.metadata.clone()),
                cluster: cluster.as_deref().and_then(|c| cluster_metadata(&listener, c)),
            },
            body_limit: listener.buffer_limit,
            ..StreamInfo::default()
        };
        let end_of_stream = body.is_end_stream();
        let stream = Rc::new(StreamShared::new(HttpStream {
            request_headers: headers,
            info,
            downstream_complete: end_of_stream,
            ..HttpStream::default()
        }));
        let span = listener.tracer.as_ref().map(|t| t.start(&stream.data.borrow().request_headers));
        let chain = Rc::new(Chain::new(stream.clone(), &plugins));
        chain.on_finish(finisher(&listener, route.as_ref(), span));
        watch.track(&stream, route.as_ref().and_then(|r| r.idle_timeout));
        let deadline = listener.request_timeout;
        let upgrade = upgrade.map(|_| watch.clone());
        // Held so that a timed-out exchange ends (stats, access log, span) with its reply
        // recorded, once `run` is gone.
        let _ending = chain.clone();
        let run = Run { listener, chain, stream: stream.clone(), upgrade, span };
        tokio::select! {
            response = run.go(route, body, end_of_stream) => response,
            () = request_timer(&stream, deadline) => {
                // As Envoy: 504 if the whole request had arrived (a filter or the route held
                // it), 408 while it was still arriving.
                Ok(timed_out(&stream, "request timeout", "request_overall_timeout"))
            }
            () = stream.activity.stopped() => {
                // No progress for `stream_idle_timeout` (or the route's `idle_timeout`) before
                // the response began: as Envoy, 504 if the whole request had arrived, 408 while
                // it was still arriving.
                Ok(timed_out(&stream, "stream timeout", "stream_idle_timeout"))
            }
        }
    }
}

/// The reply to an exchange that timed out (504 if the whole request had arrived, else 408),
/// recorded in its info.
fn timed_out(stream: &StreamShared, body: &'static str, details: &'static str) -> Response<BoxBody> {
    let mut data = stream.data.borrow_mut();
    let status = if data.downstream_complete { 504 } else { 408 };
    let reply = LocalReply::host(status, body, details);
    record_reply(&mut data.info, &reply);
    weir_http::local_reply_response(&reply)
}

/// Records `reply` as the exchange's response: its status and details (spaces made `_`).
fn record_reply(info: &mut StreamInfo, reply: &LocalReply) {
    info.response_code = u16::try_from(reply.status).ok();
    info.response_code_details = reply.details.replace(' ', "_");
}

/// The listener's `request_timeout`: fires after `limit` unless the request went upstream whole
/// or the response began before then (Envoy's request timer); never without a limit.
async fn request_timer(stream: &StreamShared, limit: Option<std::time::Duration>) {
    let Some(limit) = limit else { return std::future::pending().await };
    tokio::time::sleep(limit).await;
    if stream.data.borrow().request_timer_disarmed {
        std::future::pending::<()>().await;
    }
}

/// What runs when an exchange ends: listener and route stats, the access log line.
/// The serialized metadata of cluster `name` (`xds.cluster_metadata`), if it exists.
fn cluster_metadata(listener: &ListenerContext, name: &str) -> Option<Bytes> {
    Some(listener.upstreams.get(name)?.state().metadata.clone())
}

fn finisher(
    listener: &ListenerContext,
    route: Option<&Rc<Route>>,
    span: Option<crate::trace::RequestSpan>,
) -> super::chain::Finisher {
    let stats = listener.stats.clone();
    let route_stats = route.map(|r| r.stats.clone());
    let access_log = listener.access_log.clone();
    let tracer = listener.tracer.clone();
    Box::new(move |stream: &HttpStream, chain: &Chain| {
        if let (Some(tracer), Some(span)) = (&tracer, &span) {
            tracer.finish(span, stream, chain.plugin_times());
        }
        let info = &stream.info;
        let status = info.response_code.unwrap_or(0);
        let elapsed = info.start_time.elapsed().unwrap_or_default();
        stats.requests.record(status);
        stats.observe(elapsed);
        if let Some(route) = &route_stats {
            route.requests.record(status);
            route.latency.observe(crate::stats::seconds(elapsed));
        }
        if let Some(log) = &access_log {
            log.write(&crate::access_log::Record {
                stream,
                details: &info.response_code_details,
                duration: elapsed,
            });
        }
    })
}

/// Whether the listener proxies upgrades to `protocol` (HTTP/1.1 only, as Envoy's codec).
fn proxied(listener: &ListenerContext, protocol: &http::HeaderValue, version: http::Version) -> bool {
    version == http::Version::HTTP_11
        && listener.upgrade_types.iter().any(|t| protocol.as_bytes().eq_ignore_ascii_case(t.as_bytes()))
}

struct Run {
    listener: Rc<ListenerContext>,
    chain: Rc<Chain>,
    stream: Rc<StreamShared>,
    /// An upgrade request: its connection, to hand the upgraded upstream to.
    upgrade: Option<Rc<super::ConnWatch>>,
    /// The request's trace span (tracing on).
    span: Option<crate::trace::RequestSpan>,
}

impl Run {
    async fn go(
        self,
        route: Option<Rc<Route>>,
        body: Incoming,
        end_of_stream: bool,
    ) -> Result<Response<BoxBody>, BoxError> {
        let downstream_http1 = self.stream.data.borrow().info.protocol != "HTTP/2";
        let limit = self.listener.buffer_limit;
        let phased = super::request_phase::run(
            &self.chain,
            &self.stream,
            body,
            end_of_stream,
            limit,
            downstream_http1,
        )
        .await;
        let phased = match phased {
            Ok(phased) => phased,
            Err(halt) => return self.halted(halt).await,
        };
        let route = if std::mem::take(&mut self.stream.data.borrow_mut().clear_route_cache) {
            self.listener.routes.find(&self.stream.data.borrow().request_headers)
        } else {
            route
        };
        let Some(route) = route else {
            return self.local(LocalReply::host(404, Bytes::new(), "route_not_found"), None).await;
        };
        let cluster_name = match &route.target {
            RouteTarget::Direct { status, body } => {
                let reply = LocalReply::host(u32::from(*status), body.clone(), "direct_response");
                // As Envoy, the route's response header changes apply to its direct response.
                return self.local_edited(reply, None, Some(&route.response_headers)).await;
            }
            RouteTarget::Redirect(redirect) => {
                let location = route.redirect_location(redirect, &self.stream.data.borrow().request_headers);
                let mut reply = LocalReply::host(
                    u32::from(redirect.response_code.status()),
                    Bytes::new(),
                    "direct_response",
                );
                reply.headers.push((Bytes::from_static(b"location"), Bytes::from(location)));
                return self.local_edited(reply, None, Some(&route.response_headers)).await;
            }
            RouteTarget::Cluster(name) => name.clone(),
            RouteTarget::Weighted(weighted) => {
                // The choice made with the route, unless plugins moved the request to another.
                let chosen = self.stream.data.borrow().info.cluster_name.clone();
                chosen.filter(|c| weighted.contains(c)).unwrap_or_else(|| weighted.pick().to_string())
            }
            RouteTarget::ClusterHeader(header) => {
                let value = self.stream.data.borrow().request_headers.get_str(header).map(str::to_string);
                match value {
                    Some(name) => name,
                    None => {
                        return self
                            .local(
                                LocalReply::host(route.cluster_not_found, Bytes::new(), "cluster_not_found"),
                                None,
                            )
                            .await;
                    }
                }
            }
        };
        let from_header = matches!(route.target, RouteTarget::ClusterHeader(_));
        let cluster = self.listener.upstreams.get(&cluster_name).cloned();
        // A cluster named by a request header must not be an internal one (the control plane,
        // a plugin's JWKS or rate-limit service): to the client it does not exist.
        let Some(cluster) = cluster.filter(|c| !(from_header && c.state().config.internal)) else {
            return self
                .local(LocalReply::host(route.cluster_not_found, Bytes::new(), "cluster_not_found"), None)
                .await;
        };
        {
            let mut data = self.stream.data.borrow_mut();
            data.info.metadata.cluster = cluster_metadata(&self.listener, &cluster_name);
            data.info.cluster_name = Some(cluster_name);
        }

        // The body through the plugins that have not seen it yet (all of them, unless one
        // held the headers to look at the body first).
        let request_body: Option<BoxBody> = phased.body.map(|body| {
            let order = (phased.from..self.chain.slots.len()).collect();
            weir_http::boxed(FilteredBody::new(
                body,
                self.chain.clone(),
                Direction::Request,
                order,
                limit,
                downstream_http1 && !phased.whole,
            ))
        });
        // weir's span is the upstream's parent (written after the request plugins, which see
        // the trace as it came, as Envoy's router writes it).
        if let (Some(tracer), Some(span)) = (&self.listener.tracer, &self.span) {
            tracer.inject(&mut self.stream.data.borrow_mut().request_headers, span);
        }
        // The upstream request head, built from the request headers as the plugins left them
        // (the route's rewrites applied to a copy), and the load balancer's hash key.
        let prepared = {
            let data = self.stream.data.borrow();
            let rewritten = route.rewrites().then(|| {
                let mut headers = data.request_headers.clone();
                route.rewrite(&mut headers);
                headers
            });
            let headers = rewritten.as_ref().unwrap_or(&data.request_headers);
            let key = route.hash.as_ref().and_then(|h| h.key(headers, data.info.downstream_remote.ip()));
            // An upgrade goes over HTTP/1.1 whatever the cluster speaks (its connection is
            // its own).
            let http2 = cluster.http2() && self.upgrade.is_none();
            upstream_request(headers, (), http2).map(|head| (head, key))
        };
        let (head, key) = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => {
                let reply = self.upstream_failure(&UpstreamError::Reset(reason));
                return self.local(reply, None).await;
            }
        };
        if end_of_stream {
            // Nothing more to send: the request is upstream once forwarding starts.
            self.stream.data.borrow_mut().request_timer_disarmed = true;
        }
        if let Some(conn) = self.upgrade.clone() {
            return self.upgrade(&cluster, &route, head, key, &conn).await;
        }
        let forwarded = super::forward::forward(&cluster, &route, head, key, request_body, &self.stream);
        let timed = async {
            match route.timeout {
                Some(limit) => tokio::time::timeout(limit, forwarded).await.unwrap_or_else(|_| {
                    let state = cluster.state();
                    state.stats.timeouts.inc();
                    state.stats.requests.record(504);
                    Err(UpstreamError::Timeout)
                }),
                None => forwarded.await,
            }
        };
        let outcome = tokio::select! {
            response = timed => Ok(response),
            halt = self.chain.halted() => Err(halt),
        };
        let response = match outcome {
            Ok(response) => response,
            Err(halt) => return self.halted(halt).await,
        };
        match response {
            Ok(forwarded) => self.respond(&route, forwarded.response, forwarded.started).await,
            Err(error) => {
                if let Some(halt) = self.chain.take_halt() {
                    return self.halted(halt).await;
                }
                let reply = self.upstream_failure(&error);
                self.local(reply, None).await
            }
        }
    }

    /// Sends an upgrade request on a connection of its own; a 101 the response plugins let
    /// through hands the upgraded upstream to the client's connection.
    async fn upgrade(
        self,
        cluster: &Rc<crate::upstream::Cluster>,
        route: &Route,
        head: Request<()>,
        key: Option<u64>,
        conn: &super::ConnWatch,
    ) -> Result<Response<BoxBody>, BoxError> {
        self.stream.data.borrow_mut().request_timer_disarmed = true;
        let started = std::time::Instant::now();
        let request = head.map(|()| weir_http::empty_body());
        let sent = cluster.upgrade(request, key);
        let sent = match route.timeout {
            Some(limit) => tokio::time::timeout(limit, sent).await.unwrap_or(Err(UpstreamError::Timeout)),
            None => sent.await,
        };
        let upgrading = match sent {
            Ok(upgrading) => upgrading,
            Err(error) => {
                let reply = self.upstream_failure(&error);
                return self.local(reply, None).await;
            }
        };
        let response = self.respond_with(route, upgrading.response, started, true).await?;
        if response.status() == http::StatusCode::SWITCHING_PROTOCOLS
            && let Some(upstream) = upgrading.upgrade
        {
            conn.set_upgrade(upstream);
        }
        Ok(response)
    }

    async fn respond(
        self,
        route: &Route,
        response: Response<crate::upstream::UpstreamBody>,
        started: std::time::Instant,
    ) -> Result<Response<BoxBody>, BoxError> {
        self.respond_with(route, response, started, false).await
    }

    /// [`Run::respond`]; the answer to an `upgrade` keeps its `connection` and `upgrade`
    /// headers.
    async fn respond_with(
        self,
        route: &Route,
        response: Response<crate::upstream::UpstreamBody>,
        started: std::time::Instant,
        upgrade: bool,
    ) -> Result<Response<BoxBody>, BoxError> {
        self.stream.data.borrow_mut().request_timer_disarmed = true;
        let (mut parts, body) = response.into_parts();
        let end_of_stream = body.is_end_stream();
        {
            let mut headers =
                if upgrade { upgrade_response_map(&mut parts) } else { response_map(&mut parts) };
            weir_http::add_service_time(&mut headers, started);
            route.response_headers.apply(&mut headers);
            let mut data = self.stream.data.borrow_mut();
            data.phase = Phase::Response;
            data.response_headers = Some(headers);
            data.info.response_code = Some(parts.status.as_u16());
            data.info.response_code_details = "via_upstream".into();
        }
        match self.chain.response_headers(end_of_stream).await {
            Ok(()) => {}
            // A local reply sent while encoding replaces the response as is (Envoy does not run
            // it through the response filters again).
            Err(Halt::LocalReply(_)) => {
                return match self.chain.take_local_reply() {
                    Some(reply) => Ok(plain_reply(&reply, &self.stream)),
                    None => Err("local reply vanished".into()),
                };
            }
            Err(halt) => return self.halted(halt).await,
        }
        let body = weir_http::boxed(body.map_err(|e| Box::new(e) as BoxError));
        let body = weir_http::boxed(super::watchdog::ReleasableBody::new(body, &self.stream.activity));
        // An HTTP/1 upstream ends its body with a separate empty chunk, as in Envoy.
        let split_eos = parts.version < http::Version::HTTP_2;
        Ok(self.downstream(body, split_eos))
    }

    /// Builds the downstream response from the (possibly modified) response headers, with the
    /// body flowing through the response plugins.
    fn downstream(self, body: BoxBody, split_eos: bool) -> Response<BoxBody> {
        let order = self.chain.response_order.borrow().clone();
        let body = weir_http::boxed(FilteredBody::new(
            body,
            self.chain.clone(),
            Direction::Response,
            order,
            self.listener.buffer_limit,
            split_eos,
        ));
        let too_large = {
            let data = self.stream.data.borrow();
            let headers = data.response_headers.as_ref();
            let limits = &self.listener.limits;
            let count = headers.map_or(0, |h| h.len());
            let bytes: usize =
                headers.map_or(0, |h| h.iter().map(|(k, v)| k.as_bytes().len() + v.len()).sum());
            count > limits.max_response_headers || bytes > limits.max_response_header_bytes
        };
        if too_large {
            // Envoy's codec refuses an oversized response head the same way: 502 to the client.
            self.listener.stats.response_headers_too_large.inc();
            let reply =
                LocalReply::host(502, "upstream response headers too large", "response_headers_too_large");
            return plain_reply(&reply, &self.stream);
        }
        let data = self.stream.data.borrow();
        match &data.response_headers {
            Some(headers) => downstream_response(headers, body),
            None => downstream_response(&weir_http::HeaderMap::default(), body),
        }
    }

    async fn halted(self, halt: Halt) -> Result<Response<BoxBody>, BoxError> {
        match halt {
            Halt::LocalReply(index) => match self.chain.take_local_reply() {
                Some(reply) => self.local(reply, Some(index)).await,
                None => Err("local reply vanished".into()),
            },
            Halt::Reset => Err("stream reset by a plugin".into()),
            Halt::Failed { plugin, .. } => {
                tracing::debug!(plugin = %plugin, "answering 503 for a failed plugin");
                Ok(plain_reply(&LocalReply::host(503, Bytes::new(), "wasm_fail_stream"), &self.stream))
            }
        }
    }

    /// Sends a local reply through the response plugins (from `from` down, when a plugin sent
    /// it during the request phase).
    /// Envoy's local reply for an upstream failure; the failure's response flag is recorded.
    fn upstream_failure(&self, error: &UpstreamError) -> LocalReply {
        self.stream.data.borrow_mut().info.response_flags = error.response_flag();
        let (status, body, details) = error.local_reply();
        LocalReply::host(u32::from(status), body, details)
    }

    async fn local(self, reply: LocalReply, from: Option<usize>) -> Result<Response<BoxBody>, BoxError> {
        self.local_edited(reply, from, None).await
    }

    /// [`Exchange::local`], with the reply's headers changed by `edit` before the plugins see them.
    async fn local_edited(
        self,
        reply: LocalReply,
        from: Option<usize>,
        edit: Option<&crate::router::HeaderMutation>,
    ) -> Result<Response<BoxBody>, BoxError> {
        if let Some(index) = from {
            self.chain.start_response_at(index);
        }
        let grpc = self.stream.data.borrow().is_grpc_request();
        let reply = if grpc { reply.into_grpc() } else { reply };
        let end_of_stream = reply.body.is_empty();
        {
            let mut data = self.stream.data.borrow_mut();
            data.phase = Phase::Response;
            let mut headers = reply.header_map();
            if let Some(edit) = edit {
                edit.apply(&mut headers);
            }
            data.response_headers = Some(headers);
            record_reply(&mut data.info, &reply);
        }
        match self.chain.response_headers(end_of_stream).await {
            Ok(()) => Ok(self.downstream(full_body(reply.body), false)),
            Err(Halt::LocalReply(_)) => match self.chain.take_local_reply() {
                // A second local reply while sending one goes out as is (as Envoy avoids loops).
                Some(second) => Ok(plain_reply(&second, &self.stream)),
                None => Err("local reply vanished".into()),
            },
            Err(Halt::Reset) => Err("stream reset by a plugin".into()),
            Err(Halt::Failed { .. }) => {
                Ok(plain_reply(&LocalReply::host(503, Bytes::new(), "wasm_fail_stream"), &self.stream))
            }
        }
    }
}

fn plain_reply(reply: &LocalReply, stream: &StreamShared) -> Response<BoxBody> {
    let grpc = {
        let mut data = stream.data.borrow_mut();
        record_reply(&mut data.info, reply);
        data.is_grpc_request()
    };
    if grpc {
        return weir_http::local_reply_response(&reply.clone().into_grpc());
    }
    weir_http::local_reply_response(reply)
}
