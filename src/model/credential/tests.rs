use super::*;
use crate::model::Sensitive;
use serde_json::json;

fn base(consumer: &str) -> CredentialBase {
    CredentialBase {
        id: format!("id-{consumer}"),
        consumer_id: consumer.into(),
        created_at: 100,
        tags: vec![],
        source: ObjectRef::new("Secret", "default", "s"),
    }
}

fn parse(
    kind: CredentialType,
    v: serde_json::Value,
    origin: Origin,
) -> Result<Credential, CredentialError> {
    let map = v.as_object().unwrap().clone();
    Credential::parse(kind, Fields::new(&map, origin), base("c1"))
}

#[test]
fn names_of_every_type() {
    for t in CredentialType::ALL {
        assert_eq!(CredentialType::from_label(t.label()), Some(t));
        assert_eq!(CredentialType::from_table(t.table()), Some(t));
    }
    assert_eq!(
        CredentialType::from_label("keyauth_credential"),
        Some(CredentialType::KeyAuth)
    );
    assert_eq!(
        CredentialType::from_label("basicauth_credential"),
        Some(CredentialType::BasicAuth)
    );
    assert_eq!(
        CredentialType::from_label("jwt_secret"),
        Some(CredentialType::Jwt)
    );
    assert_eq!(CredentialType::from_label("hmac-auth"), None);
    assert_eq!(CredentialType::KeyAuth.admin_name(), "key-auths");
    assert_eq!(CredentialType::BasicAuth.nested_name(), "basic-auth");
    assert_eq!(CredentialType::Acl.nested_name(), "acls");
}

#[test]
fn key_auth_from_secret_strings_and_json() {
    let c = parse(
        CredentialType::KeyAuth,
        json!({"key": "k1", "ttl": "60", "tags": "a,b", "kongCredType": "key-auth"}),
        Origin::Secret,
    )
    .unwrap();
    let Credential::KeyAuth(k) = &c else { panic!() };
    assert_eq!(k.ttl, Some(60));
    assert_eq!(k.expires_at(), Some(160));
    assert!(k.expired(160) && !k.expired(159));
    assert_eq!(k.base.tags, ["a", "b"]);
    assert_eq!(c.key(), "k1");
    assert!(
        !format!("{c:?}").contains("k1"),
        "Debug never shows the key"
    );
    let e = parse(
        CredentialType::KeyAuth,
        json!({"key": "", "ttl": -1, "extra": 1}),
        Origin::Entity,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "key: length must be at least 1; ttl: value should be between 0 and 100000000; extra: unknown field"
    );
    // A Secret's unknown keys are ignored.
    assert!(
        parse(
            CredentialType::KeyAuth,
            json!({"key": "k", "note": "x"}),
            Origin::Secret
        )
        .is_ok()
    );
}

#[test]
fn basic_auth_password_forms() {
    let c = |p: &str, stored: bool| {
        let map = json!({"username": "u", "password": p})
            .as_object()
            .unwrap()
            .clone();
        match Credential::parse(
            CredentialType::BasicAuth,
            Fields::new(&map, Origin::Entity).stored_form(stored),
            base("c"),
        )
        .unwrap()
        {
            Credential::BasicAuth(b) => b.password,
            _ => unreachable!(),
        }
    };
    let sha = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
    assert_eq!(c(sha, true), Password::KongSha1(sha.into()));
    assert_eq!(c(sha, false), Password::ToHash(Sensitive::new(sha)));
    let phc = "$pbkdf2-sha512$i=10000,l=32$YQ$YQ";
    assert_eq!(c(phc, false), Password::Hashed(phc.into()));
    let e = parse(CredentialType::BasicAuth, json!({}), Origin::Entity).unwrap_err();
    assert_eq!(
        e.to_string(),
        "username: required field missing; password: required field missing"
    );
}

#[test]
fn acls_of_a_consumer_are_a_range() {
    let mut all = Credentials::default();
    for (consumer, group) in [
        ("c1", "b"),
        ("c1", "a"),
        ("c10", "x"),
        ("c2", "y"),
        ("c", "z"),
    ] {
        let map = json!({"group": group}).as_object().unwrap().clone();
        let acl = Credential::parse(
            CredentialType::Acl,
            Fields::new(&map, Origin::Secret),
            base(consumer),
        )
        .unwrap();
        all.insert(acl).unwrap();
    }
    assert_eq!(all.groups_of("c1"), ["a", "b"]);
    assert_eq!(all.groups_of("c10"), ["x"]);
    assert!(all.groups_of("nobody").is_empty());
    let dup = Credential::parse(
        CredentialType::Acl,
        Fields::new(json!({"group": "a"}).as_object().unwrap(), Origin::Secret),
        base("c1"),
    )
    .unwrap();
    assert!(all.insert(dup).is_err());
    assert!(
        !format!("{all:?}").contains('a'.to_string().as_str())
            || format!("{all:?}") == "{\"acl\": 5}"
    );
}

#[test]
fn jwt_reads_through_the_generic_path() {
    let parsed = parse(
        CredentialType::Jwt,
        json!({"key": "k", "secret": "s"}),
        Origin::Secret,
    )
    .unwrap();
    assert_eq!(parsed.key(), "k");
    assert_eq!(parsed.render().unwrap()["algorithm"], "HS256");
    assert_eq!(
        parse(CredentialType::Jwt, json!({"key": "k"}), Origin::Entity),
        Err(CredentialError::Invalid(vec![FieldProblem {
            field: "secret".into(),
            message: "required field missing".into(),
        }]))
    );
}
