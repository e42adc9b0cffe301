//! The limits, compiled from the files into one tree per domain, and the lookup of a request
//! descriptor's limit (envoyproxy/ratelimit's rules): walk the descriptor's entries from the
//! domain's top level, at each level taking the child with the entry's key and exact value,
//! else one whose value is a matching `prefix*`, else the one with the key and no value; the
//! limit is that of the node the last entry lands on. A descriptor that leaves the tree, or
//! ends on a node without a limit, is not limited.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DescriptorConfig, DomainFile, MAX_DEPTH, Unit};
use crate::error::ConfigError;
use crate::metrics::{LimitCounters, Metrics};

/// A limit a descriptor can land on.
#[derive(Debug)]
pub struct Limit {
    /// Where it is in the tree, `key_value.key2` (its metric label and log name).
    pub path: String,
    /// `rate_limit.name`.
    pub name: String,
    /// Requests allowed per window.
    pub requests_per_unit: u32,
    /// The window.
    pub unit: Unit,
    /// Never counted, never limited.
    pub unlimited: bool,
    /// Counted, reported, never `OVER_LIMIT`.
    pub shadow: bool,
    /// Its counters (kept across reloads for the same domain and path).
    pub counters: Arc<LimitCounters>,
}

#[derive(Debug, Default)]
struct Node {
    limit: Option<Arc<Limit>>,
    exact: HashMap<(String, String), Node>,
    prefix: Vec<(String, String, Node)>,
    any: HashMap<String, Node>,
}

impl Node {
    fn child(&self, key: &str, value: &str) -> Option<&Node> {
        if let Some(node) = self.exact.get(&(key.to_string(), value.to_string())) {
            return Some(node);
        }
        let prefixed = self.prefix.iter().find(|(k, p, _)| k == key && value.starts_with(p.as_str()));
        prefixed.map(|(_, _, node)| node).or_else(|| self.any.get(key))
    }
}

/// Every domain's tree.
#[derive(Debug, Default)]
pub struct Limits {
    domains: HashMap<String, Node>,
    /// Where each domain came from.
    pub sources: BTreeMap<String, PathBuf>,
    /// How many limits the files define.
    pub count: usize,
    /// `(domain, path)` of every limit.
    defined: HashSet<(String, String)>,
}

impl Limits {
    /// Compiles the files; a domain in two files, or a bad descriptor, is refused.
    pub fn compile(files: Vec<(PathBuf, DomainFile)>, metrics: &Metrics) -> Result<Limits, ConfigError> {
        let mut limits = Limits::default();
        for (file, domain) in files {
            if domain.domain.is_empty() {
                return Err(ConfigError::invalid(&file, "domain", "must not be empty"));
            }
            if let Some(first) = limits.sources.get(&domain.domain) {
                let why = format!("`{}` is already defined in {}", domain.domain, first.display());
                return Err(ConfigError::invalid(&file, "domain", why));
            }
            let mut build = Build { file: &file, domain: &domain.domain, metrics, paths: Vec::new() };
            let root = build.level(&domain.descriptors, "descriptors", "", 0)?;
            limits.count += build.paths.len();
            limits.defined.extend(build.paths.into_iter().map(|p| (domain.domain.clone(), p)));
            limits.sources.insert(domain.domain.clone(), file.clone());
            limits.domains.insert(domain.domain, root);
        }
        Ok(limits)
    }

    /// Whether `domain` has a limit at `path`.
    pub fn defines(&self, domain: &str, path: &str) -> bool {
        self.defined.contains(&(domain.to_string(), path.to_string()))
    }

    /// Whether `domain` is configured.
    pub fn has_domain(&self, domain: &str) -> bool {
        self.domains.contains_key(domain)
    }

    /// The limit of a descriptor (`(key, value)` entries) in `domain`.
    pub fn find<'a>(
        &self,
        domain: &str,
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<&Arc<Limit>> {
        let mut node = self.domains.get(domain)?;
        let mut any = false;
        for (key, value) in entries {
            node = node.child(key, value)?;
            any = true;
        }
        if any { node.limit.as_ref() } else { None }
    }
}

