//! The OpenAPI 3.1 description, generated from the handlers' annotations. The committed
//! `openapi.yaml` at the repository root is this document; a test keeps them equal
//! (`PROV_UPDATE_OPENAPI=1 cargo test -p api openapi` rewrites the file).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::problem::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Provenance Ledger",
        description = "A verifiable training-data provenance ledger: C2SP tlog-tiles read path, \
            write API and JSON read API. Every error is an RFC 9457 problem body \
            (application/problem+json). Parameter examples name what the demo log \
            (`prov serve --demo`) holds.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::tiles::checkpoint,
        crate::tiles::tile,
        crate::witnessing::checkpoint_cosigned,
        crate::entries::submit,
        crate::entries::register_publisher,
        crate::entries::entry,
        crate::proofs::inclusion,
        crate::proofs::inclusion_tlog_proof,
        crate::proofs::consistency,
        crate::datasets::publishers,
        crate::datasets::publisher,
        crate::keys::names_of_key,
        crate::datasets::list,
        crate::datasets::of_publisher,
        crate::datasets::versions,
        crate::datasets::version,
        crate::datasets::proof,
        crate::items::item,
        crate::items::stats,
        crate::sites::dataset_site,
        crate::sites::site,
        crate::passages::dataset_passage,
        crate::passages::dataset_passages,
        crate::passages::leaves,
        crate::uploads::create,
        crate::uploads::put_whole,
        crate::uploads::put_chunk,
        crate::uploads::commit,
        crate::uploads::abandon,
        crate::sets::put_set_gone,
        crate::sets::get_set,
        crate::sets::leaves,
        crate::sets::proof,
        crate::content::appearances,
        crate::optouts::list,
        crate::models::list,
        crate::models::checkpoints,
        crate::compliance::bundle,
        crate::health::healthz,
        crate::metrics::metrics_handler,
        openapi_yaml,
        crate::explorer::index,
        crate::explorer::index_html,
        crate::explorer::asset,
    ),
    components(schemas(crate::problem::Problem, crate::schemas::SetInclusionProofJson, crate::schemas::SetExclusionProofJson)),
    modifiers(&EntryDiscriminator, &UploadLinks),
    tags(
        (name = "tiles", description = "C2SP tlog-tiles: the log itself, byte for byte"),
        (name = "write", description = "Submitting entries and uploading sets"),
        (name = "read", description = "JSON conveniences, each checkable against tiles"),
        (name = "operations", description = "Health, metrics and this document"),
        (name = "explorer", description = "The web explorer's pages"),
    )
)]
pub struct ApiDoc;

/// Marks `EntryJson`'s `oneOf` as discriminated by `type` (utoipa writes an untagged enum as a
/// plain `oneOf`; each branch already requires its own `type` value).
struct EntryDiscriminator;

impl utoipa::Modify for EntryDiscriminator {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Discriminator, Schema};
        use utoipa::openapi::RefOr;
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::OneOf(one))) = components.schemas.get_mut("EntryJson") {
            let mut d = Discriminator::new("type");
            d.mapping = [
                ("publisher", "PublisherEntryJson"),
                ("dataset_version", "DatasetVersionEntryJson"),
                ("optout", "OptOutEntryJson"),
                ("model_checkpoint", "ModelCheckpointEntryJson"),
            ]
            .into_iter()
            .map(|(ty, schema)| (ty.to_string(), format!("#/components/schemas/{schema}")))
            .collect();
            one.discriminator = Some(d);
        }
    }
}

/// OpenAPI links from `POST /v1/uploads`'s answer to the operations on the upload it started,
/// so that clients (and Schemathesis's stateful phase) know where `upload_id` goes.
struct UploadLinks;

impl utoipa::Modify for UploadLinks {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::extensions::Extensions;
        use utoipa::openapi::link::LinkBuilder;
        use utoipa::openapi::RefOr;
        let Some(item) = doc.paths.paths.get_mut("/v1/uploads") else {
            return;
        };
        let Some(op) = item.post.as_mut() else {
            return;
        };
        let Some(RefOr::T(created)) = op.responses.responses.get_mut("201") else {
            return;
        };
        for (name, operation_id) in [
            ("UploadWholeSet", "upload_whole_set"),
            ("UploadChunk", "upload_chunk"),
            ("CommitUpload", "commit_upload"),
            ("AbandonUpload", "abandon_upload"),
        ] {
            // utoipa 5.5 writes `Link::operation_id` as `operation_id`, which OpenAPI does not
            // know (the meta-schema test catches it); the right key goes in through the
            // extensions map, which is flattened into the link.
            let key = Extensions::from_iter([("operationId", operation_id)]);
            let link = LinkBuilder::new()
                .extensions(Some(key))
                .parameter("id", "$response.body#/upload_id");
            created
                .links
                .insert(name.to_string(), RefOr::T(link.build()));
        }
    }
}

