//! An HTTP connection manager's `access_log` as a weir listener's `access_log`: one file or
//! standard-output logger, in its `log_format` (text or JSON in Envoy's command operators; none:
//! Envoy's default text line, so that both hosts write the same lines).

use envoy_types::pb::envoy::config::accesslog::v3::AccessLog;
use envoy_types::pb::envoy::config::accesslog::v3::access_log::ConfigType;
use envoy_types::pb::envoy::config::core::v3::{
    SubstitutionFormatString, data_source, substitution_format_string,
};
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::FileAccessLog;
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::file_access_log;
use envoy_types::pb::envoy::extensions::access_loggers::stream::v3::StdoutAccessLog;
use envoy_types::pb::envoy::extensions::access_loggers::stream::v3::stdout_access_log;
use weir_xds::convert::{struct_to_json, unpack};

use super::Refusals;
use super::support::join;
use crate::config::AccessLogConfig;

const FILE: &str = "envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STDOUT: &str = "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

/// What weir reads of an access logger.
pub(super) const SPEC: super::support::Spec = &[
    ("envoy.config.accesslog.v3.AccessLog", &["name", "typed_config"]),
    (FILE, &["path", "log_format"]),
    (STDOUT, &["log_format"]),
    ("envoy.config.core.v3.SubstitutionFormatString", &["text_format_source", "json_format"]),
];

/// The listener's access log, from the connection manager's `access_log` list at `at`.
pub fn translate(loggers: &[AccessLog], at: &str, refusals: &mut Refusals) -> Option<AccessLogConfig> {
    let [logger] = loggers else {
        if !loggers.is_empty() {
            refusals.add(at, "weir writes one access log per listener");
        }
        return None;
    };
    let at = format!("{at}[0].typed_config");
    let Some(ConfigType::TypedConfig(any)) = &logger.config_type else {
        refusals.add(&at, "a typed_config is required");
        return None;
    };
    let result = if any.type_url.ends_with(FILE) {
        unpack::<FileAccessLog>(any).map(|file| {
            let format = match file.access_log_format {
                Some(file_access_log::AccessLogFormat::LogFormat(f)) => Some(f),
                _ => None,
            };
            (file.path, format)
        })
    } else if any.type_url.ends_with(STDOUT) {
        unpack::<StdoutAccessLog>(any).map(|out| {
            let format = match out.access_log_format {
                Some(stdout_access_log::AccessLogFormat::LogFormat(f)) => Some(f),
                _ => None,
            };
            ("-".to_string(), format)
        })
    } else {
        refusals.add(&at, format!("{} is not supported by weir (file and stdout loggers are)", any.type_url));
        return None;
    };
    let (path, format) = match result {
        Ok(found) => found,
        Err(e) => {
            refusals.add(&at, e.to_string());
            return None;
        }
    };
    let mut config = AccessLogConfig::path(path);
    match format.and_then(|f: SubstitutionFormatString| f.format) {
        None => config.format = Some(crate::access_log::ENVOY_DEFAULT.to_string()),
        Some(substitution_format_string::Format::TextFormatSource(source)) => match source.specifier {
            Some(data_source::Specifier::InlineString(text)) => config.format = Some(text),
            _ => {
                refusals.add(&join(&at, "log_format.text_format_source"), "weir reads an inline_string only");
                return None;
            }
        },
        Some(substitution_format_string::Format::JsonFormat(object)) => match struct_to_json(&object) {
            serde_json::Value::Object(object) => config.json_format = Some(object),
            _ => return None,
        },
        Some(_) => {
            refusals.add(&join(&at, "log_format"), "weir reads text_format_source and json_format");
            return None;
        }
    }
    if let Err(e) = config.check(&at) {
        refusals.add(&at, e.to_string());
        return None;
    }
    Some(config)
}