struct Build<'a> {
    file: &'a PathBuf,
    domain: &'a str,
    metrics: &'a Metrics,
    paths: Vec<String>,
}

impl Build<'_> {
    fn level(
        &mut self,
        list: &[DescriptorConfig],
        field: &str,
        path: &str,
        depth: usize,
    ) -> Result<Node, ConfigError> {
        let mut node = Node::default();
        if depth >= MAX_DEPTH && !list.is_empty() {
            return Err(self.invalid(field, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        for (i, d) in list.iter().enumerate() {
            let field = format!("{field}[{i}]");
            if d.key.is_empty() {
                return Err(self.invalid(&format!("{field}.key"), "must not be empty"));
            }
            if d.detailed_metric {
                let why = "not supported: one metric series per value would be unbounded; the limit's own series counts every value";
                return Err(self.invalid(&format!("{field}.detailed_metric"), why));
            }
            if d.replaces.is_some() {
                return Err(self.invalid(&format!("{field}.replaces"), "not supported by weir-rls"));
            }
            let step = match &d.value {
                Some(v) if !v.is_empty() => format!("{}_{v}", d.key),
                _ => d.key.clone(),
            };
            let path = if path.is_empty() { step } else { format!("{path}.{step}") };
            let mut child = self.level(&d.descriptors, &format!("{field}.descriptors"), &path, depth + 1)?;
            child.limit = self.limit(d, &field, &path)?;
            let taken = match d.value.as_deref() {
                None | Some("") => node.any.insert(d.key.clone(), child).is_some(),
                Some(v) if v.ends_with('*') => {
                    let prefix = v.trim_end_matches('*').to_string();
                    let dup = node.prefix.iter().any(|(k, p, _)| *k == d.key && *p == prefix);
                    if !dup {
                        node.prefix.push((d.key.clone(), prefix, child));
                    }
                    dup
                }
                Some(v) => node.exact.insert((d.key.clone(), v.to_string()), child).is_some(),
            };
            if taken {
                return Err(self.invalid(&field, format!("a second descriptor for `{path}` at this level")));
            }
        }
        Ok(node)
    }

    fn limit(
        &mut self,
        d: &DescriptorConfig,
        field: &str,
        path: &str,
    ) -> Result<Option<Arc<Limit>>, ConfigError> {
        let Some(rl) = &d.rate_limit else {
            if d.shadow_mode {
                return Err(
                    self.invalid(&format!("{field}.shadow_mode"), "set on a descriptor without rate_limit")
                );
            }
            return Ok(None);
        };
        let field = format!("{field}.rate_limit");
        let (unit, requests_per_unit) = match (rl.unlimited, rl.unit.as_deref(), rl.requests_per_unit) {
            (true, None, None) => (Unit::Second, 0),
            (true, _, _) => {
                return Err(
                    self.invalid(&field, "`unlimited: true` takes neither `unit` nor `requests_per_unit`")
                );
            }
            (false, Some(unit), Some(n)) => {
                let unit = Unit::parse(unit).ok_or_else(|| {
                    self.invalid(
                        &format!("{field}.unit"),
                        format!("`{unit}`: expected second, minute, hour, day, week, month or year"),
                    )
                })?;
                (unit, n)
            }
            (false, None, _) => return Err(self.invalid(&format!("{field}.unit"), "required")),
            (false, _, None) => return Err(self.invalid(&format!("{field}.requests_per_unit"), "required")),
        };
        self.paths.push(path.to_string());
        Ok(Some(Arc::new(Limit {
            path: path.to_string(),
            name: rl.name.clone().unwrap_or_default(),
            requests_per_unit,
            unit,
            unlimited: rl.unlimited,
            shadow: d.shadow_mode,
            counters: self.metrics.limit(self.domain, path),
        })))
    }

    fn invalid(&self, field: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.file, field, why.into())
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
