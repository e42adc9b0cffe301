//! Descriptors from requests: Envoy's route `rate_limits` actions (`request_headers`,
//! `remote_address`, `generic_key`) plus `request_path` and `consumer`.
//!
//! Each `rate_limits` entry yields one descriptor, its entries in action order. An action that
//! finds nothing drops the whole descriptor, unless it says `skip_if_absent` (then only that
//! entry is left out), as in Envoy. A descriptor with no entries is dropped.
//!
//! `request_path` takes the path's readings ([`weir_path::views`]), not the raw `:path`: a
//! path whose readings disagree (`/x/%252e%252e/login` is `/login` to a server that decodes
//! twice) yields its descriptor once per reading, and every one of them is charged, so no
//! spelling of a path escapes its limit.

use std::net::SocketAddr;

use serde::Deserialize;

/// A descriptor: `(key, value)` entries in order.
pub type Descriptor = Vec<(String, String)>;

/// What the actions read from a request (hostcalls in the filter, a map in tests).
pub trait RequestView {
    /// First value of a request header (name in lower case).
    fn header(&self, name: &str) -> Option<String>;
    /// The `:path` (with query).
    fn path(&self) -> Option<String>;
    /// The downstream peer, `ip:port` (property `source.address`).
    fn source_address(&self) -> Option<String>;
}

/// One entry of Envoy's route `rate_limits`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Actions, each adding one entry to the descriptor.
    pub actions: Vec<Action>,
}

/// A descriptor action (Envoy's `RateLimit.Action`, JSON form: `{"request_headers": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// A request header's value.
    RequestHeaders(RequestHeaders),
    /// The client's IP address, key `remote_address`.
    RemoteAddress(RemoteAddress),
    /// A fixed entry.
    GenericKey(GenericKey),
    /// The request path without its query, in each of its readings (weir; Envoy would use
    /// `request_headers` on `:path`, which keeps the query and the client's spelling).
    RequestPath(RequestPath),
    /// The consumer named by the auth filter in `consumer_header` (weir).
    Consumer(Consumer),
}

/// Envoy `RateLimit.Action.RequestHeaders`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestHeaders {
    /// Header to read.
    pub header_name: String,
    /// Entry key.
    pub descriptor_key: String,
    /// Leave the entry out (instead of the descriptor) when the header is absent.
    #[serde(default)]
    pub skip_if_absent: bool,
}

/// Envoy `RateLimit.Action.RemoteAddress` (no fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteAddress {}

/// Envoy `RateLimit.Action.GenericKey`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericKey {
    /// Entry value.
    pub descriptor_value: String,
    /// Entry key (default `generic_key`).
    #[serde(default = "generic_key")]
    pub descriptor_key: String,
}

/// The path without query, in each of its readings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPath {
    /// Entry key (default `path`).
    #[serde(default = "path_key")]
    pub descriptor_key: String,
}

/// The authenticated consumer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// Entry key (default `consumer`).
    #[serde(default = "consumer_key")]
    pub descriptor_key: String,
    /// Leave the entry out when there is no consumer (anonymous requests).
    #[serde(default)]
    pub skip_if_absent: bool,
}

fn generic_key() -> String {
    "generic_key".into()
}

fn path_key() -> String {
    "path".into()
}

fn consumer_key() -> String {
    "consumer".into()
}

impl Action {
    /// The entries this action may add (one, or one per reading of the path; none to skip
    /// it), or `Err(())` to drop the descriptor.
    fn entries(&self, request: &dyn RequestView, consumer_header: &str) -> Result<Vec<(String, String)>, ()> {
        let found = |key: &str, value: Option<String>, skip: bool| match value {
            Some(v) => Ok(vec![(key.to_string(), v)]),
            None if skip => Ok(Vec::new()),
            None => Err(()),
        };
        match self {
            Action::RequestHeaders(a) => found(
                &a.descriptor_key,
                request.header(&a.header_name.to_ascii_lowercase()),
                a.skip_if_absent,
            ),
            Action::RemoteAddress(_) => {
                found("remote_address", request.source_address().map(|a| client_ip(&a)), false)
            }
            Action::GenericKey(a) => Ok(vec![(a.descriptor_key.clone(), a.descriptor_value.clone())]),
            Action::RequestPath(a) => match request.path() {
                Some(path) => {
                    Ok(weir_path::views(&path).into_iter().map(|v| (a.descriptor_key.clone(), v)).collect())
                }
                None => Err(()),
            },
            Action::Consumer(a) => {
                let consumer = request.header(consumer_header).filter(|c| !c.is_empty());
                found(&a.descriptor_key, consumer, a.skip_if_absent)
            }
        }
    }
}

