//! Credential Secrets of KongConsumers (KIC's `FillConsumersAndCredentials`).
//! oauth2 has its own reader below; every other type goes through the one
//! generic path (`model::credential`): the Secret's data as strings,
//! parsed by the type's module. Types kingress does not read (hmac-auth,
//! mtls-auth, …) are reported and skipped. A unique key used twice keeps
//! the credential of the oldest Secret (KIC drops both consumers instead).

use super::{Cx, ids, object_ref, secrets};
use crate::model::{
    ClientSecret, ClientType, Credential, CredentialBase, CredentialError, CredentialType,
    Credentials, Fields, Oauth2Credential, ObjectRef, Origin, Sensitive, Table, is_hashed_secret,
    same_or_new,
};
use crate::objects::CREDENTIAL_LABEL;
use crate::objects::KongConsumer;
use crate::objects::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A consumer that made it into the table, whose credentials to read.
pub(super) struct Owner<'a> {
    pub consumer: &'a KongConsumer,
    pub id: String,
    pub object: ObjectRef,
}

/// Adds the credentials of `owners` to `table`. A credential equal to the
/// one `before` holds under its key is that very one (see
/// [`Credentials`]).
pub(super) fn translate(
    cx: &mut Cx<'_>,
    table: &mut Table,
    owners: &[Owner<'_>],
    before: Option<&Credentials>,
) {
    let mut found: Vec<(Option<&Time>, Arc<Credential>, &ObjectRef)> = Vec::new();
    for owner in owners {
        let ns = owner.object.namespace.clone().unwrap_or_default();
        for name in &owner.consumer.credentials {
            let Some(secret) = cx.secret(&ns, name) else {
                cx.problem(
                    &owner.object,
                    "SecretNotFound",
                    format!(
                        "credential Secret {ns}/{name} not found; the consumer is kept without it"
                    ),
                );
                continue;
            };
            let object = object_ref(secret.as_ref());
            let label = secret.label(CREDENTIAL_LABEL);
            let read = match label.map(|l| (l, CredentialType::from_label(l))) {
                None => {
                    cx.problem(
                        &object,
                        "InvalidCredential",
                        format!(
                            "Secret {ns}/{name} used as credential by {}, but lacks the \
                             {CREDENTIAL_LABEL} label",
                            owner.object
                        ),
                    );
                    None
                }
                Some((_, Some(CredentialType::Oauth2))) => {
                    oauth2(cx, secret, object.clone(), &owner.id).map(Credential::Oauth2)
                }
                Some((_, Some(kind))) => generic(cx, kind, secret, object.clone(), &owner.id),
                Some((other, None)) => {
                    unsupported(cx, &object, other);
                    None
                }
            };
            if let Some(credential) = read {
                let held =
                    before.and_then(|b| b.shared(credential.credential_type(), &credential.key()));
                let credential = same_or_new(held, credential);
                found.push((
                    secret.metadata.creation_timestamp.as_ref(),
                    credential,
                    &owner.object,
                ));
            }
        }
    }
    // Oldest Secret first; ties keep (consumer, credentials list) order.
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, credential, owner) in found {
        let reason = match credential.credential_type() {
            CredentialType::Oauth2 => "DuplicateClientId",
            _ => "DuplicateCredential",
        };
        match table
            .credentials
            .get(credential.credential_type(), &credential.key())
        {
            Some(kept) if kept.source() == credential.source() => {
                if kept.consumer_id() != credential.consumer_id() {
                    let message = format!(
                        "Secret is already the credential of another consumer; {owner} does not get it"
                    );
                    cx.problem(credential.source(), reason, message);
                }
            }
            Some(kept) => {
                let message = format!(
                    "{} is already used by the older {}; this credential is ignored",
                    describe_key(&credential),
                    kept.source()
                );
                cx.problem(credential.source(), reason, message);
            }
            None => {
                let _fresh = table.credentials.insert(credential);
            }
        }
    }
}

/// What a conflict names: the unique value when it is not a secret.
pub(super) fn describe_key(credential: &Credential) -> String {
    match credential {
        Credential::Oauth2(c) => format!("client_id '{}'", c.client_id),
        Credential::KeyAuth(_) => "the key-auth key".to_string(),
        Credential::BasicAuth(c) => format!("basic-auth username '{}'", c.username),
        Credential::Jwt(_) => "the jwt key".to_string(),
        Credential::Acl(c) => format!("acl group '{}' of this consumer", c.group),
    }
}