/// The document as YAML, as committed in `openapi.yaml`.
pub fn yaml() -> Result<String, ApiError> {
    ApiDoc::openapi()
        .to_yaml()
        .map_err(|e| ApiError::internal(format!("openapi to yaml: {e}")))
}

/// `GET /openapi.yaml`.
#[utoipa::path(get, path = "/openapi.yaml", tag = "operations", operation_id = "get_openapi",
    responses(
        (status = 200, description = "This document", content_type = "application/yaml", body = Object),
        (status = 503, description = "Timed out; retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn openapi_yaml() -> Result<Response, ApiError> {
    let mut resp = yaml()?.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use axum::http::{Method, StatusCode};
    use serde_json::Value;

    use super::*;
    use crate::tests::{call, harness};

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
    }

    fn committed() -> Value {
        let text = std::fs::read_to_string(committed_path()).unwrap();
        serde_yaml_ng::from_str(&text).unwrap()
    }

    /// Keeps the committed openapi.yaml equal to what the code generates.
    #[test]
    fn openapi_yaml_is_up_to_date() {
        let generated = yaml().unwrap();
        assert!(generated.contains("openapi: 3.1.0"), "{generated}");
        let path = committed_path();
        if std::env::var_os("PROV_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi.yaml is stale: run `PROV_UPDATE_OPENAPI=1 cargo test -p api openapi`"
        );
    }

    /// The routes as `router.rs` declares them: (method, axum path), e.g. ("PUT",
    /// "/v1/uploads/{id}").
    ///
    /// Why parse the source rather than build the router from a table both read: axum's
    /// `Router` cannot list its routes, and a data table would need every handler type-erased
    /// and the per-group layers (uploads have their own body limit and timeout) rebuilt around
    /// it. The router stays the one list; this parse of it is checked against the live router
    /// by [`every_route_in_router_rs_is_served_and_no_other_method_is`] (each parsed route
    /// answers, every other method on its path is 405), and the count of `.route(` calls
    /// guards against one the parse skipped.
    fn router_routes() -> BTreeSet<(String, String)> {
        const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
        let src = include_str!("router.rs");
        let mut out = BTreeSet::new();
        let mut calls = 0;
        for (at, _) in src.match_indices(".route(") {
            calls += 1;
            let rest = &src[at + ".route(".len()..];
            let rest = rest.trim_start();
            assert!(
                rest.starts_with('"'),
                "a route path that is not a literal: {rest:.60}"
            );
            let end = rest[1..].find('"').unwrap() + 1;
            let path = &rest[1..end];
            // The method router: the second argument, up to the `)` closing `.route(`.
            let mut depth = 0i32;
            let mut ident = String::new();
            let mut methods = Vec::new();
            for c in rest[end + 1..].chars() {
                match c {
                    '(' => {
                        if depth == 0 && METHODS.contains(&ident.as_str()) {
                            methods.push(ident.to_ascii_uppercase());
                        }
                        depth += 1;
                        ident.clear();
                    }
                    ')' if depth == 0 => break,
                    ')' => depth -= 1,
                    c if c.is_ascii_alphanumeric() || c == '_' => ident.push(c),
                    _ => ident.clear(),
                }
            }
            assert!(!methods.is_empty(), "no method parsed for {path}");
            for m in methods {
                out.insert((m, path.to_string()));
            }
        }
        let paths: BTreeSet<&str> = out.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(paths.len(), calls, "one path per `.route(` call");
        out
    }

    /// axum's `{*rest}` is OpenAPI's `{rest}`.
    fn openapi_path(axum_path: &str) -> String {
        axum_path.replace("{*", "{")
    }

    /// (method, path) of every operation in the document.
    fn spec_routes(doc: &Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        out
    }

    fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.to_ascii_uppercase(), path.clone(), op));
            }
        }
        out
    }

    /// Every route the router serves is in openapi.yaml, and the document names no route the
    /// router lacks (the sync test alone passed a route without an annotation).
    #[test]
    fn every_router_route_is_in_openapi_yaml_and_no_other() {
        let router: BTreeSet<(String, String)> = router_routes()
            .into_iter()
            .map(|(m, p)| (m, openapi_path(&p)))
            .collect();
        let spec = spec_routes(&committed());
        let missing: Vec<_> = router.difference(&spec).collect();
        let extra: Vec<_> = spec.difference(&router).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.yaml: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "openapi.yaml names routes the router lacks: {extra:?}"
        );
    }

    /// The parse of router.rs is what the router really serves: each parsed (method, path)
    /// reaches a handler (not the fallback's 404, not 405), and every other method on the same
    /// path is 405.
    #[tokio::test]
    async fn every_route_in_router_rs_is_served_and_no_other_method_is() {
        let h = harness();
        let routes = router_routes();
        let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, p) in &routes {
            by_path.entry(p.clone()).or_default().insert(m.clone());
        }
        for (path, methods) in by_path {
            let uri = concrete(&path);
            for m in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                let r = call(&h.router, method, &uri, None, Vec::new()).await;
                if methods.contains(m) {
                    assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
                    let fallback = r.status == StatusCode::NOT_FOUND
                        && r.json()["detail"] == "no such resource";
                    assert!(!fallback, "{m} {uri} reached no handler");
                } else {
                    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}");
                }
            }
        }
    }

    /// A path with each parameter filled in.
    fn concrete(path: &str) -> String {
        let mut out = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').unwrap() + open;
            let name = rest[open + 1..close].trim_start_matches('*');
            out.push_str(match name {
                "index" | "seq" => "0",
                "root" => "0000000000000000000000000000000000000000000000000000000000000000",
                "cid" => "blake3:0000000000000000000000000000000000000000000000000000000000000000",
                "id" => "00000000000000000000000000000000",
                _ => "x",
            });
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The committed document is a valid OpenAPI 3.1 document, by the OpenAPI Initiative's own
    /// JSON Schema (api/tests/data/README.md names its source).
    #[test]
    fn openapi_yaml_is_a_valid_openapi_3_1_document() {
        let meta: Value =
            serde_json::from_str(include_str!("../tests/data/openapi-3.1-schema.json")).unwrap();
        let v = jsonschema::draft202012::new(&meta).unwrap();
        let doc = committed();
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        // The same validator refuses a broken document, so the check above can fail.
        let mut broken = doc.clone();
        broken["paths"]["/checkpoint"]["get"]["responses"] = Value::String("none".into());
        assert!(!v.is_valid(&broken));
    }

    #[test]
    fn operation_ids_are_present_and_unique() {
        let doc = committed();
        let mut seen = BTreeMap::new();
        for (m, p, op) in operations(&doc) {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{m} {p}: no id"));
            if let Some(other) = seen.insert(id.to_string(), format!("{m} {p}")) {
                panic!("operationId {id} used by {other} and {m} {p}");
            }
        }
    }

    /// A parameter is `in: path` only when the path template names it, and every name in the
    /// template is a path parameter (utoipa's `IntoParams` once put every query parameter in
    /// the path).
    #[test]
    fn parameters_are_where_the_server_reads_them() {
        let doc = committed();
        for (m, p, op) in operations(&doc) {
            let mut in_path = BTreeSet::new();
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                match param["in"].as_str().unwrap() {
                    "path" => {
                        assert!(
                            p.contains(&format!("{{{name}}}")),
                            "{m} {p}: {name} in path"
                        );
                        in_path.insert(name.to_string());
                    }
                    "query" => assert!(
                        !p.contains(&format!("{{{name}}}")),
                        "{m} {p}: {name} in query"
                    ),
                    other => panic!("{m} {p}: {name} in {other}"),
                }
            }
            let templated: BTreeSet<String> = p
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap().to_string())
                .collect();
            assert_eq!(in_path, templated, "{m} {p}");
        }
    }

    /// Every operation documents 503 (every route sits behind a timeout that answers 503), every
    /// operation with a parameter documents 400 (a malformed one is refused), every operation
    /// with a body documents 413 (the body limit), and every error answer is a problem body.
    #[test]
    fn every_operation_documents_the_statuses_the_layers_answer() {
        let doc = committed();
        for (m, p, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("503"), "{m} {p}: no 503");
            let has_params = op["parameters"].as_array().is_some_and(|a| !a.is_empty());
            // PUT /v1/sets/{root} reads nothing: it answers 410 whatever it is sent.
            if has_params && op["operationId"] != "put_set_retired" {
                assert!(responses.contains_key("400"), "{m} {p}: no 400");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{m} {p}: no 413");
            }
            for (status, r) in responses {
                if status.starts_with('4') {
                    let content = r["content"].as_object().unwrap();
                    assert!(
                        content.contains_key(crate::problem::PROBLEM_JSON),
                        "{m} {p} {status}: not a problem body"
                    );
                }
            }
        }
    }

    /// Validates `value` against the JSON request body schema of `op`.
    fn request_body_accepts(doc: &Value, path: &str, method: &str, value: &Value) -> bool {
        let schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
            ["schema"]
            .clone();
        assert!(!schema.is_null(), "{method} {path}: no JSON body");
        let mut root = doc.clone();
        root["$ref"] = schema["$ref"].clone();
        if schema.get("$ref").is_none() {
            root = doc.clone();
            root.as_object_mut()
                .unwrap()
                .extend(schema.as_object().unwrap().clone());
        }
        jsonschema::draft202012::new(&root).unwrap().is_valid(value)
    }

    /// `{}` and entries without their type's fields are refused by the schema as by the server;
    /// a real entry of each type is accepted.
    #[test]
    fn entry_bodies_are_typed_per_entry_type() {
        use crate::tests::{
            checkpoint_entry, dataset_entry, key, optout_entry, publisher_entry, set_of,
        };
        let doc = committed();
        let empty = serde_json::json!({});
        for (path, method) in [
            ("/v1/entries", "post"),
            ("/v1/publishers", "post"),
            ("/v1/uploads", "post"),
        ] {
            assert!(
                !request_body_accepts(&doc, path, method, &empty),
                "{method} {path} takes {{}}"
            );
        }
        let k = key(1);
        let set = set_of(&[b"a"]);
        let entries = [
            publisher_entry(&k, "acme"),
            dataset_entry(&k, "acme", "d", "1", &set),
            optout_entry(&[ledger::ContentId::of(b"a")], 1),
            checkpoint_entry(&k, "acme", "m", &[("acme", "d", "1", 1, set.root())], 1),
        ];
        for e in &entries {
            let v: Value = serde_json::from_slice(e.as_bytes()).unwrap();
            assert!(request_body_accepts(&doc, "/v1/entries", "post", &v), "{v}");
            let mut wrong = v.clone();
            wrong["type"] = "nonsense".into();
            assert!(
                !request_body_accepts(&doc, "/v1/entries", "post", &wrong),
                "{wrong}"
            );
        }
        let publisher: Value = serde_json::from_slice(entries[0].as_bytes()).unwrap();
        assert!(request_body_accepts(
            &doc,
            "/v1/publishers",
            "post",
            &publisher
        ));
        let optout: Value = serde_json::from_slice(entries[2].as_bytes()).unwrap();
        assert!(!request_body_accepts(
            &doc,
            "/v1/publishers",
            "post",
            &optout
        ));
    }

    /// Content ids, roots and upload ids in paths carry their patterns; integers are 64-bit
    /// with minimum 0 (the server reads u64; `limit` u32).
    #[test]
    fn ids_have_patterns_and_integers_their_real_range() {
        let doc = committed();
        for (m, p, op) in operations(&doc) {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                let schema = &param["schema"];
                let want = match name {
                    "cid" => Some("^blake3:[0-9a-f]{64}$"),
                    "root" => Some("^[0-9a-f]{64}$"),
                    "id" => Some("^[0-9a-f]{32}$"),
                    _ => None,
                };
                if let Some(want) = want {
                    assert_eq!(schema["pattern"], want, "{m} {p} {name}");
                }
                let ty = &schema["type"];
                let integer =
                    ty == "integer" || ty.as_array().is_some_and(|t| t.contains(&"integer".into()));
                if integer {
                    assert_eq!(schema["format"], "int64", "{m} {p} {name}");
                    // At least 0; `old` of a consistency proof at least 1.
                    let min = if name == "old" { 1 } else { 0 };
                    assert_eq!(schema["minimum"], min, "{m} {p} {name}");
                }
                if name == "limit" {
                    assert_eq!(schema["maximum"], u32::MAX, "{m} {p} limit");
                }
            }
        }
    }
}
