//! Ingress annotations that shape how a matched request is forwarded:
//! `konghq.com/rewrite`, `konghq.com/path-handling`,
//! `konghq.com/request-buffering` / `response-buffering`, and the legacy
//! `ingress.kubernetes.io/force-ssl-redirect`.

use super::{Annotations, RouteSettings, boolean, invalid};
use crate::model::{ObjectRef, PathHandling, PluginConfig};
use crate::translate::Cx;
use serde_json::json;

/// The upstream path, with `$N` for the N-th capture of a regex path.
pub(super) const REWRITE: &str = "konghq.com/rewrite";
/// `v0` (default) or `v1`.
pub(in crate::translate) const PATH_HANDLING: &str = "konghq.com/path-handling";
/// Kong's route `request_buffering`.
pub(in crate::translate) const REQUEST_BUFFERING: &str = "konghq.com/request-buffering";
/// Kong's route `response_buffering`.
pub(in crate::translate) const RESPONSE_BUFFERING: &str = "konghq.com/response-buffering";
/// nginx-ingress's spelling, read by KIC: plain HTTP gets a 302 to https.
pub(super) const FORCE_SSL_REDIRECT: &str = "ingress.kubernetes.io/force-ssl-redirect";

/// The request-transformer configuration that carries out a rewrite, or
/// the reason it cannot be honoured.
#[derive(Clone, Debug)]
pub(in crate::translate) enum Rewrite {
    /// `replace.uri` set to the template (KIC's translation).
    Config(PluginConfig),
    /// The annotation is malformed: the routes fail closed, since sending
    /// the request to the unrewritten path would reach the wrong resource.
    Invalid(String),
}

/// Applies the forwarding annotations to `s`, reporting bad values.
pub(super) fn apply(cx: &mut Cx<'_>, object: &ObjectRef, a: &Annotations, s: &mut RouteSettings) {
    // KIC sets 302 and https first; an explicit status code or protocols
    // annotation (read after this) overrides either.
    if a.get(FORCE_SSL_REDIRECT) == Some("true") {
        s.https_redirect_status_code = 302;
        s.protocols = vec!["https".to_string()];
    }
    if let Some(v) = a.get(PATH_HANDLING) {
        match v.trim() {
            "v0" => s.path_handling = PathHandling::V0,
            "v1" => s.path_handling = PathHandling::V1,
            _ => invalid(cx, object, PATH_HANDLING, v, "must be 'v0' or 'v1'"),
        }
    }
    // Kong buffers both by default; kingress always streams, which is what
    // `false` asks for. `true` is accepted but cannot be honoured.
    for key in [REQUEST_BUFFERING, RESPONSE_BUFFERING] {
        if boolean(cx, object, a, key, false) {
            cx.problem(
                object,
                "UnsupportedAnnotation",
                format!(
                    "{key} 'true' is not supported: kingress streams request and response \
                     bodies (Kong's 'false'); they are streamed"
                ),
            );
        }
    }
    if let Some(v) = a.get(REWRITE) {
        s.rewrite = Some(rewrite(cx, object, v));
    }
}

fn rewrite(cx: &mut Cx<'_>, object: &ObjectRef, value: &str) -> Rewrite {
    // An empty value rewrites to `/`, as in KIC.
    let value = if value.is_empty() { "/" } else { value };
    let parsed = template(value).and_then(|uri| {
        PluginConfig::parse("request-transformer", &json!({"replace": {"uri": uri}}))
            .map_err(|e| e.to_string())
    });
    match parsed {
        Ok(config) => Rewrite::Config(config),
        Err(why) => {
            cx.problem(
                object,
                "InvalidAnnotation",
                format!(
                    "{REWRITE} value '{value}' is invalid ({why}); the routes answer 503 rather \
                     than forward the unrewritten path"
                ),
            );
            Rewrite::Invalid(format!("{REWRITE} is invalid ({why})"))
        }
    }
}

/// KIC's rewrite syntax to a request-transformer template: `$N` (one or
/// more digits) is capture N of the matched regex path, `\$` a literal
/// `$`; anything else after `$` or `\` is an error.
fn template(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len() + 16);
    let mut chars = value.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '$')) => out.push('$'),
                Some((j, other)) => return Err(format!("unexpected {other} at pos {j}")),
                None => return Err("unexpected end of string".into()),
            },
            '$' => {
                let mut digits = String::new();
                while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    return Err(match chars.peek() {
                        Some((j, other)) => format!("unexpected {other} at pos {j}"),
                        None => "unexpected end of string".into(),
                    });
                }
                out.push_str(&format!("$(uri_captures[{digits}])"));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_templates_follow_kic() {
        // Cases from KIC's generateRewriteURIConfig tests.
        assert_eq!(template("/a/b").unwrap(), "/a/b");
        assert_eq!(
            template("/x/$1/y/$12").unwrap(),
            "/x/$(uri_captures[1])/y/$(uri_captures[12])"
        );
        assert_eq!(
            template("$1$2").unwrap(),
            "$(uri_captures[1])$(uri_captures[2])"
        );
        assert_eq!(template("/p\\$1").unwrap(), "/p$1");
        assert_eq!(template("/a$").unwrap_err(), "unexpected end of string");
        assert_eq!(template("/a$x").unwrap_err(), "unexpected x at pos 3");
        assert_eq!(template("/a\\x").unwrap_err(), "unexpected x at pos 3");
        assert_eq!(template("/a\\").unwrap_err(), "unexpected end of string");
    }
}
