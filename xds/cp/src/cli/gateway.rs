//! `weir-cp gateway apply -f DIR|FILE` and `weir-cp gateway status`: Gateway API manifests in,
//! their status conditions out.

use std::path::PathBuf;

use http::Method;
use serde_json::Value;

use super::client::AdminClient;
use super::error::CliError;

/// `weir-cp gateway ...`.
#[derive(Debug, clap::Subcommand)]
pub enum GatewayCommand {
    /// Translate Gateway API manifests (GatewayClass, Gateway, HTTPRoute, ReferenceGrant,
    /// Service, EndpointSlice, Namespace) and serve them: one node group per Gateway of
    /// weir-cp's, replacing every Gateway applied before.
    Apply {
        /// A manifest file, or a directory of `.yaml`/`.yml`/`.json` files.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Print the status conditions of the last apply.
    Status {
        /// Print the JSON of `GET /gateway/status`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `gateway` command.
pub async fn run(admin: &AdminClient, command: GatewayCommand) -> Result<(), CliError> {
    match command {
        GatewayCommand::Apply { file } => {
            let text = crate::gateway::read_manifests(&file)
                .map_err(|(path, reason)| CliError::File { path, reason })?;
            let applied: Value = admin
                .call_with(Method::POST, "/gateway/apply", text.into_bytes(), "application/yaml")
                .await?;
            for (name, g) in applied["gateways"].as_object().into_iter().flatten() {
                let what = if g["changed"] == true { "changed" } else { "unchanged" };
                println!(
                    "gateway {name}: {what} (node group {}; its proxies run with node cluster `{}`)",
                    text_of(&g["group"]),
                    text_of(&g["node_cluster"])
                );
            }
            for group in applied["removed"].as_array().into_iter().flatten() {
                println!("removed node group {}", text_of(group));
            }
            print_status(&applied["status"], true);
        }
        GatewayCommand::Status { json } => {
            let status: Value = admin.call(Method::GET, "/gateway/status", None).await?;
            match json {
                true => println!("{}", serde_json::to_string_pretty(&status).unwrap_or_default()),
                false => print_status(&status, false),
            }
        }
    }
    Ok(())
}

fn text_of(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

/// `Accepted=True Programmed=False (Invalid: not served)`.
fn conditions(list: &Value) -> String {
    let mut out = Vec::new();
    for c in list.as_array().into_iter().flatten() {
        let mut text = format!("{}={}", text_of(&c["type"]), text_of(&c["status"]));
        // A condition that is not what a healthy object shows: say why.
        let healthy = match text_of(&c["type"]) {
            "Conflicted" => c["status"] == "False",
            _ => c["status"] == "True",
        };
        if !healthy {
            text.push_str(&format!(" ({}: {})", text_of(&c["reason"]), text_of(&c["message"])));
        }
        out.push(text);
    }
    out.join(" ")
}

/// Prints the status; with `problems_only`, only what is not accepted or resolved.
fn print_status(status: &Value, problems_only: bool) {
    let shows = |list: &Value| !problems_only || conditions(list).contains('(');
    for c in status["gatewayClasses"].as_array().into_iter().flatten() {
        if shows(&c["conditions"]) {
            println!("GatewayClass {}: {}", text_of(&c["name"]), conditions(&c["conditions"]));
        }
    }
    for g in status["gateways"].as_array().into_iter().flatten() {
        let name = format!("{}/{}", text_of(&g["namespace"]), text_of(&g["name"]));
        if shows(&g["conditions"]) {
            println!("Gateway {name}: {}", conditions(&g["conditions"]));
        }
        for l in g["listeners"].as_array().into_iter().flatten() {
            if shows(&l["conditions"]) {
                println!(
                    "Gateway {name} listener {}: attachedRoutes={} {}",
                    text_of(&l["name"]),
                    l["attachedRoutes"],
                    conditions(&l["conditions"])
                );
            }
        }
    }
    for r in status["httpRoutes"].as_array().into_iter().flatten() {
        for p in r["parents"].as_array().into_iter().flatten() {
            if shows(&p["conditions"]) {
                let parent = &p["parentRef"];
                println!(
                    "HTTPRoute {}/{} on Gateway {}/{}: {}",
                    text_of(&r["namespace"]),
                    text_of(&r["name"]),
                    text_of(&parent["namespace"]),
                    text_of(&parent["name"]),
                    conditions(&p["conditions"])
                );
            }
        }
    }
    for p in status["wasmPlugins"].as_array().into_iter().flatten() {
        if shows(&p["conditions"]) {
            let gateways: Vec<&str> = p["gateways"].as_array().into_iter().flatten().map(text_of).collect();
            println!(
                "WasmPlugin {}/{} (on {}): {}",
                text_of(&p["namespace"]),
                text_of(&p["name"]),
                if gateways.is_empty() { "no Gateway".to_string() } else { gateways.join(", ") },
                conditions(&p["conditions"])
            );
        }
    }
    if let Some(refused) = status["lastRefused"].as_str() {
        println!("the latest apply was refused (the status above is the last good one's): {refused}");
    }
    for ignored in status["ignored"].as_array().into_iter().flatten() {
        println!("ignored (not read by weir-cp): {}", text_of(ignored));
    }
}
