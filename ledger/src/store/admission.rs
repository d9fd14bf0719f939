//! The admission decision: the acceptance rules that only a service deployment knows (its
//! publisher allow-list) and the rate class of an entry, decided on the typed entry
//! ([`Entry::from_bytes_unverified`]: size, JSON, fields and canonical form checked) before it is
//! submitted. The rest of the acceptance rules (the signature: [`UnverifiedEntry::verify`]; the
//! cross-entry rules: [`super::index::apply`]) do not depend on the deployment and are what an
//! auditor replays.
//!
//! The decision comes before the signature check on purpose: the per-client limits must bite
//! before the service spends a signature verification on a throwaway key's entry. The one
//! decision that depends on the signature (a known key's opt-out is free) checks it
//! ([`UnverifiedEntry::signature_ok`]).
//!
//! The rules, in order:
//!
//! - **allow-list**: when the deployment has one, a `publisher`, `dataset_version` or
//!   `model_checkpoint` entry whose signer is not on it is refused
//!   ([`Admission::NotOnAllowList`]). Opt-outs stay open to anyone.
//! - **rate class** ([`RateClass`]) of what is admitted:
//!   - [`RateClass::PerClient`]: every opt-out anyone could make for free: an anonymous one, or
//!     one signed by a key that is neither on the allow-list nor the current key of a
//!     registered publisher (a throwaway key costs nothing to make), or one whose signature
//!     does not verify (naming a publisher's key without its signature earns no exemption).
//!   - [`RateClass::Registration`]: a `publisher` entry for a name not yet registered, by a key
//!     not on the allow-list: a registered publisher's opt-outs are [`RateClass::Free`], so
//!     registering throwaway names is limited instead. A key change of an existing name is not
//!     a new name.
//!   - [`RateClass::Free`]: everything else (registered publishers' writes, allow-listed keys).
//!
//! The limiters themselves (per-client state) belong to the service; this module only names the
//! class. The decision is pure: what it needs from the log comes through [`AdmissionLookup`].

use std::collections::HashSet;

pub use ed25519_dalek::VerifyingKey;

#[cfg(doc)]
use crate::entry::Entry;
use crate::entry::{EntryBody, UnverifiedEntry};

/// What the deployment configured: the optional publisher allow-list.
#[derive(Clone, Debug, Default)]
pub struct AdmissionPolicy {
    /// The keys allowed to register and publish; `None` lets anyone.
    allowlist: Option<HashSet<[u8; 32]>>,
}

impl AdmissionPolicy {
    /// No allow-list: anyone may register and publish.
    pub fn open() -> Self {
        AdmissionPolicy { allowlist: None }
    }

    /// Only `keys` may register and publish.
    pub fn allow_only(keys: impl IntoIterator<Item = [u8; 32]>) -> Self {
        AdmissionPolicy {
            allowlist: Some(keys.into_iter().collect()),
        }
    }

    /// Whether `key` is on the allow-list (false when there is none).
    pub fn on_allowlist(&self, key: &VerifyingKey) -> bool {
        self.allowlist
            .as_ref()
            .is_some_and(|set| set.contains(key.as_bytes()))
    }

    /// Whether `key` may register and publish: on the allow-list, or there is none.
    fn may_publish(&self, key: Option<&VerifyingKey>) -> bool {
        match &self.allowlist {
            None => true,
            Some(set) => key.is_some_and(|k| set.contains(k.as_bytes())),
        }
    }
}

/// What the decision needs to know about the log.
pub trait AdmissionLookup {
    type Error;
    /// Whether `key` is the current key of a registered publisher.
    fn is_publisher_key(&self, key: &VerifyingKey) -> Result<bool, Self::Error>;
    /// Whether a publisher named `name` is registered.
    fn is_registered(&self, name: &str) -> Result<bool, Self::Error>;
}

/// Which per-client limit an admitted entry draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateClass {
    /// No per-client limit.
    Free,
    /// The per-client opt-out limit (`limits.anonymous_optouts_*`).
    PerClient,
    /// The per-client limit on new publisher names (`limits.publisher_registrations_*`).
    Registration,
}

/// The admission decision for one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Admitted, drawing on the given rate class.
    Admit(RateClass),
    /// The deployment has an allow-list and the entry's signer is not on it.
    NotOnAllowList,
}

