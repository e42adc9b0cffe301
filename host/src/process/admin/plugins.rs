//! The plugin management API: `GET /plugins`, `POST /plugins` (load a module and attach it),
//! `PUT /plugins/{name}` (swap its module or config), `DELETE /plugins/{name}`. Every change is
//! applied like a reload: a module that does not compile, link or configure is refused with the
//! reason (400) and the running chains are untouched.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::redact;
use crate::config::{Config, ConfigError, FailurePolicy, PluginConfig, PluginLimits};
use crate::process::ProcessControl;
use weir_plugin_spec::RemoteModule;

/// What a client sends to create or change a plugin (JSON; for a module in the body, the same
/// fields as query parameters).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// The plugin's name (`POST`; `PUT` takes it from the path).
    #[serde(default)]
    pub name: Option<String>,
    /// Path of the `.wasm` on the proxy's machine, under the module directories (or send the
    /// module as the body).
    #[serde(default)]
    pub wasm: Option<PathBuf>,
    /// Or fetch the module over HTTP(S), verified by its SHA-256 (see `docs/config.md`).
    #[serde(default)]
    pub remote: Option<RemoteModule>,
    /// Plugin configuration (string as is, anything else as JSON).
    #[serde(default)]
    pub configuration: Option<Value>,
    /// VM configuration.
    #[serde(default)]
    pub vm_configuration: Option<Value>,
    /// `vm_id`.
    #[serde(default)]
    pub vm_id: Option<String>,
    /// `root_id`.
    #[serde(default)]
    pub root_id: Option<String>,
    /// Failure policy.
    #[serde(default)]
    pub failure_policy: Option<FailurePolicy>,
    /// Limits.
    #[serde(default)]
    pub limits: Option<PluginLimits>,
    /// Where it runs; a `PUT` without it keeps the plugin where it is.
    #[serde(default)]
    pub attach: Option<Attach>,
}

/// An attach point: a listener's chain, or one route's chain, at a position (default: last).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// The listener.
    pub listener: String,
    /// A route (`virtual_host/route` names) to attach to that route's own chain instead.
    #[serde(default)]
    pub route: Option<String>,
    /// Index in the chain (0 = first); default: the end.
    #[serde(default)]
    pub position: Option<usize>,
}

/// `GET /plugins`: configurations redacted unless `secrets`.
pub fn list(state: &dyn ProcessControl, secrets: bool) -> Value {
    let generation = state.generation();
    let config = &generation.config;
    Value::Array(
        generation
            .plugins
            .iter()
            .map(|p| {
                let c = &p.config;
                let remote = c.remote.as_ref().map(|r| {
                    let last = generation.process.remote_modules.last(p.name());
                    json!({ "url": r.url, "sha256": r.digest(), "last_fetch": last })
                });
                json!({
                    "name": p.name(),
                    "wasm": c.wasm,
                    "remote": remote,
                    "sha256": p.module.sha256(),
                    "abi_version": p.module.abi().as_str(),
                    "vm_id": c.vm_id,
                    "root_id": c.root_id,
                    "configuration": if secrets { c.configuration.clone().into() } else { redact::configuration(c) },
                    "vm_configuration": if secrets {
                        c.vm_configuration.clone().into()
                    } else {
                        redact::vm_configuration(c)
                    },
                    "failure_policy": c.failure_policy,
                    "status": p.stats.status(),
                    "limits": c.limits,
                    "attached": attachments(config, p.name()),
                    "metrics": p.stats.to_json(),
                })
            })
            .collect(),
    )
}

fn attachments(config: &Config, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for listener in &config.listeners {
        if listener.http_filters.iter().any(|f| f == name) {
            out.push(listener.name.clone());
        }
        for vhost in &listener.virtual_hosts {
            for route in &vhost.routes {
                if route.http_filters.as_ref().is_some_and(|f| f.iter().any(|f| f == name)) {
                    out.push(format!("{}/{}/{}", listener.name, vhost.name, route.name));
                }
            }
        }
    }
    out
}

