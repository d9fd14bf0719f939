//! Where the mirror goes: a URL (`s3://BUCKET/PREFIX`, `gs://…`, `az://…`, `file:///abs/dir`)
//! and `object_store` options (`aws_endpoint`, `aws_access_key_id`, …), parsed into a store and
//! the prefix every object name goes under.
//!
//! The options are `object_store`'s configuration keys, lower case. The binary fills them from
//! the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as `object_store`'s `from_env` builders would)
//! and the config file's `[publish_options]` override them; this module reads no environment.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

/// Why a publish URL or its options were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    #[error("publish URL {url:?}: {reason}")]
    Url { url: String, reason: &'static str },
    #[error("publish URL {url:?}: unsupported scheme {scheme:?} (s3, gs, az or file)")]
    Scheme { url: String, scheme: String },
    #[error("publish store for {url:?}")]
    Store {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

/// A parsed publish target: the store and the prefix of every object.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL as configured (shown in `/healthz`; it carries no credentials).
    pub url: String,
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Path,
}

impl Target {
    /// The object `name` (`checkpoint`, `tile/0/000`, …) under the prefix.
    pub fn path(&self, name: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in name.split('/') {
            p = p.child(part);
        }
        p
    }
}

/// Checks the URL's form without building a client (config validation).
pub fn check_url(url: &str) -> Result<(), TargetError> {
    split(url).map(|_| ())
}

/// The store and prefix for `url`, with `options` (object_store configuration keys).
pub fn open(url: &str, options: &[(String, String)]) -> Result<Target, TargetError> {
    let (scheme, bucket, prefix) = split(url)?;
    let store_err = |source| TargetError::Store {
        url: url.to_string(),
        source,
    };
    // Client options first: `aws_allow_http` and the like among `options` go over them.
    // Requests that fail are retried briefly by the client and then by the publisher, with its
    // own backoff: a store that is down must show in `/healthz` within seconds, not minutes.
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 2,
        retry_timeout: Duration::from_secs(15),
    };
    let client = ClientOptions::new()
        .with_timeout(Duration::from_secs(30))
        .with_connect_timeout(Duration::from_secs(5));
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" | "s3a" => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            // The URL's bucket wins over an `aws_bucket` option: set after them.
            let mut b = AmazonS3Builder::new()
                .with_retry(retry)
                .with_client_options(client);
            for (k, v) in options {
                if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            Arc::new(b.with_bucket_name(bucket).build().map_err(store_err)?)
        }
        "gs" => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut b = GoogleCloudStorageBuilder::new()
                .with_retry(retry)
                .with_client_options(client);
            for (k, v) in options {
                if let Ok(key) = k.to_ascii_lowercase().parse::<GoogleConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            Arc::new(b.with_bucket_name(bucket).build().map_err(store_err)?)
        }
        "az" | "azure" => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut b = MicrosoftAzureBuilder::new()
                .with_retry(retry)
                .with_client_options(client);
            for (k, v) in options {
                if let Ok(key) = k.to_ascii_lowercase().parse::<AzureConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            Arc::new(b.with_container_name(bucket).build().map_err(store_err)?)
        }
        "file" => {
            // `file:///abs/dir`: the directory is the store's root (created if missing).
            let dir = std::path::Path::new(prefix);
            std::fs::create_dir_all(dir).map_err(|e| {
                store_err(object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(e),
                })
            })?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map_err(store_err)?
                .with_automatic_cleanup(true);
            return Ok(Target {
                url: url.to_string(),
                store: Arc::new(fs),
                prefix: Path::default(),
            });
        }
        other => {
            return Err(TargetError::Scheme {
                url: url.to_string(),
                scheme: other.to_string(),
            })
        }
    };
    Ok(Target {
        url: url.to_string(),
        store,
        prefix: Path::from(prefix),
    })
}

/// `(scheme, bucket, prefix)`; for `file` the bucket is empty and the prefix is the absolute
/// directory.
fn split(url: &str) -> Result<(&str, &str, &str), TargetError> {
    let bad = |reason| TargetError::Url {
        url: url.to_string(),
        reason,
    };
    let (scheme, rest) = url.split_once("://").ok_or(bad("not scheme://…"))?;
    match scheme {
        "file" => {
            if !rest.starts_with('/') || rest.len() < 2 {
                return Err(bad("file URLs name an absolute directory: file:///abs/dir"));
            }
            if rest.split('/').any(|c| c == "..") {
                return Err(bad("'..' in the path"));
            }
            Ok((scheme, "", rest))
        }
        "s3" | "s3a" | "gs" | "az" | "azure" => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket"));
            }
            if bucket.contains(['?', '#', '@']) || prefix.contains(['?', '#']) {
                return Err(bad("query, fragment or user info in the URL"));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|c| c == "." || c == "..") {
                return Err(bad("'.' or '..' in the prefix"));
            }
            Ok((scheme, bucket, prefix))
        }
        other => Err(TargetError::Scheme {
            url: url.to_string(),
            scheme: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(split("s3://b/p/q").unwrap(), ("s3", "b", "p/q"));
        assert_eq!(split("s3://b").unwrap(), ("s3", "b", ""));
        assert_eq!(split("gs://b/p/").unwrap(), ("gs", "b", "p"));
        assert_eq!(split("file:///tmp/x").unwrap(), ("file", "", "/tmp/x"));
        assert!(matches!(
            split("http://x/y"),
            Err(TargetError::Scheme { .. })
        ));
        assert!(matches!(split("s3:///p"), Err(TargetError::Url { .. })));
        assert!(matches!(split("file://rel"), Err(TargetError::Url { .. })));
        assert!(matches!(split("s3://b/../x"), Err(TargetError::Url { .. })));
        assert!(matches!(split("bucket"), Err(TargetError::Url { .. })));
    }

    #[test]
    fn object_names_go_under_the_prefix() {
        let t = open("s3://bucket/logs/one", &[]).unwrap();
        assert_eq!(
            t.path("tile/0/x001/002.p/5").as_ref(),
            "logs/one/tile/0/x001/002.p/5"
        );
        assert_eq!(t.path("checkpoint").as_ref(), "logs/one/checkpoint");
        let t = open("s3://bucket", &[]).unwrap();
        assert_eq!(t.path("checkpoint").as_ref(), "checkpoint");
    }
}
