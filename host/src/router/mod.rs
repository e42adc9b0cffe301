//! Two-level routing as in Envoy: a virtual host by `:authority`, then the first route whose
//! path and header conditions match.

mod headers;
mod matcher;
mod query;
mod redirect;
mod retry;

use std::rc::Rc;
use std::time::Duration;

pub use headers::HeaderMutation;
pub use matcher::{DomainMatcher, HeaderCondition, PathMatcher};
pub use retry::{HashOn, Retry};

use crate::config::{ListenerConfig, RouteConfig};
use weir_http::HeaderMap;
use weir_proxy_wasm::plugin::PluginHandle;

/// What a matched route does.
#[derive(Debug, Clone)]
pub enum RouteTarget {
    /// Forward to a named cluster.
    Cluster(String),
    /// Forward to the cluster named by this request header.
    ClusterHeader(String),
    /// Forward to one of these clusters, by weight.
    Weighted(Rc<Weighted>),
    /// Answer with a redirection.
    Redirect(Rc<crate::config::Redirect>),
    /// Answer with a fixed response.
    Direct {
        /// Status.
        status: u16,
        /// Body.
        body: String,
    },
}

/// Clusters chosen at random by weight (Envoy's `weighted_clusters`).
#[derive(Debug)]
pub struct Weighted {
    /// Each cluster and the running sum of the weights up to it.
    clusters: Vec<(String, u64)>,
    total: u64,
}

impl Weighted {
    fn new(config: &crate::config::WeightedClusters) -> Result<Weighted, String> {
        let mut total = 0u64;
        let clusters = config
            .clusters
            .iter()
            .filter(|c| c.weight > 0)
            .map(|c| {
                total += u64::from(c.weight);
                (c.name.clone(), total)
            })
            .collect();
        match total {
            0 => Err("weighted_clusters: the weights add up to 0".into()),
            _ => Ok(Weighted { clusters, total }),
        }
    }

    /// A cluster, at random by weight.
    pub fn pick(&self) -> &str {
        self.pick_at(fastrand::u64(0..self.total))
    }

    fn pick_at(&self, point: u64) -> &str {
        let at = self.clusters.partition_point(|(_, upto)| *upto <= point);
        self.clusters.get(at).or(self.clusters.last()).map_or("", |(name, _)| name.as_str())
    }

    /// Whether `name` is one of the clusters (with a weight).
    pub fn contains(&self, name: &str) -> bool {
        self.clusters.iter().any(|(n, _)| n == name)
    }
}

/// A compiled route.
pub struct Route {
    /// Route name (`route_name` property).
    pub name: String,
    /// The route's metadata, serialized (`xds.route_metadata`).
    pub metadata: bytes::Bytes,
    path: PathMatcher,
    headers: Vec<HeaderCondition>,
    query: Vec<query::QueryCondition>,
    /// What to do.
    pub target: RouteTarget,
    /// Whole-request timeout (`None`: disabled).
    pub timeout: Option<Duration>,
    /// The route's `idle_timeout` in place of the listener's `stream_idle_timeout` (`Some(None)`:
    /// none; `None`: the listener's).
    pub idle_timeout: Option<Option<Duration>>,
    /// Prefix to replace the matched prefix with.
    pub prefix_rewrite: Option<String>,
    /// Path rewrite by regular expression: the expression and the replacement (Rust syntax).
    pub regex_rewrite: Option<(regex::Regex, String)>,
    /// New `:authority`.
    pub host_rewrite: Option<String>,
    /// Retry policy.
    pub retry: Option<Retry>,
    /// Consistent-hash key.
    pub hash: Option<HashOn>,
    /// The status when the cluster chosen does not exist (Envoy's
    /// `cluster_not_found_response_code`).
    pub cluster_not_found: u32,
    /// Changes to the request sent upstream.
    pub request_headers: HeaderMutation,
    /// Changes to the upstream's response, before the plugins see it.
    pub response_headers: HeaderMutation,
    /// The plugins run for requests on this route.
    pub plugins: Rc<[Rc<PluginHandle>]>,
    /// Stats handles.
    pub stats: crate::stats::RouteStats,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route").field("name", &self.name).field("target", &self.target).finish()
    }
}

impl Route {
    /// The `location` of a redirect route's answer to a request with these headers.
    pub fn redirect_location(&self, redirect: &crate::config::Redirect, headers: &HeaderMap) -> String {
        redirect::location(redirect, headers, self.path.prefix_len())
    }

