//! A small reader of the reference schema (`data/reference-schema.sql`, see `data/README.md`): enough structure (columns, keys,
//! foreign keys, checks) to check the SQLite schema against the same reference that the
//! MariaDB test loads verbatim.

use std::collections::BTreeMap;

/// One table of the reference.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// (column, nullable) in declaration order.
    pub columns: Vec<(String, bool)>,
    /// column -> DEFAULT expression as written (`'ACTIVE'`, `CURRENT_TIMESTAMP`, `NULL`, `0`).
    pub defaults: BTreeMap<String, String>,
    pub primary_key: Vec<String>,
    /// index name -> columns
    pub unique: BTreeMap<String, Vec<String>>,
    pub indexes: BTreeMap<String, Vec<String>>,
    /// (columns, referenced table, referenced columns, ON DELETE rule upper-case)
    pub foreign_keys: Vec<(Vec<String>, String, Vec<String>, String)>,
    pub checks: Vec<String>,
}

/// Path of the reference schema, a fixture of this test crate: `data/reference-schema.sql`.
pub fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("migration")
        .join("data")
        .join("reference-schema.sql")
}

/// The reference file's text; panics with the path when it is missing.
pub fn text() -> String {
    let p = path();
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("cannot read the reference schema {}: {e}", p.display()))
}

/// The file's statements, comments removed.
pub fn statements() -> Vec<String> {
    let without_comments: String = text()
        .lines()
        .map(|l| match l.find("--") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn cols(list: &str) -> Vec<String> {
    let inner = list
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .to_string();
    inner.split(',').map(|c| c.trim().to_string()).collect()
}

fn between_parens(s: &str) -> &str {
    let open = s.find('(').expect("opening parenthesis");
    let close = s[open..].find(')').expect("closing parenthesis") + open;
    &s[open..=close]
}

/// Parses every CREATE TABLE of the reference.
pub fn tables() -> BTreeMap<String, Table> {
    let mut out = BTreeMap::new();
    for stmt in statements() {
        let Some(rest) = stmt.strip_prefix("CREATE TABLE ") else {
            continue;
        };
        let name = rest
            .split_whitespace()
            .next()
            .expect("table name")
            .to_string();
        let body = &rest[rest.find('(').expect("body") + 1..rest.rfind(')').expect("body end")];
        // Join continuation lines (REFERENCES on the line after FOREIGN KEY).
        let mut items: Vec<String> = Vec::new();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let line = line.trim_end_matches(',');
            if line.starts_with("REFERENCES") || line.starts_with("CHECK") {
                let last = items.last_mut().expect("continuation follows an item");
                last.push(' ');
                last.push_str(line);
            } else {
                items.push(line.to_string());
            }
        }
        let mut t = Table::default();
        for item in items {
            if let Some(r) = item.strip_prefix("PRIMARY KEY") {
                t.primary_key = cols(between_parens(r));
            } else if let Some(r) = item.strip_prefix("UNIQUE KEY ") {
                let idx = r.split_whitespace().next().expect("index name").to_string();
                t.unique.insert(idx, cols(between_parens(r)));
            } else if let Some(r) = item.strip_prefix("KEY ") {
                let idx = r.split_whitespace().next().expect("index name").to_string();
                t.indexes.insert(idx, cols(between_parens(r)));
            } else if let Some(r) = item.strip_prefix("CONSTRAINT ") {
                let cname = r
                    .split_whitespace()
                    .next()
                    .expect("constraint name")
                    .to_string();
                if let Some(fk) = r.split_once("FOREIGN KEY").map(|x| x.1) {
                    let from = cols(between_parens(fk));
                    let (_, refs) = fk.split_once("REFERENCES").expect("REFERENCES");
                    let ref_table = refs.split_whitespace().next().expect("table").to_string();
                    let to = cols(between_parens(refs));
                    let rule = refs
                        .split_once("ON DELETE")
                        .map(|x| x.1.trim().to_uppercase())
                        .unwrap_or_else(|| "NO ACTION".into());
                    t.foreign_keys.push((from, ref_table, to, rule));
                } else {
                    t.checks.push(cname);
                }
            } else {
                let mut words = item.split_whitespace();
                let col = words.next().expect("column name").to_string();
                let nullable = !item.contains("NOT NULL");
                if let Some((_, d)) = item.split_once(" DEFAULT ") {
                    let d = d.split(" ON UPDATE").next().unwrap_or(d);
                    let d = d.split(" COMMENT").next().unwrap_or(d);
                    t.defaults.insert(col.clone(), d.trim().to_string());
                }
                t.columns.push((col, nullable));
            }
        }
        out.insert(name, t);
    }
    out
}
