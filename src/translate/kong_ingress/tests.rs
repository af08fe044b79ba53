//! A KongIngress edit reaches the routes even through translate's memo,
//! which reuses an Ingress's routes only while everything it reads is the
//! same.

use super::super::{Memo, Options, translate, translate_cached};
use crate::objects::{Object, ObjectSet};
use serde::Deserialize;

fn apply(objects: &mut ObjectSet, yaml: &str) {
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_json::Value::deserialize(doc).unwrap();
        objects.apply(Object::from_value(value).unwrap());
    }
}

fn kong_ingress(method: &str) -> String {
    format!(
        "apiVersion: configuration.konghq.com/v1\nkind: KongIngress\n\
         metadata: {{name: ki}}\nroute: {{methods: [{method}]}}\n"
    )
}

#[test]
fn an_edited_kong_ingress_is_translated_again() {
    let mut objects = ObjectSet::default();
    apply(
        &mut objects,
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n\
         metadata: {name: web, annotations: {konghq.com/override: ki}}\n\
         spec:\n  ingressClassName: kong\n  rules:\n  - http:\n      paths:\n\
         \x20     - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    );
    apply(&mut objects, &kong_ingress("GET"));
    let options = Options::default();
    let mut memo = Memo::new();
    let first = translate_cached(&objects, &options, &mut memo);
    assert_eq!(first.table.routes[0].methods, ["GET"]);

    apply(&mut objects, &kong_ingress("POST"));
    let second = translate_cached(&objects, &options, &mut memo);
    assert_eq!(memo.reused().ingresses, 0);
    assert_eq!(second.table.routes[0].methods, ["POST"]);
    assert_eq!(second, translate(&objects, &options));
}
