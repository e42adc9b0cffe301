use super::*;

const BASE: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: weir }
spec: { controllerName: weir.dev/gateway-controller }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: app }
spec: {}
---
# an empty document
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: { name: web, namespace: app }
  spec: { ports: [ { name: http, port: 8080 } ] }
"#;

#[test]
fn documents_lists_and_ignored_kinds() {
    let m = Manifests::parse(BASE).unwrap();
    assert_eq!(m.classes.len(), 1);
    assert_eq!(m.services.keys().map(|k| k.to_string()).collect::<Vec<_>>(), ["app/web"]);
    assert_eq!(m.ignored, ["apps/v1 Deployment app/web"]);
}

#[test]
fn an_unknown_field_is_refused_with_its_path() {
    let text = format!(
        "{BASE}---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{ name: r }}\nspec:\n  rules:\n  - matchs: []\n"
    );
    let e = Manifests::parse(&text).unwrap_err();
    assert_eq!(e.document, 5, "{e}");
    assert_eq!(e.path, "spec.rules[0].matchs", "{e}");
    assert!(e.to_string().contains("(HTTPRoute default/r)"), "{e}");
}

#[test]
fn a_wrong_type_is_refused_with_its_path() {
    let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec:\n  gatewayClassName: weir\n  listeners: [ { name: http, port: eighty, protocol: HTTP } ]\n";
    let e = Manifests::parse(text).unwrap_err();
    assert_eq!(e.path, "spec.listeners[0].port", "{e}");
}

#[test]
fn names_are_required_and_unique() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: {}\n";
    let e = Manifests::parse(&format!("{svc}---\n{svc}")).unwrap_err();
    assert_eq!((e.document, e.reason.as_str()), (2, "given twice"));
    let e = Manifests::parse("apiVersion: v1\nkind: Service\nmetadata: {}\n").unwrap_err();
    assert_eq!(e.path, "metadata.name");
    assert!(Manifests::parse("- a\n- b\n").is_err());
    assert!(Manifests::parse("kind: Service\n").unwrap_err().reason.contains("apiVersion"));
}

#[test]
fn long_lists_and_too_many_objects_are_refused() {
    let hosts: Vec<String> = (0..1001).map(|i| format!("h{i}.example.com")).collect();
    let route = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{ name: r }}\nspec: {{ hostnames: {} }}\n",
        serde_json::to_string(&hosts).unwrap()
    );
    let e = Manifests::parse(&route).unwrap_err();
    assert_eq!(e.path, "spec.hostnames", "{e}");
    let many: String = (0..=MAX_DOCUMENTS)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: c{i} }}\n---\n"))
        .collect();
    assert!(Manifests::parse(&many).unwrap_err().reason.contains("more than 10000"));
}