fn unsupported(cx: &mut Cx<'_>, object: &ObjectRef, label: &str) {
    cx.problem(
        object,
        "UnsupportedCredential",
        format!("credential type '{label}' is not used by kingress; the credential is ignored"),
    );
}

/// Reads a credential of a generic type from the Secret's data; problems
/// go on the Secret (field names and Kong's messages, never a value).
fn generic(
    cx: &mut Cx<'_>,
    kind: CredentialType,
    secret: &Secret,
    object: ObjectRef,
    consumer_id: &str,
) -> Option<Credential> {
    let mut map = Map::new();
    for key in secret.keys() {
        match secrets::text(secret, key) {
            Ok(v) => {
                map.insert(key.to_string(), Value::String(v.to_string()));
            }
            Err(_) => {
                cx.problem(
                    &object,
                    "InvalidCredential",
                    format!("{kind} is invalid: {key} is not UTF-8"),
                );
                return None;
            }
        }
    }
    let base = CredentialBase {
        id: ids::object_id("Secret", secret),
        consumer_id: consumer_id.to_string(),
        created_at: secret
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(0, |t| t.0.timestamp()),
        tags: Vec::new(),
        source: object.clone(),
    };
    match Credential::parse(kind, Fields::new(&map, Origin::Secret), base) {
        Ok(c) => Some(c),
        Err(CredentialError::Unsupported(label)) => {
            unsupported(cx, &object, &label);
            None
        }
        Err(e @ CredentialError::Invalid(_)) => {
            cx.problem(
                &object,
                "InvalidCredential",
                format!("{kind} is invalid: {e}"),
            );
            None
        }
    }
}

/// Reads an oauth2 credential; problems go on the Secret, `None` skips it.
fn oauth2(
    cx: &mut Cx<'_>,
    secret: &Secret,
    object: ObjectRef,
    consumer_id: &str,
) -> Option<Oauth2Credential> {
    let field = |key: &str| match secrets::text(secret, key) {
        Ok(v) => Ok(Some(v)),
        Err(secrets::TextError::Missing) => Ok(None),
        Err(secrets::TextError::NotUtf8) => Err(format!("oauth2 is invalid: {key} is not UTF-8")),
    };
    let read = (|| {
        Ok::<_, String>((
            field("name")?,
            field("client_id")?,
            field("client_secret")?,
            field("redirect_uris")?,
            field("hash_secret")?,
            field("client_type")?,
        ))
    })();
    let (name, client_id, client_secret, redirect_uris, hash_secret, client_type) = match read {
        Ok(fields) => fields,
        Err(message) => {
            cx.problem(&object, "InvalidCredential", message);
            return None;
        }
    };
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        cx.problem(&object, "InvalidCredential", "oauth2 is invalid: no name");
        return None;
    };
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        cx.problem(
            &object,
            "InvalidCredential",
            "oauth2 is invalid: no client_id",
        );
        return None;
    };
    let hash_secret = match hash_secret.map(parse_bool) {
        None => false,
        Some(Some(b)) => b,
        Some(None) => {
            cx.problem(
                &object,
                "InvalidCredential",
                "hash_secret is not a boolean (true or false); defaulting to false",
            );
            false
        }
    };
    let client_type = match client_type.map(str::trim) {
        None | Some("confidential") => ClientType::Confidential,
        Some("public") => ClientType::Public,
        // Values of a Secret are not echoed, even this one.
        Some(_) => {
            cx.problem(
                &object,
                "InvalidCredential",
                "oauth2 is invalid: client_type is neither confidential nor public; \
                 the credential is ignored",
            );
            return None;
        }
    };
    let client_secret = match client_secret {
        None => ClientSecret::None,
        Some(s) if is_hashed_secret(s) => ClientSecret::Hashed(s.to_string()),
        Some(s) if hash_secret => ClientSecret::ToHash(Sensitive::new(s)),
        Some(s) => ClientSecret::Plain(Sensitive::new(s)),
    };
    let redirect_uris = redirect_uris
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    Some(Oauth2Credential {
        id: ids::object_id("Secret", secret),
        consumer_id: consumer_id.to_string(),
        name: name.to_string(),
        client_id: client_id.to_string(),
        client_secret,
        redirect_uris,
        client_type,
        hash_secret,
        source: object,
    })
}

/// Go's `strconv.ParseBool`, which KIC uses for `hash_secret`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