    /// Whether the route changes the headers sent upstream (`prefix_rewrite`, `host_rewrite`,
    /// `request_headers_to_*`).
    pub fn rewrites(&self) -> bool {
        self.prefix_rewrite.is_some()
            || self.regex_rewrite.is_some()
            || self.host_rewrite.is_some()
            || !self.request_headers.is_empty()
    }

    /// Applies `prefix_rewrite`, `host_rewrite` and the request header changes to the headers
    /// sent upstream.
    pub fn rewrite(&self, headers: &mut HeaderMap) {
        self.request_headers.apply(headers);
        if let (Some(new_prefix), Some(len)) = (&self.prefix_rewrite, self.path.prefix_len())
            && let Some(path) = headers.get_str(":path")
            && let Some(rest) = path.get(len..)
        {
            let rewritten = format!("{new_prefix}{rest}");
            headers.set(":path", rewritten);
        }
        if let Some((pattern, replacement)) = &self.regex_rewrite
            && let Some(full) = headers.get_str(":path")
        {
            let (path, query) = query::split_query(full);
            let mut rewritten = pattern.replace_all(path, replacement.as_str()).into_owned();
            if let Some(query) = query {
                rewritten.push('?');
                rewritten.push_str(query);
            }
            headers.set(":path", rewritten);
        }
        if let Some(host) = &self.host_rewrite {
            headers.set(":authority", host.clone());
        }
    }
}

struct VirtualHost {
    domains: Vec<DomainMatcher>,
    routes: Vec<Rc<Route>>,
}

/// The routes of one listener.
pub struct RouteTable {
    vhosts: Vec<VirtualHost>,
    /// The listener-wide plugins (used when no route matches).
    pub default_plugins: Rc<[Rc<PluginHandle>]>,
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable").field("vhosts", &self.vhosts.len()).finish()
    }
}

impl RouteTable {
    /// Compiles a listener's routes; `plugin` resolves plugin names to this worker's handles.
    /// The config was validated, so names and regexes are known to be good; anything that
    /// still fails is reported.
    pub fn build(
        listener: &ListenerConfig,
        plugin: &dyn Fn(&str) -> Option<Rc<PluginHandle>>,
        stats: &crate::stats::Stats,
    ) -> Result<RouteTable, String> {
        let resolve = |names: &[String]| -> Result<Rc<[Rc<PluginHandle>]>, String> {
            names
                .iter()
                .map(|n| plugin(n).ok_or_else(|| format!("plugin `{n}` is not loaded")))
                .collect::<Result<Vec<_>, _>>()
                .map(Rc::from)
        };
        let default_plugins = resolve(&listener.http_filters)?;
        let mut vhosts = Vec::new();
        for vhost in &listener.virtual_hosts {
            let domains = vhost.domains.iter().map(|d| DomainMatcher::new(d)).collect();
            let mut routes = Vec::new();
            for route in &vhost.routes {
                let plugins = match &route.http_filters {
                    Some(names) => resolve(names)?,
                    None => default_plugins.clone(),
                };
                let stats = stats.route(&listener.name, &route.name);
                routes.push(Rc::new(compile_route(route, plugins, stats)?));
            }
            vhosts.push(VirtualHost { domains, routes });
        }
        Ok(RouteTable { vhosts, default_plugins })
    }

    /// The route for a request, if any.
    pub fn find(&self, headers: &HeaderMap) -> Option<Rc<Route>> {
        let authority = headers.get_str(":authority").unwrap_or("");
        let path = headers.get_str(":path").unwrap_or("/");
        let vhost = self.vhost(authority)?;
        vhost
            .routes
            .iter()
            .find(|r| {
                r.path.matches(path)
                    && r.headers.iter().all(|h| h.matches(headers))
                    && r.query.iter().all(|q| q.matches(path))
            })
            .cloned()
    }

    /// Envoy's precedence, against the whole `:authority` (a port included, as Envoy does
    /// without `strip_matching_host_port`).
    fn vhost(&self, authority: &str) -> Option<&VirtualHost> {
        let mut best: Option<(&VirtualHost, (u8, usize))> = None;
        for vhost in &self.vhosts {
            for domain in &vhost.domains {
                if let Some(rank) = domain.rank(authority)
                    && best.is_none_or(|(_, b)| rank > b)
                {
                    best = Some((vhost, rank));
                }
            }
        }
        best.map(|(v, _)| v)
    }
}

