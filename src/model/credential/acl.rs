//! acl credentials (`acls`): a consumer's membership of a group. Not
//! unique by any one field; keyed `<consumer id>\0<group>` so a consumer's
//! groups are one range of the table.

use super::{CredentialBase, CredentialSchema, CredentialType, Fields};
use serde_json::{Map, Value, json};

/// An acl credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclCredential {
    /// Id, owner, source.
    pub base: CredentialBase,
    /// The group name.
    pub group: String,
}

/// The table-key prefix of the acls of consumer `consumer_id`.
pub(crate) fn prefix(consumer_id: &str) -> String {
    // Not `format!`: acl looks this up on every request it checks.
    let mut prefix = String::with_capacity(consumer_id.len() + 1);
    prefix.push_str(consumer_id);
    prefix.push('\0');
    prefix
}

impl CredentialSchema for AclCredential {
    const TYPE: CredentialType = CredentialType::Acl;

    fn parse(fields: &mut Fields<'_>, base: CredentialBase) -> Option<Self> {
        let group = fields.required_string("group")?;
        Some(Self { base, group })
    }

    fn base(&self) -> &CredentialBase {
        &self.base
    }

    fn key(&self) -> String {
        format!("{}{}", prefix(&self.base.consumer_id), self.group)
    }

    fn render(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("group".into(), json!(self.group));
        map
    }
}
