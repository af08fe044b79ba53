//! The README's plugin table is the registry's: every plugin kingress
//! implements has a row, with Kong's priority and whether it may be scoped
//! to a consumer, and no row names a plugin that does not exist.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use kingress::model::plugin::{AVAILABLE, PluginFacts};
use std::collections::BTreeMap;

/// `name → (priority, consumer-scoped)` from the first table under
/// `## Plugins`: rows `| \`name\` | priority | consumer? | …`.
fn readme_plugins() -> BTreeMap<String, (u32, bool)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip_while(|l| *l != "## Plugins")
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let name = cells[0].trim_matches('`').to_string();
            let priority = cells[1].parse::<u32>().unwrap();
            let consumer = match cells[2] {
                "yes" => true,
                "no" => false,
                other => panic!("consumer column of {name} is '{other}', not yes/no"),
            };
            (name, (priority, consumer))
        })
        .collect()
}

#[test]
fn the_plugin_table_is_the_registry() {
    let table = readme_plugins();
    let registry: BTreeMap<String, (u32, bool)> = AVAILABLE
        .iter()
        .map(|name| {
            let facts = PluginFacts::of(name).unwrap();
            (name.to_string(), (facts.priority, facts.consumer_scoped))
        })
        .collect();
    assert!(!registry.is_empty());
    assert_eq!(
        table, registry,
        "README ## Plugins table vs model::plugin::registry"
    );
}