fn compile_route(
    route: &RouteConfig,
    plugins: Rc<[Rc<PluginHandle>]>,
    stats: crate::stats::RouteStats,
) -> Result<Route, String> {
    let path = PathMatcher::new(&route.matcher)?;
    let headers = route.matcher.headers.iter().map(HeaderCondition::new).collect::<Result<Vec<_>, _>>()?;
    let query = route
        .matcher
        .query_parameters
        .iter()
        .map(query::QueryCondition::new)
        .collect::<Result<Vec<_>, _>>()?;
    let action = route.route.as_ref();
    let retry = action.and_then(|a| a.retry_policy.as_ref()).map(Retry::new).transpose()?;
    let hash = action.and_then(|a| a.hash_policy.as_ref()).map(HashOn::new).transpose()?;
    let action_kinds = (&route.route, &route.direct_response, &route.redirect);
    let (target, timeout, prefix_rewrite, host_rewrite) = match action_kinds {
        (None, None, Some(redirect)) => (RouteTarget::Redirect(Rc::new(redirect.clone())), None, None, None),
        (Some(action), _, _) => {
            let target = match (&action.cluster, &action.cluster_header, &action.weighted_clusters) {
                (Some(c), _, _) => RouteTarget::Cluster(c.clone()),
                (None, Some(h), _) => RouteTarget::ClusterHeader(h.to_ascii_lowercase()),
                (None, None, Some(w)) => RouteTarget::Weighted(Rc::new(Weighted::new(w)?)),
                (None, None, None) => {
                    return Err("route has neither cluster, cluster_header nor weighted_clusters".into());
                }
            };
            let timeout = (!action.timeout.is_zero()).then_some(action.timeout);
            (target, timeout, action.prefix_rewrite.clone(), action.host_rewrite.clone())
        }
        (None, Some(direct), _) => {
            (RouteTarget::Direct { status: direct.status, body: direct.body.clone() }, None, None, None)
        }
        (None, None, None) => return Err("route has no action".into()),
    };
    Ok(Route {
        name: route.name.clone(),
        metadata: crate::config::encoded_metadata(route.metadata.as_ref()),
        path,
        headers,
        query,
        target,
        timeout,
        idle_timeout: route.route.as_ref().and_then(|a| a.idle_timeout).map(|d| (!d.is_zero()).then_some(d)),
        prefix_rewrite,
        regex_rewrite: route
            .route
            .as_ref()
            .and_then(|a| a.regex_rewrite.as_ref())
            .map(|r| {
                let pattern = regex::Regex::new(&r.pattern.regex).map_err(|e| e.to_string())?;
                Ok::<_, String>((pattern, substitution(&r.substitution)))
            })
            .transpose()?,
        host_rewrite,
        retry,
        hash,
        cluster_not_found: action.and_then(|a| a.cluster_not_found_response_code).map_or(503, |c| c.status()),
        request_headers: HeaderMutation::new(
            &route.request_headers_to_add,
            &route.request_headers_to_remove,
        )?,
        response_headers: HeaderMutation::new(
            &route.response_headers_to_add,
            &route.response_headers_to_remove,
        )?,
        plugins,
        stats,
    })
}

/// Envoy's substitution (`\N` is group N) in the `regex` crate's syntax (`${N}`, `$$`).
fn substitution(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Weighted;
    use crate::config::{ClusterWeight, WeightedClusters};

    #[test]
    fn substitutions_use_groups() {
        assert_eq!(super::substitution("/v2/\\1/$x"), "/v2/${1}/$$x");
    }

    #[test]
    fn weights_split_the_range() {
        let config = WeightedClusters {
            clusters: vec![
                ClusterWeight { name: "a".into(), weight: 90 },
                ClusterWeight { name: "off".into(), weight: 0 },
                ClusterWeight { name: "b".into(), weight: 10 },
            ],
        };
        let w = Weighted::new(&config).unwrap();
        assert_eq!((w.pick_at(0), w.pick_at(89), w.pick_at(90), w.pick_at(99)), ("a", "a", "b", "b"));
        assert!(!w.contains("off"));
        let b = (0..10_000).filter(|_| w.pick() == "b").count();
        assert!((700..1300).contains(&b), "{b} of 10000 for a 10% weight");
    }
}
