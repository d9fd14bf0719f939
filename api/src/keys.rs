//! `GET /v1/keys/{key}`: which publisher name a key holds, so that a client that has only its key
//! file (whose name is a suggestion, not a binding) signs under the name the log bound to it.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::Path;
use crate::problem::ApiError;
use crate::state::AppState;

/// A publisher name a key holds now, and the `publisher` entry that bound it last.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyName {
    pub publisher: String,
    pub index: u64,
}

/// The publisher names a key is the current key of.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// The name bound first (of those the key still holds).
    pub publisher: String,
    /// The `publisher` entry that bound `publisher` to the key last.
    pub index: u64,
    /// Every name the key holds, in log order (usually one; `publisher` is the first).
    pub names: Vec<KeyName>,
}

/// `GET /v1/keys/{key}`: the publisher names `key` (an Ed25519 public key, 64 hex) is the
/// current key of. 404 when it holds none (never registered, or replaced under every name).
#[utoipa::path(get, path = "/v1/keys/{key}", tag = "read", operation_id = "get_key_names",
    params(("key" = String, Path, description = "An Ed25519 public key, 64 hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The names the key holds", body = KeyView),
        (status = 400, description = "Not 64 hex", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The key holds no publisher name", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Timed out, or storage unavailable (`storage-unavailable`); retry after Retry-After", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn names_of_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    let bytes: [u8; 32] = hex::decode(&key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("key: expected an Ed25519 public key, 64 hex"))?;
    let names = state.blocking(move |l| Ok(l.names_of_key(&bytes)?)).await?;
    let names: Vec<KeyName> = names
        .into_iter()
        .map(|(publisher, index)| KeyName {
            publisher,
            index: index.0,
        })
        .collect();
    let first = names
        .first()
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("a publisher name held by key {key}")))?;
    Ok(Json(KeyView {
        publisher: first.publisher,
        index: first.index,
        names,
    }))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use crate::tests::{assert_valid, get, harness, key, post_entry, publisher_entry};

    #[tokio::test]
    async fn a_key_answers_the_names_it_holds() {
        let h = harness();
        let (a, b) = (key(1), key(2));
        for (k, n) in [(&a, "acme-labs"), (&b, "lab"), (&a, "acme-two")] {
            let r = post_entry(&h.router, &publisher_entry(k, n)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        }
        let hex_a = hex::encode(a.verifying_key().as_bytes());
        let r = get(&h.router, &format!("/v1/keys/{hex_a}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        assert_valid("KeyView", &v);
        assert_eq!(v["publisher"], "acme-labs");
        assert_eq!(v["index"], 0);
        assert_eq!(v["names"].as_array().unwrap().len(), 2);
        assert_eq!(v["names"][1]["publisher"], "acme-two");
        assert_eq!(v["names"][1]["index"], 2);
        // Upper-case hex is the same key.
        let r = get(&h.router, &format!("/v1/keys/{}", hex_a.to_uppercase())).await;
        assert_eq!(r.json()["publisher"], "acme-labs");

        let hex_b = hex::encode(b.verifying_key().as_bytes());
        let v = get(&h.router, &format!("/v1/keys/{hex_b}")).await.json();
        assert_eq!(v["publisher"], "lab");
        assert_eq!(v["index"], 1);

        let unknown = hex::encode(key(3).verifying_key().as_bytes());
        get(&h.router, &format!("/v1/keys/{unknown}"))
            .await
            .assert_problem(404, "not-found");
        for bad in ["zz", "00", &hex_a[..62]] {
            get(&h.router, &format!("/v1/keys/{bad}"))
                .await
                .assert_problem(400, "bad-request");
        }
    }
}
