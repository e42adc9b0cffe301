//! The base Services: one tagged echo server each (its answers carry `x-echo-server: NAME`),
//! and the manifests naming them.

use std::path::Path;

use crate::echo::EchoServer;

/// The Services of the base manifests: namespace and name.
pub const SERVICES: [(&str, &str); 6] = [
    ("gateway-conformance-infra", "infra-backend-v1"),
    ("gateway-conformance-infra", "infra-backend-v2"),
    ("gateway-conformance-infra", "infra-backend-v3"),
    ("gateway-conformance-web-backend", "web-backend"),
    ("gateway-conformance-app-backend", "app-backend-v1"),
    ("gateway-conformance-app-backend", "app-backend-v2"),
];

/// The running backends (stopped on drop).
pub struct Backends {
    servers: Vec<EchoServer>,
}

impl Backends {
    /// Starts one echo server per Service.
    pub fn start() -> anyhow::Result<Backends> {
        let servers = SERVICES
            .iter()
            .map(|(_, name)| EchoServer::start_tagged(Some((*name).to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Backends { servers })
    }

    /// Every manifest a case starts from, for a served Gateway on `port`: `base.yaml`, the
    /// Services and EndpointSlices, and `gateway.yaml` unless the case has its own.
    pub fn manifests(&self, dir: &Path, port: u16, own_gateway: bool) -> anyhow::Result<String> {
        let mut text = std::fs::read_to_string(dir.join("base.yaml"))?;
        for ((namespace, name), server) in SERVICES.iter().zip(&self.servers) {
            let addr = server.addr();
            text.push_str(&format!(
                "\n---\napiVersion: v1\nkind: Service\nmetadata: {{ name: {name}, namespace: {namespace} }}\n\
                 spec: {{ ports: [ {{ name: http, port: 8080 }} ] }}\n---\n\
                 apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                 metadata: {{ name: {name}-1, namespace: {namespace}, labels: {{ kubernetes.io/service-name: {name} }} }}\n\
                 addressType: IPv4\nports: [ {{ name: http, port: {port} }} ]\n\
                 endpoints: [ {{ addresses: [ \"{ip}\" ] }} ]\n",
                port = addr.port(),
                ip = addr.ip(),
            ));
        }
        if !own_gateway {
            text.push_str("\n---\n");
            text.push_str(&std::fs::read_to_string(dir.join("gateway.yaml"))?);
        }
        Ok(text.replace("${PORT}", &port.to_string()))
    }
}

/// `text` with `${FILTER:name}` replaced by the absolute path of built filter `name`.
pub fn with_filters(text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${FILTER:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "${FILTER:".len()..];
        let end = after.find('}').ok_or_else(|| anyhow::anyhow!("an unclosed ${{FILTER:"))?;
        let path = weir_testkit::paths::filter(&after[..end])?;
        out.push_str(&path.display().to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
