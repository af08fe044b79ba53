//! Credential Secrets of KongConsumers (KIC's `FillConsumersAndCredentials`
//! and `NewOauth2Credential`). kingress uses oauth2 credentials only; other
//! types are reported and skipped. A client_id used twice keeps the
//! credential of the oldest Secret (KIC drops both consumers instead).

use super::{Cx, ids, object_ref, secrets};
use crate::crd::KongConsumer;
use crate::model::{
    ClientSecret, ClientType, Credential, Oauth2Credential, ObjectRef, Sensitive, Table,
    is_hashed_secret,
};
use crate::objects::CREDENTIAL_LABEL;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A consumer that made it into the table, whose credentials to read.
pub(super) struct Owner<'a> {
    pub consumer: &'a KongConsumer,
    pub id: String,
    pub object: ObjectRef,
}

/// Adds the oauth2 credentials of `owners` to `table`.
pub(super) fn translate(cx: &mut Cx<'_>, table: &mut Table, owners: &[Owner<'_>]) {
    let objects = cx.objects;
    let mut found: Vec<(Option<&Time>, Oauth2Credential, &ObjectRef)> = Vec::new();
    for owner in owners {
        let ns = owner.object.namespace.clone().unwrap_or_default();
        for name in &owner.consumer.credentials {
            let Some(secret) = objects.secrets.get(&(ns.clone(), name.clone())) else {
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
            match secrets::label(secret, CREDENTIAL_LABEL) {
                None => cx.problem(
                    &object,
                    "InvalidCredential",
                    format!(
                        "Secret {ns}/{name} used as credential by {}, but lacks the \
                         {CREDENTIAL_LABEL} label",
                        owner.object
                    ),
                ),
                Some("oauth2") => {
                    if let Some(c) = oauth2(cx, secret, object, &owner.id) {
                        found.push((
                            secret.metadata.creation_timestamp.as_ref(),
                            c,
                            &owner.object,
                        ));
                    }
                }
                Some(other) => cx.problem(
                    &object,
                    "UnsupportedCredential",
                    format!(
                        "credential type '{other}' is not used by kingress (only oauth2 \
                         credentials are); the credential is ignored"
                    ),
                ),
            }
        }
    }
    // Oldest Secret first; ties keep (consumer, credentials list) order.
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, credential, owner) in found {
        match table.credentials.oauth2(&credential.client_id) {
            Some(kept) if kept.source == credential.source => {
                if kept.consumer_id != credential.consumer_id {
                    let message = format!(
                        "Secret is already the credential of another consumer; {owner} does not get it"
                    );
                    cx.problem(&credential.source, "DuplicateClientId", message);
                }
            }
            Some(kept) => {
                let message = format!(
                    "client_id '{}' is already used by the older {}; this credential is ignored",
                    credential.client_id, kept.source
                );
                cx.problem(&credential.source, "DuplicateClientId", message);
            }
            None => {
                let _fresh = table.credentials.insert(Credential::Oauth2(credential));
            }
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
        id: ids::object_id("Secret", &secret.metadata),
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
