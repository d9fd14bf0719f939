//! The Garage harness itself (tests/src/garage.rs): a real Garage started on loopback takes an
//! object through `object_store`'s S3 client, gives it back, and serves it anonymously on its website endpoint. Skips without the garage binary
//! (fails under `CI`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use tests::garage::Garage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_put_get_and_anonymous_web_read() {
    let Some(garage) = Garage::start_or_skip("garage_put_get_and_anonymous_web_read") else {
        return;
    };
    let store = garage.s3();
    let path = Path::from("smoke/tile/0/000");
    let bytes = b"thirty-two bytes of hash tile...".to_vec();
    store
        .put(&path, PutPayload::from(bytes.clone()))
        .await
        .unwrap();
    let got = store.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), bytes.as_slice());

    // Not checked here: a conditional create (`If-None-Match: *`) over an existing object.
    // Garage 2.5 does not implement it for PUT (its S3 API reads the header only on GET), so
    // the publisher reads an immutable object before creating it (api/src/publish/objects.rs).

    // Anonymous static read through the website endpoint: no key, no special header.
    let web = garage.web_url("smoke").unwrap();
    let resp = reqwest::get(format!("{web}/tile/0/000")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let missing = reqwest::get(format!("{web}/tile/0/001")).await.unwrap();
    assert_eq!(missing.status(), 404);
}