/// Decides whether `entry` is admitted by `policy` and which rate class it draws on (see the
/// module docs). Looks the log up only where the answer depends on it.
pub fn admission<L: AdmissionLookup>(
    entry: &UnverifiedEntry,
    policy: &AdmissionPolicy,
    log: &L,
) -> Result<Admission, L::Error> {
    let signer = entry.signer();
    let class = match entry.body() {
        EntryBody::OptOut(_) => match signer {
            None => RateClass::PerClient,
            // The signature is checked only for known keys, so that a flood of throwaway keys
            // costs no signature checks before it meets the limit.
            Some(k)
                if (policy.on_allowlist(k) || log.is_publisher_key(k)?) && entry.signature_ok() =>
            {
                RateClass::Free
            }
            Some(_) => RateClass::PerClient,
        },
        body => {
            if !policy.may_publish(signer) {
                return Ok(Admission::NotOnAllowList);
            }
            match body {
                EntryBody::Publisher(p)
                    if !signer.is_some_and(|k| policy.on_allowlist(k))
                        && !log.is_registered(p.name.as_str())? =>
                {
                    RateClass::Registration
                }
                _ => RateClass::Free,
            }
        }
    };
    Ok(Admission::Admit(class))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use base64::Engine as _;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::entry::{
        CorpusMode, DatasetVersion, Entry, Name, OptOut, OptOutIds, Publisher, Scope,
    };
    use crate::types::{ContentId, Digest};

    const LOG: &str = "test.example/log";

    #[derive(Default)]
    struct Log {
        keys: HashSet<[u8; 32]>,
        names: HashSet<String>,
    }

    impl Log {
        fn with(key: &SigningKey, name: &str) -> Self {
            Log {
                keys: [key.verifying_key().to_bytes()].into(),
                names: [name.to_string()].into(),
            }
        }
    }

    impl AdmissionLookup for Log {
        type Error = Infallible;
        fn is_publisher_key(&self, key: &VerifyingKey) -> Result<bool, Infallible> {
            Ok(self.keys.contains(key.as_bytes()))
        }
        fn is_registered(&self, name: &str) -> Result<bool, Infallible> {
            Ok(self.names.contains(name))
        }
    }

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn publisher(name: &str, k: &SigningKey) -> Entry {
        let body = EntryBody::Publisher(Publisher {
            name: Name::new(name).unwrap(),
            key: k.verifying_key(),
        });
        Entry::sign(LOG, body, 1, None, k).unwrap()
    }

    fn dataset(k: &SigningKey) -> Entry {
        let body = EntryBody::DatasetVersion(DatasetVersion {
            publisher: Name::new("acme").unwrap(),
            dataset: Name::new("d").unwrap(),
            version: Name::new("1").unwrap(),
            manifest_root: Digest([1; 32]),
            item_count: 1,
            total_bytes: 1,
            corpus_mode: CorpusMode::File,
            licence: "CC0-1.0".into(),
            previous: None,
            sources: None,
            passages: None,
        });
        Entry::sign(LOG, body, 1, None, k).unwrap()
    }

    fn optout_body() -> OptOut {
        OptOut {
            ids: Some(OptOutIds::Inline(vec![ContentId::of(b"x")])),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        }
    }

    fn signed_optout(k: &SigningKey) -> Entry {
        Entry::sign(LOG, EntryBody::OptOut(optout_body()), 1, None, k).unwrap()
    }

    fn unverified(e: &Entry) -> UnverifiedEntry {
        Entry::from_bytes_unverified(e.as_bytes()).unwrap()
    }

    fn decide(e: &Entry, policy: &AdmissionPolicy, log: &Log) -> Admission {
        match admission(&unverified(e), policy, log) {
            Ok(a) => a,
            Err(never) => match never {},
        }
    }

    fn allow(k: &SigningKey) -> AdmissionPolicy {
        AdmissionPolicy::allow_only([k.verifying_key().to_bytes()])
    }

    #[test]
    fn anonymous_optouts_draw_on_the_per_client_limit() {
        let e = Entry::anonymous(LOG, optout_body(), 1, None).unwrap();
        let a = decide(&e, &AdmissionPolicy::open(), &Log::default());
        assert_eq!(a, Admission::Admit(RateClass::PerClient));
        // An allow-list does not close opt-outs.
        let a = decide(&e, &allow(&key(1)), &Log::default());
        assert_eq!(a, Admission::Admit(RateClass::PerClient));
    }

    #[test]
    fn throwaway_key_optouts_draw_on_the_per_client_limit() {
        let log = Log::with(&key(1), "acme");
        let a = decide(&signed_optout(&key(2)), &AdmissionPolicy::open(), &log);
        assert_eq!(a, Admission::Admit(RateClass::PerClient));
    }

    #[test]
    fn registered_publishers_optouts_are_free() {
        let log = Log::with(&key(1), "acme");
        let a = decide(&signed_optout(&key(1)), &AdmissionPolicy::open(), &log);
        assert_eq!(a, Admission::Admit(RateClass::Free));
    }

    #[test]
    fn naming_a_publishers_key_without_its_signature_earns_no_exemption() {
        let log = Log::with(&key(1), "acme");
        let good = signed_optout(&key(1));
        let mut v: serde_json::Value = serde_json::from_slice(good.as_bytes()).unwrap();
        let zero = base64::engine::general_purpose::STANDARD.encode([0u8; 64]);
        v["sig"] = serde_json::Value::String(zero);
        let forged = serde_json_canonicalizer::to_vec(&v).unwrap();
        let forged = Entry::from_bytes_unverified(&forged).unwrap();
        let a = admission(&forged, &AdmissionPolicy::open(), &log);
        assert_eq!(a, Ok(Admission::Admit(RateClass::PerClient)));
        // Also for an allow-listed key.
        let a = admission(&forged, &allow(&key(1)), &Log::default());
        assert_eq!(a, Ok(Admission::Admit(RateClass::PerClient)));
    }

    #[test]
    fn allow_listed_keys_optouts_are_free() {
        let a = decide(&signed_optout(&key(1)), &allow(&key(1)), &Log::default());
        assert_eq!(a, Admission::Admit(RateClass::Free));
    }

    #[test]
    fn allow_list_refuses_publishers_datasets_and_checkpoints_of_other_keys() {
        let log = Log::with(&key(2), "acme");
        let policy = allow(&key(1));
        assert_eq!(
            decide(&publisher("other", &key(2)), &policy, &log),
            Admission::NotOnAllowList
        );
        assert_eq!(
            decide(&dataset(&key(2)), &policy, &log),
            Admission::NotOnAllowList
        );
        // The allow-listed key is admitted, and its new names are not rate-limited.
        assert_eq!(
            decide(&publisher("mine", &key(1)), &policy, &log),
            Admission::Admit(RateClass::Free)
        );
        assert_eq!(
            decide(&dataset(&key(1)), &policy, &log),
            Admission::Admit(RateClass::Free)
        );
    }

    #[test]
    fn new_publisher_names_draw_on_the_registration_limit() {
        let a = decide(
            &publisher("fresh", &key(3)),
            &AdmissionPolicy::open(),
            &Log::default(),
        );
        assert_eq!(a, Admission::Admit(RateClass::Registration));
    }

    #[test]
    fn key_changes_of_registered_names_are_free() {
        let log = Log::with(&key(1), "acme");
        let a = decide(&publisher("acme", &key(4)), &AdmissionPolicy::open(), &log);
        assert_eq!(a, Admission::Admit(RateClass::Free));
    }

    #[test]
    fn registered_publishers_dataset_versions_are_free() {
        let log = Log::with(&key(1), "acme");
        let a = decide(&dataset(&key(1)), &AdmissionPolicy::open(), &log);
        assert_eq!(a, Admission::Admit(RateClass::Free));
    }

    #[test]
    fn lookup_errors_are_passed_on() {
        struct Broken;
        impl AdmissionLookup for Broken {
            type Error = &'static str;
            fn is_publisher_key(&self, _: &VerifyingKey) -> Result<bool, &'static str> {
                Err("down")
            }
            fn is_registered(&self, _: &str) -> Result<bool, &'static str> {
                Err("down")
            }
        }
        let open = AdmissionPolicy::open();
        assert_eq!(
            admission(&unverified(&signed_optout(&key(1))), &open, &Broken),
            Err("down")
        );
        assert_eq!(
            admission(&unverified(&publisher("n", &key(1))), &open, &Broken),
            Err("down")
        );
        // No lookup where the answer does not depend on the log.
        let anon = Entry::anonymous(LOG, optout_body(), 1, None).unwrap();
        assert_eq!(
            admission(&unverified(&anon), &open, &Broken),
            Ok(Admission::Admit(RateClass::PerClient))
        );
    }
}
