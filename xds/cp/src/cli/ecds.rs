//! `weir-cp ecds set|get|delete`.

use std::path::PathBuf;

use http::Method;
use serde_json::Value;

use super::args::EcdsCommand;
use super::client::{AdminClient, segment};
use super::error::CliError;
use crate::admin::views::ChangeView;
use crate::{EcdsConfig, EcdsRemote};

/// The `--config` argument: JSON text, or `@FILE`. Text that is not JSON is sent as a string.
fn configuration(arg: Option<&str>) -> Result<Value, CliError> {
    let Some(arg) = arg else { return Ok(Value::Null) };
    let text = match arg.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| CliError::File { path: PathBuf::from(file), reason: e.to_string() })?,
        None => arg.to_string(),
    };
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Runs an `ecds` command.
pub async fn run(admin: &AdminClient, command: EcdsCommand) -> Result<(), CliError> {
    match command {
        EcdsCommand::Set {
            name,
            wasm,
            remote,
            sha256,
            module_cluster,
            fetch_timeout,
            fetch_retries,
            vm_id,
            root_id,
            config,
            failure_policy,
        } => {
            let remote = remote.map(|url| EcdsRemote {
                url,
                sha256: sha256.unwrap_or_default(),
                cluster: module_cluster.unwrap_or_default(),
                timeout: fetch_timeout,
                retries: fetch_retries,
            });
            let config = EcdsConfig {
                wasm: wasm.unwrap_or_default(),
                remote,
                vm_id,
                root_id,
                configuration: configuration(config.as_deref())?,
                failure_policy,
            };
            config.check(&name)?;
            let body = serde_json::to_vec(&config).map_err(|e| CliError::Argument(e.to_string()))?;
            let change: ChangeView =
                admin.call(Method::PUT, &format!("/ecds/{}", segment(&name)), Some(body)).await?;
            let what = if change.changed { "version" } else { "unchanged, version" };
            println!("ecds {name}: {what} {}", change.version);
        }
        EcdsCommand::Get { name, show_secrets } => {
            let mut path = match &name {
                Some(name) => format!("/ecds/{}", segment(name)),
                None => "/ecds".to_string(),
            };
            if show_secrets {
                path.push_str("?show_secrets=true");
            }
            let answer: Value = admin.call(Method::GET, &path, None).await?;
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
        }
        EcdsCommand::Delete { name } => {
            let change: ChangeView =
                admin.call(Method::DELETE, &format!("/ecds/{}", segment(&name)), None).await?;
            println!("ecds {name}: deleted, version {}", change.version);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn configuration_argument() {
        assert_eq!(configuration(None).unwrap(), Value::Null);
        assert_eq!(configuration(Some(r#"{"a":1}"#)).unwrap(), json!({"a": 1}));
        assert_eq!(configuration(Some("plain")).unwrap(), json!("plain"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(&file, r#"{"b": 2}"#).unwrap();
        assert_eq!(configuration(Some(&format!("@{}", file.display()))).unwrap(), json!({"b": 2}));
        assert!(configuration(Some("@/nonexistent/x")).is_err());
    }
}