/// `POST /plugins` and `PUT /plugins/{name}` (`existing`): applies `spec`, with the module
/// `uploaded` from the body if given. A `wasm` path in the spec must resolve under the module
/// directories of the running config (see [`ModuleDirectories`]); the resolved path is kept.
pub fn upsert(
    state: &Arc<dyn ProcessControl>,
    existing: Option<&str>,
    spec: PluginSpec,
    uploaded: Option<PathBuf>,
) -> Result<String, String> {
    let name = match (existing, &spec.name) {
        (Some(path), Some(body)) if path != body => return Err("the body names another plugin".into()),
        (Some(path), _) => path.to_string(),
        (None, Some(name)) => name.clone(),
        (None, None) => return Err("`name` is required".into()),
    };
    state
        .update_config(&mut |config| {
            if spec.remote.is_some() && (uploaded.is_some() || spec.wasm.is_some()) {
                return Err(ConfigError::invalid(
                    "remote",
                    "a module is either `remote`, a `wasm` path or the body",
                ));
            }
            if let Some(remote) = &spec.remote {
                config
                    .module_sources
                    .admit_url(&remote.url, &config.plugins)
                    .map_err(|e| ConfigError::invalid("remote.url", e))?;
            }
            let wasm = match (&uploaded, &spec.wasm) {
                (Some(path), _) => Some(path.clone()),
                (None, Some(path)) => Some(
                    config
                        .module_directories()
                        .admit(path)
                        .map_err(|e| ConfigError::invalid("wasm", e.to_string()))?,
                ),
                (None, None) => None,
            };
            let at = config.plugins.iter().position(|p| p.name == name);
            let plugin = match (existing, at) {
                (Some(_), Some(i)) => &mut config.plugins[i],
                (Some(_), None) => {
                    return Err(ConfigError::invalid("plugins", format!("no plugin `{name}`")));
                }
                (None, Some(_)) => {
                    return Err(ConfigError::invalid("name", format!("`{name}` exists; use PUT")));
                }
                (None, None) => {
                    let wasm = match (&wasm, &spec.remote) {
                        (Some(wasm), _) => wasm.clone(),
                        (None, Some(_)) => PathBuf::new(),
                        (None, None) => return Err(ConfigError::invalid("wasm", "a module is required")),
                    };
                    config.plugins.push(PluginConfig::new(&name, wasm));
                    config.plugins.last_mut().ok_or_else(|| ConfigError::invalid("plugins", "internal"))?
                }
            };
            apply_spec(plugin, &spec, wasm);
            if let Some(attach) = &spec.attach {
                detach(config, &name);
                attach_to(config, &name, attach)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    Ok(name)
}

/// `DELETE /plugins/{name}`: removes it from every chain and unloads it.
pub fn delete(state: &Arc<dyn ProcessControl>, name: &str) -> Result<(), String> {
    state
        .update_config(&mut |config| {
            let before = config.plugins.len();
            config.plugins.retain(|p| p.name != name);
            if config.plugins.len() == before {
                return Err(ConfigError::invalid("plugins", format!("no plugin `{name}`")));
            }
            detach(config, name);
            Ok(())
        })
        .map_err(|e| e.to_string())
}

fn apply_spec(plugin: &mut PluginConfig, spec: &PluginSpec, wasm: Option<PathBuf>) {
    if let Some(remote) = &spec.remote {
        plugin.remote = Some(remote.clone());
        plugin.wasm = PathBuf::new();
    } else if let Some(wasm) = wasm {
        plugin.wasm = wasm;
        plugin.remote = None;
    }
    if let Some(c) = &spec.configuration {
        plugin.configuration = Some(c.clone());
    }
    if let Some(c) = &spec.vm_configuration {
        plugin.vm_configuration = Some(c.clone());
    }
    if let Some(v) = &spec.vm_id {
        plugin.vm_id = v.clone();
    }
    if let Some(r) = &spec.root_id {
        plugin.root_id = r.clone();
    }
    if let Some(p) = spec.failure_policy {
        plugin.failure_policy = p;
    }
    if let Some(l) = &spec.limits {
        plugin.limits = l.clone();
    }
}

fn detach(config: &mut Config, name: &str) {
    for listener in &mut config.listeners {
        listener.http_filters.retain(|f| f != name);
        for route in listener.virtual_hosts.iter_mut().flat_map(|v| v.routes.iter_mut()) {
            if let Some(filters) = &mut route.http_filters {
                filters.retain(|f| f != name);
            }
        }
    }
}

fn attach_to(config: &mut Config, name: &str, attach: &Attach) -> Result<(), ConfigError> {
    let listener = config.listeners.iter_mut().find(|l| l.name == attach.listener).ok_or_else(|| {
        ConfigError::invalid("attach.listener", format!("no listener `{}`", attach.listener))
    })?;
    let chain = match &attach.route {
        None => &mut listener.http_filters,
        Some(path) => {
            let (vhost, route) = path
                .split_once('/')
                .ok_or_else(|| ConfigError::invalid("attach.route", "write it as `virtual_host/route`"))?;
            let default_chain = listener.http_filters.clone();
            let route = listener
                .virtual_hosts
                .iter_mut()
                .filter(|v| v.name == vhost)
                .flat_map(|v| v.routes.iter_mut())
                .find(|r| r.name == route)
                .ok_or_else(|| ConfigError::invalid("attach.route", format!("no route `{path}`")))?;
            route.http_filters.get_or_insert(default_chain)
        }
    };
    let at = attach.position.unwrap_or(chain.len()).min(chain.len());
    chain.insert(at, name.to_string());
    Ok(())
}

/// A spec from query parameters (`?name=..&listener=..&position=..&configuration=..`), for a
/// module sent as the body.
pub fn spec_from_query(query: &str) -> Result<PluginSpec, String> {
    let mut spec = PluginSpec::default();
    let mut attach: Option<Attach> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(&value.replace('+', " "))
            .decode_utf8()
            .map_err(|_| format!("`{key}` is not UTF-8"))?
            .into_owned();
        let listener =
            || attach.clone().unwrap_or(Attach { listener: String::new(), route: None, position: None });
        match key {
            "name" => spec.name = Some(value),
            "configuration" => spec.configuration = Some(Value::String(value)),
            "vm_id" => spec.vm_id = Some(value),
            "root_id" => spec.root_id = Some(value),
            "failure_policy" => {
                spec.failure_policy = Some(
                    serde_json::from_value(Value::String(value))
                        .map_err(|e| format!("failure_policy: {e}"))?,
                )
            }
            "listener" => attach = Some(Attach { listener: value, ..listener() }),
            "route" => attach = Some(Attach { route: Some(value), ..listener() }),
            "position" => {
                let position = value.parse().map_err(|_| "position: not a number".to_string())?;
                attach = Some(Attach { position: Some(position), ..listener() });
            }
            other => return Err(format!("unknown parameter `{other}`")),
        }
    }
    spec.attach = attach;
    Ok(spec)
}
