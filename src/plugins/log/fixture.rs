//! A finished request to feed log phases in unit tests.

use super::{LogRecord, RequestFacts, ResponseFacts};
use crate::model::{ObjectRef, PluginConfig, PluginInstance, Route};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
use std::time::{Duration, UNIX_EPOCH};

/// A route named `r` with `plugins` (name, config) attached.
pub(crate) fn route(plugins: &[(&str, serde_json::Value)]) -> Route {
    Route {
        name: "r".into(),
        source: ObjectRef::new("Ingress", "default", "r"),
        hosts: Vec::new(),
        paths: vec![crate::model::PathMatch::Plain("/".into())],
        methods: Vec::new(),
        headers: Vec::new(),
        snis: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        path_handling: Default::default(),
        preserve_host: false,
        regex_priority: 0,
        service: None,
        plugins: plugins
            .iter()
            .map(|(name, config)| PluginInstance {
                id: format!("{name}-id"),
                name: name.to_string(),
                instance_name: None,
                source: ObjectRef::new("KongPlugin", "default", name),
                protocols: Vec::new(),
                ordering: Default::default(),
                config: PluginConfig::parse(name, config).expect("valid config"),
                scope: Default::default(),
            })
            .collect(),
        scoped: Vec::new(),
        fault: None,
    }
}

/// `GET uri` on `route`, answered 200 by the upstream `10.0.0.1:8080`
/// after 30 ms, 50 ms in all, with `headers` on the request.
pub(crate) fn record(route: Route, uri: &str, headers: &[(&str, &str)]) -> LogRecord {
    let mut request_headers = HeaderMap::new();
    for (name, value) in headers {
        request_headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let mut response_headers = HeaderMap::new();
    response_headers.insert("content-type", HeaderValue::from_static("text/plain"));
    LogRecord {
        request: RequestFacts {
            started_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            client_addr: "192.0.2.7:5555".parse().expect("addr"),
            local_addr: "127.0.0.1:8000".parse().expect("addr"),
            tls: false,
            method: Method::GET,
            uri: uri.parse::<Uri>().expect("uri"),
            version: Version::HTTP_11,
            host: Some("example.test:8000".into()),
            request_head_size: super::serialize::request_head_size(
                &Method::GET,
                &uri.parse::<Uri>().expect("uri"),
                &request_headers,
            ),
            request_headers,
            request_body_size: 0,
            route: route.into(),
            services: Default::default(),
            authenticated: None,
            context: http::Extensions::new(),
        },
        response: ResponseFacts {
            upstream_uri: Some(uri.to_string()),
            upstream_target: Some("10.0.0.1:8080".into()),
            status: StatusCode::OK,
            response_head_size: super::serialize::response_head_size(&response_headers),
            response_headers,
            response_body_size: 11,
            upstream_latency: Some(Duration::from_millis(30)),
            total_latency: Duration::from_millis(50),
        },
    }
}
