//! An access log format compiled from its config: a text template (Envoy's
//! `text_format_source`) or a JSON object of templates (Envoy's `json_format`), rendered once per
//! exchange into the line the writer thread appends.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::operator::{FormatError, Operator, Record, Value};
use crate::config::AccessLogConfig;

/// Envoy's default text format (what an Envoy `access_log` without `log_format` writes).
pub const ENVOY_DEFAULT: &str = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

/// weir's default line: these fields, as JSON.
const WEIR_DEFAULT: &[(&str, &str)] = &[
    ("start_time", "%START_TIME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(:PATH)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_code_details", "%RESPONSE_CODE_DETAILS%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration_ms", "%DURATION%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
    ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
    ("route_name", "%ROUTE_NAME%"),
    ("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
];

/// Text and operators, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Operator(Operator),
}

/// A string with command operators.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template(Vec<Piece>);

/// A `json_format` value.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A number, boolean, null, or a string without operators: written as is.
    Literal(Json),
    /// A string with operators.
    Template(Template),
    /// A nested object, keys sorted.
    Object(Vec<(String, Node)>),
}

/// A compiled line format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Written as the template renders it (the template ends lines itself).
    Text(Template),
    /// One JSON object and a newline per line.
    Json(Node),
}

impl Format {
    /// Compiles the format of `config` (weir's default JSON line when it sets none).
    pub fn compile(config: &AccessLogConfig) -> Result<Format, FormatError> {
        match (&config.format, &config.json_format) {
            (Some(_), Some(_)) => Err(FormatError::Argument {
                name: "format".into(),
                reason: "`format` and `json_format` are exclusive",
            }),
            (Some(text), None) => Ok(Format(Kind::Text(Template::parse(text)?))),
            (None, Some(object)) => Ok(Format(Kind::Json(Node::object(object)?))),
            (None, None) => {
                let fields = WEIR_DEFAULT.iter().map(|(k, v)| Ok(((*k).to_string(), Node::string(v)?)));
                Ok(Format(Kind::Json(Node::Object(sorted(fields.collect::<Result<_, FormatError>>()?)))))
            }
        }
    }

    /// The line for `record`.
    pub fn render(&self, record: &Record<'_>) -> String {
        let mut out = String::with_capacity(256);
        match &self.0 {
            Kind::Text(template) => template.write_text(record, &mut out, true),
            Kind::Json(node) => {
                node.write_json(record, &mut out);
                out.push('\n');
            }
        }
        out
    }
}

impl Template {
    /// Splits `format` into text and operators: `%NAME%`, `%NAME(ARG)%`, `%NAME(ARG):N%`.
    fn parse(format: &str) -> Result<Template, FormatError> {
        let mut pieces = Vec::new();
        let mut rest = format;
        while let Some(start) = rest.find('%') {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            // `%%` is a `%`, as in Envoy.
            if rest[start + 1..].starts_with('%') {
                pieces.push(Piece::Text("%".into()));
                rest = &rest[start + 2..];
                continue;
            }
            let at = format.len() - rest.len() + start;
            let (operator, len) = operator(&rest[start..]).ok_or(FormatError::Unterminated(at))??;
            pieces.push(Piece::Operator(operator));
            rest = &rest[start + len..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    /// The template's text; values' control characters escaped when `escape` (a text line:
    /// a plugin may put any bytes in a header or a reply's details, and a line break must not
    /// forge a line; JSON escapes them itself).
    fn write_text(&self, record: &Record<'_>, out: &mut String, escape: bool) {
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Operator(op) => match op.eval(record) {
                    Value::Absent => out.push('-'),
                    Value::Text(text) if escape => escape_controls(&text, out),
                    Value::Text(text) => out.push_str(&text),
                    Value::Number(n) => {
                        let _ = write!(out, "{n}");
                    }
                },
            }
        }
    }
}

/// The operator at the start of `s` (which starts with `%`) and its length; `None` if `s`
/// opens none.
fn operator(s: &str) -> Option<Result<(Operator, usize), FormatError>> {
    let body = &s[1..];
    let name_len = body.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))?;
    if name_len == 0 {
        return None;
    }
    let name = &body[..name_len];
    let mut rest = &body[name_len..];
    let mut argument = None;
    if let Some(after) = rest.strip_prefix('(') {
        let close = after.find(')')?;
        argument = Some(&after[..close]);
        rest = &after[close + 1..];
    }
    let mut max = None;
    if let Some(after) = rest.strip_prefix(':') {
        let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
        max = Some(after[..digits].parse::<usize>().ok()?);
        rest = &after[digits..];
    }
    rest.strip_prefix('%')?;
    let len = s.len() - rest.len() + 1;
    Some(Operator::parse(name, argument, max).map(|op| (op, len)))
}

impl Node {
    fn object(object: &serde_json::Map<String, Json>) -> Result<Node, FormatError> {
        let fields = object.iter().map(|(k, v)| Ok((k.clone(), Node::value(k, v)?)));
        Ok(Node::Object(sorted(fields.collect::<Result<_, FormatError>>()?)))
    }

    fn value(key: &str, value: &Json) -> Result<Node, FormatError> {
        match value {
            Json::String(s) => Node::string(s),
            Json::Object(o) => Node::object(o),
            Json::Array(_) => Err(FormatError::JsonValue(key.to_string())),
            other => Ok(Node::Literal(other.clone())),
        }
    }

    fn string(s: &str) -> Result<Node, FormatError> {
        let template = Template::parse(s)?;
        if template.0.iter().all(|p| matches!(p, Piece::Text(_))) {
            return Ok(Node::Literal(Json::String(s.to_string())));
        }
        Ok(Node::Template(template))
    }

    fn write_json(&self, record: &Record<'_>, out: &mut String) {
        match self {
            Node::Literal(value) => out.push_str(&value.to_string()),
            Node::Template(Template(pieces)) if pieces.len() == 1 => {
                let Piece::Operator(op) = &pieces[0] else { return out.push_str("null") };
                match op.eval(record) {
                    Value::Absent => out.push_str("null"),
                    Value::Text(text) => out.push_str(&json_string(&text)),
                    Value::Number(n) => {
                        let _ = write!(out, "{n}");
                    }
                }
            }
            Node::Template(template) => {
                let mut text = String::new();
                template.write_text(record, &mut text, false);
                out.push_str(&json_string(&text));
            }
            Node::Object(fields) => {
                out.push('{');
                for (i, (key, node)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_string(key));
                    out.push(':');
                    node.write_json(record, out);
                }
                out.push('}');
            }
        }
    }
}

/// Fields by key, as Envoy writes them.
fn sorted(mut fields: Vec<(String, Node)>) -> Vec<(String, Node)> {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
}

/// `text` with control characters other than tab escaped (`\n`, `\u{1b}`).
fn escape_controls(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
