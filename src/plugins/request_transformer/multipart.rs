//! `multipart/form-data` bodies as Kong's `multipart` library edits them:
//! rename, remove, replace, add (Kong has no append for them), each by part
//! name. A renamed or replaced part becomes a plain field at the end; the
//! others keep their file name and type. Parsing is `multer`'s, writing
//! uses the request's own boundary.

use super::env::Snapshot;
use crate::model::plugin::RequestTransformerConfig;
use crate::plugins::PluginError;
use bytes::{Bytes, BytesMut};
use std::convert::Infallible;

#[derive(Debug)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

/// The edited body, or `None` to forward it as it came (nothing changed,
/// no boundary, or a body that does not parse).
pub(super) async fn edit(
    config: &RequestTransformerConfig,
    body: Bytes,
    content_type: &str,
    env: &Snapshot,
) -> Result<Option<Bytes>, PluginError> {
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Ok(None);
    };
    let sent = !body.is_empty();
    let mut parts = if sent {
        match parse(body, &boundary).await {
            Some(parts) => parts,
            None => return Ok(None),
        }
    } else {
        Vec::new()
    };
    let ops = &config.ops;
    let has = |parts: &[Part], name: &str| parts.iter().any(|p| p.name == name);
    let mut changed = false;
    if sent {
        for op in &ops.rename.body {
            let Some(new) = env.value(op)? else { continue };
            let Some(at) = parts.iter().position(|p| p.name == op.name) else {
                continue;
            };
            if op.name != new {
                let data = parts[at].data.clone();
                parts.retain(|p| p.name != op.name);
                set_simple(&mut parts, &new, data);
                changed = true;
            }
        }
        for op in &ops.remove.body {
            parts.retain(|p| p.name != op.name);
            changed = true;
        }
        for op in &ops.replace.body {
            let Some(v) = env.value(op)? else { continue };
            if has(&parts, &op.name) {
                parts.retain(|p| p.name != op.name);
                set_simple(&mut parts, &op.name, Bytes::from(v));
                changed = true;
            }
        }
    }
    for op in &ops.add.body {
        let Some(v) = env.value(op)? else { continue };
        if !has(&parts, &op.name) {
            set_simple(&mut parts, &op.name, Bytes::from(v));
            changed = true;
        }
    }
    Ok(changed.then(|| write(&parts, &boundary)))
}

/// Sets the first part named `name` to `data`, or adds a plain field.
fn set_simple(parts: &mut Vec<Part>, name: &str, data: Bytes) {
    match parts.iter_mut().find(|p| p.name == name) {
        Some(part) => part.data = data,
        None => parts.push(Part {
            name: name.to_string(),
            filename: None,
            content_type: None,
            data,
        }),
    }
}

async fn parse(body: Bytes, boundary: &str) -> Option<Vec<Part>> {
    let stream = futures::stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.ok()?;
        parts.push(Part {
            name,
            filename,
            content_type,
            data,
        });
    }
    Some(parts)
}

fn write(parts: &[Part], boundary: &str) -> Bytes {
    let mut out = BytesMut::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quoted(&part.name)
        );
        if let Some(f) = &part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(f)));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &part.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out.freeze()
}

/// A name inside a quoted header parameter: no quote or line break may
/// end it early (RFC 7578 percent-encodes them).
fn quoted(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
