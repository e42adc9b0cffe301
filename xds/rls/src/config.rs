//! The limits file(s), in envoyproxy/ratelimit's YAML shape: one `domain` per file, a tree of
//! `descriptors`, each with a `key`, an optional `value` and an optional `rate_limit`. Read
//! from a file or from every `*.yaml`/`*.yml` in a directory; unknown fields and envoyproxy's
//! fields weir-rls does not implement are refused with the file and the field's path.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;

/// The largest limits file read (a file over it is refused, not truncated).
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// The deepest descriptor nesting accepted (requests deeper than this never match).
pub const MAX_DEPTH: usize = 16;

/// One file: a domain and its descriptors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFile {
    /// The RLS domain (`RateLimitRequest.domain`) these limits answer for.
    pub domain: String,
    /// The top level of the descriptor tree.
    #[serde(default)]
    pub descriptors: Vec<DescriptorConfig>,
}

/// One node of the descriptor tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorConfig {
    /// The entry's key.
    pub key: String,
    /// The entry's value: absent matches any value (each value then has its own counter); a
    /// value ending in `*` matches every value starting with the rest.
    #[serde(default)]
    pub value: Option<String>,
    /// The limit of a request descriptor whose last entry lands here.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Count and report, but never answer `OVER_LIMIT`.
    #[serde(default)]
    pub shadow_mode: bool,
    /// envoyproxy/ratelimit's per-value statistics: refused (unbounded metric cardinality).
    #[serde(default)]
    pub detailed_metric: bool,
    /// envoyproxy/ratelimit's `replaces`: refused (not implemented).
    #[serde(default)]
    pub replaces: Option<serde_norway::Value>,
    /// Children: the next entry of a request descriptor.
    #[serde(default)]
    pub descriptors: Vec<DescriptorConfig>,
}

/// A limit: `requests_per_unit` per `unit`, or `unlimited`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `second`, `minute`, `hour`, `day`, `week`, `month` (30 days) or `year` (365 days), in
    /// any case.
    #[serde(default)]
    pub unit: Option<String>,
    /// Requests allowed per window (0 denies every request).
    #[serde(default)]
    pub requests_per_unit: Option<u32>,
    /// A name reported in `current_limit.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// Never limit (and never count) descriptors that land here.
    #[serde(default)]
    pub unlimited: bool,
}

/// A limit's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 1 s.
    Second,
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86400 s.
    Day,
    /// 7 days.
    Week,
    /// 30 days.
    Month,
    /// 365 days.
    Year,
}

impl Unit {
    /// Parses a unit name, in any case.
    pub fn parse(name: &str) -> Option<Unit> {
        Some(match name.to_ascii_lowercase().as_str() {
            "second" => Unit::Second,
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "year" => Unit::Year,
            _ => return None,
        })
    }

    /// The window's length in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3_600,
            Unit::Day => 86_400,
            Unit::Week => 7 * 86_400,
            Unit::Month => 30 * 86_400,
            Unit::Year => 365 * 86_400,
        }
    }

    /// The RLS `RateLimit.Unit` number.
    pub fn proto(self) -> i32 {
        match self {
            Unit::Second => 1,
            Unit::Minute => 2,
            Unit::Hour => 3,
            Unit::Day => 4,
            Unit::Month => 5,
            Unit::Year => 6,
            Unit::Week => 7,
        }
    }
}

/// Reads `path`: one file, or every `*.yaml`/`*.yml` file of a directory (sorted by name).
pub fn load(path: &Path) -> Result<Vec<(PathBuf, DomainFile)>, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|e| ConfigError::io(path, e))?;
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| ConfigError::io(path, e))? {
            let file = entry.map_err(|e| ConfigError::io(path, e))?.path();
            let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if yaml && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    files.into_iter().map(|file| Ok((file.clone(), read(&file)?))).collect()
}

fn read(file: &Path) -> Result<DomainFile, ConfigError> {
    let size = std::fs::metadata(file).map_err(|e| ConfigError::io(file, e))?.len();
    if size > MAX_FILE_BYTES {
        return Err(ConfigError::invalid(
            file,
            "",
            format!("{size} bytes, over the {MAX_FILE_BYTES}-byte limit"),
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::io(file, e))?;
    parse(file, &text)
}

/// Parses one file's text (`file` names it in errors).
pub fn parse(file: &Path, text: &str) -> Result<DomainFile, ConfigError> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        ConfigError::invalid(file, &field, e.into_inner().to_string())
    })
}
