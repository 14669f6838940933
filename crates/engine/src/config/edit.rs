//! Format-preserving writes of the config file: a three-way merge with `toml_edit`.
//!
//! `base` is the config as the file says now, `next` the config wanted. Both are written out
//! the canonical way, and only the differences between those two are applied to the person's
//! document: a changed value is replaced in place (its comments and spacing stay), a removed
//! key is removed, a new key is added at the end of its table. Keys neither side knows (a newer
//! Rolecall's) are never in the difference, so they stay as they are. Arrays of tables
//! (`[[session]]`, `[[favourite]]`, `[[chain]]`) are matched element by element: by `name` where
//! elements have one, else by content, so removing the second session keeps the comments of
//! the third with the third.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use super::Config;

fn canonical(config: &Config) -> Result<DocumentMut, String> {
    config
        .to_toml()
        .parse::<DocumentMut>()
        .map_err(|e| format!("cannot write the config: {e}"))
}

/// `text` (whose meaning is `base`) edited to mean `next`.
pub fn merge(text: &str, base: &Config, next: &Config) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("cannot edit the config: {e}"))?;
    let base_doc = canonical(base)?;
    let next_doc = canonical(next)?;
    merge_table(doc.as_table_mut(), base_doc.as_table(), next_doc.as_table());
    Ok(doc.to_string())
}

/// The canonical text of an item: both sides come from the same serialiser, so equal text is
/// equal meaning.
fn same(a: &Item, b: &Item) -> bool {
    a.to_string() == b.to_string() && kind(a) == kind(b)
}

fn kind(item: &Item) -> u8 {
    match item {
        Item::None => 0,
        Item::Value(_) => 1,
        Item::Table(_) => 2,
        Item::ArrayOfTables(_) => 3,
    }
}

fn merge_table(file: &mut Table, base: &Table, next: &Table) {
    let gone: Vec<String> = base
        .iter()
        .filter(|(k, _)| !next.contains_key(k))
        .map(|(k, _)| k.to_owned())
        .collect();
    for key in gone {
        file.remove(&key);
    }
    for (key, wanted) in next.iter() {
        let was = base.get(key);
        if was.is_some_and(|w| same(w, wanted)) {
            // Unchanged: whatever the file says (or leaves to the default) stays.
            continue;
        }
        let Some(have) = file.get_mut(key) else {
            match (was, wanted) {
                // A table the file left out (all defaults): add it with only what changed.
                (Some(Item::Table(b)), Item::Table(w)) => {
                    let mut fresh = Table::new();
                    merge_table(&mut fresh, b, w);
                    file.insert(key, Item::Table(fresh));
                }
                _ => {
                    file.insert(key, fresh_copy(wanted));
                }
            }
            continue;
        };
        match (have, was, wanted) {
            (Item::Table(f), Some(Item::Table(b)), Item::Table(w)) => merge_table(f, b, w),
            (Item::ArrayOfTables(f), Some(Item::ArrayOfTables(b)), Item::ArrayOfTables(w))
                if f.len() == b.len() =>
            {
                merge_array(f, b, w)
            }
            (Item::Value(f), _, Item::Value(w)) => {
                let decor = f.decor().clone();
                *f = w.clone();
                *f.decor_mut() = decor;
            }
            (have, _, wanted) => *have = fresh_copy(wanted),
        }
    }
}

/// A copy of a canonical item without the canonical document's table positions, so it is
/// placed after what surrounds it in the person's file.
fn fresh_copy(item: &Item) -> Item {
    let mut item = item.clone();
    forget_positions(&mut item);
    item
}

fn forget_positions(item: &mut Item) {
    match item {
        Item::Table(t) => {
            t.set_position(None);
            for (_, child) in t.iter_mut() {
                forget_positions(child);
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                t.set_position(None);
                for (_, child) in t.iter_mut() {
                    forget_positions(child);
                }
            }
        }
        Item::None | Item::Value(_) => {}
    }
}

/// What makes an element of an array of tables the same one on both sides.
fn identity(t: &Table) -> String {
    match t.get("name").and_then(Item::as_str) {
        Some(name) => format!("name={name}"),
        None => t.to_string(),
    }
}

fn merge_array(file: &mut ArrayOfTables, base: &ArrayOfTables, next: &ArrayOfTables) {
    let base_ids: Vec<String> = base.iter().map(identity).collect();
    let mut used = vec![false; base_ids.len()];
    let mut tables = Vec::with_capacity(next.len());
    for wanted in next.iter() {
        let id = identity(wanted);
        let found = base_ids
            .iter()
            .enumerate()
            .position(|(i, b)| !used[i] && *b == id);
        match (found, found.and_then(|i| file.get(i))) {
            (Some(i), Some(have)) => {
                used[i] = true;
                let mut table = have.clone();
                if let Some(b) = base.get(i) {
                    merge_table(&mut table, b, wanted);
                }
                tables.push(table);
            }
            _ => {
                if let Item::Table(table) = fresh_copy(&Item::Table(wanted.clone())) {
                    tables.push(table);
                }
            }
        }
    }
    file.clear();
    for t in tables {
        file.push(t);
    }
}