/// The descriptors a request yields: one per `rate_limits` entry that produced any entries
/// (one per reading of the path when a `request_path` entry has several).
pub fn descriptors(
    rate_limits: &[RateLimit],
    consumer_header: &str,
    request: &dyn RequestView,
) -> Vec<Descriptor> {
    let mut out: Vec<Descriptor> = Vec::new();
    'limits: for limit in rate_limits {
        let mut built: Vec<Descriptor> = vec![Vec::new()];
        for action in &limit.actions {
            let Ok(entries) = action.entries(request, consumer_header) else { continue 'limits };
            if entries.is_empty() {
                continue;
            }
            built = built
                .iter()
                .flat_map(|d| entries.iter().map(move |e| d.iter().cloned().chain([e.clone()]).collect()))
                .collect();
        }
        out.extend(built.into_iter().filter(|d| !d.is_empty()));
    }
    out
}

/// The IP of `ip:port` (`[v6]:port` too); the text itself when it is not an address with a
/// port.
pub fn client_ip(address: &str) -> String {
    match address.parse::<SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Default)]
    struct Fake {
        headers: HashMap<&'static str, &'static str>,
        path: Option<&'static str>,
        source: Option<&'static str>,
    }

    impl RequestView for Fake {
        fn header(&self, name: &str) -> Option<String> {
            self.headers.get(name).map(|v| v.to_string())
        }
        fn path(&self) -> Option<String> {
            self.path.map(str::to_string)
        }
        fn source_address(&self) -> Option<String> {
            self.source.map(str::to_string)
        }
    }

    fn limits(json: &str) -> Vec<RateLimit> {
        serde_json::from_str(json).unwrap()
    }

    fn pairs(d: &Descriptor) -> Vec<(&str, &str)> {
        d.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn every_action_reads_its_part_of_the_request() {
        let request = Fake {
            headers: HashMap::from([("x-user", "alice"), ("x-consumer-id", "acme")]),
            path: Some("/orders/7?page=2"),
            source: Some("10.1.2.3:5555"),
        };
        let limits = limits(
            r#"[{"actions": [
                {"request_headers": {"header_name": "X-User", "descriptor_key": "user"}},
                {"remote_address": {}},
                {"generic_key": {"descriptor_value": "api"}},
                {"request_path": {}},
                {"consumer": {"descriptor_key": "who"}}
            ]}]"#,
        );
        let got = descriptors(&limits, "x-consumer-id", &request);
        assert_eq!(got.len(), 1);
        assert_eq!(
            pairs(&got[0]),
            [
                ("user", "alice"),
                ("remote_address", "10.1.2.3"),
                ("generic_key", "api"),
                ("path", "/orders/7"),
                ("who", "acme")
            ]
        );
    }

    #[test]
    fn a_missing_value_drops_the_descriptor_unless_skipped() {
        let request = Fake { headers: HashMap::from([("x-a", "1")]), ..Fake::default() };
        let limits = limits(
            r#"[
                {"actions": [{"request_headers": {"header_name": "x-a", "descriptor_key": "a"}},
                             {"request_headers": {"header_name": "x-b", "descriptor_key": "b"}}]},
                {"actions": [{"request_headers": {"header_name": "x-a", "descriptor_key": "a"}},
                             {"request_headers": {"header_name": "x-b", "descriptor_key": "b", "skip_if_absent": true}}]},
                {"actions": [{"consumer": {"skip_if_absent": true}}]},
                {"actions": [{"remote_address": {}}]},
                {"actions": [{"consumer": {}}, {"generic_key": {"descriptor_value": "x"}}]}
            ]"#,
        );
        let got = descriptors(&limits, "x-consumer-id", &request);
        assert_eq!(got.iter().map(pairs).collect::<Vec<_>>(), [vec![("a", "1")]]);
    }

    #[test]
    fn request_path_yields_every_reading() {
        let limits =
            limits(r#"[{"actions": [{"generic_key": {"descriptor_value": "api"}}, {"request_path": {}}]}]"#);
        let of = |path: &'static str| {
            let request = Fake { path: Some(path), ..Fake::default() };
            descriptors(&limits, "x-consumer-id", &request)
                .iter()
                .map(|d| pairs(d).into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
        };
        assert_eq!(of("/login?x=1"), ["generic_key=api,path=/login"]);
        assert_eq!(of("//./%6cogin"), ["generic_key=api,path=/login"]);
        assert_eq!(
            of("/x/%252e%252e/login"),
            ["generic_key=api,path=/x/%252e%252e/login", "generic_key=api,path=/login"]
        );
    }

    #[test]
    fn client_ip_strips_the_port() {
        assert_eq!(client_ip("127.0.0.1:40000"), "127.0.0.1");
        assert_eq!(client_ip("[::1]:8080"), "::1");
        assert_eq!(client_ip("unix:/tmp/sock"), "unix:/tmp/sock");
    }

    #[test]
    fn unknown_actions_and_fields_are_refused() {
        assert!(
            serde_json::from_str::<Vec<RateLimit>>(r#"[{"actions": [{"header_value_match": {}}]}]"#).is_err()
        );
        assert!(
            serde_json::from_str::<Vec<RateLimit>>(r#"[{"actions": [{"remote_address": {"x": 1}}]}]"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Vec<RateLimit>>(r#"[{"actions": [{"generic_key": {}}]}]"#).is_err());
    }
}
