//! How results are printed: pretty JSON for scripts (`--json`), or tables for people.

use serde_json::Value;

/// Prints a command's result: pretty JSON for scripts, or a table for people.
pub fn print(value: &Value, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", table(value));
    }
}

/// A list of records as one row each (identifier columns first), a record as
/// key/value rows; nested values as compact JSON, absent ones as `-`.
pub fn table(value: &Value) -> String {
    // Nested values are written for people too: a list as its items, an object as `key=value`.
    fn cell(value: &Value) -> String {
        match value {
            Value::Null => "-".to_owned(),
            Value::String(s) => s.clone(),
            Value::Array(items) if items.is_empty() => "-".to_owned(),
            Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
            Value::Object(fields) if fields.is_empty() => "-".to_owned(),
            Value::Object(fields) => {
                fields.iter().map(|(k, v)| format!("{k}={}", cell(v))).collect::<Vec<_>>().join(" ")
            }
            other => other.to_string(),
        }
    }
    // Times travel as epoch milliseconds in fields named `…At`; people read them in RFC 3339
    // (UTC). 0 means "never" (a persistent token, a token never refreshed).
    fn timed(column: &str, value: &Value) -> String {
        let is_time = column.ends_with("At") || column.ends_with("_at");
        match value.as_i64() {
            Some(0) if is_time => "never".to_owned(),
            Some(ms) if is_time => rfc3339(ms).unwrap_or_else(|| cell(value)),
            _ => cell(value),
        }
    }
    let records = |v: &Value| v.as_array().is_some_and(|a| a.first().is_some_and(Value::is_object));
    // A record holding lists of records (a token listing's page): its own fields, then each
    // list as a table of its own.
    if let Value::Object(fields) = value
        && fields.values().any(records)
    {
        let own: serde_json::Map<String, Value> =
            fields.iter().filter(|(_, v)| !records(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut out = table(&Value::Object(own));
        for (name, list) in fields.iter().filter(|(_, v)| records(v)) {
            out.push_str(&format!("\n{name}:\n{}", table(list)));
        }
        return out;
    }
    let rows: Vec<Vec<String>> = match value {
        Value::Array(items) if items.is_empty() => return "(none)\n".to_owned(),
        Value::Array(items) => {
            let mut columns: Vec<&str> = Vec::new();
            for item in items {
                for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !columns.contains(&key.as_str()) {
                        columns.push(key);
                    }
                }
            }
            // Identifiers first: they are what the next command needs.
            columns.sort_by_key(|c| !(*c == "id" || c.ends_with("Id") || *c == "kid"));
            if columns.is_empty() {
                items.iter().map(|item| vec![cell(item)]).collect()
            } else {
                let header = columns.iter().map(|c| (*c).to_owned()).collect();
                std::iter::once(header)
                    .chain(items.iter().map(|item| columns.iter().map(|c| timed(c, &item[*c])).collect()))
                    .collect()
            }
        }
        Value::Object(fields) => fields.iter().map(|(k, v)| vec![k.clone(), timed(k, v)]).collect(),
        other => vec![vec![cell(other)]],
    };
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, c) in row.iter().enumerate() {
            out.push_str(c);
            if i < last {
                out.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// `ms` since the epoch as RFC 3339 in UTC, to the second (`2026-12-03T07:54:08Z`).
fn rfc3339(ms: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    at.format(&time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::table;

    #[test]
    fn tables_align_columns_put_identifiers_first_and_show_absent_values() {
        let rows = json!([
            {"name": "a", "id": 1, "extra": null},
            {"name": "longer", "id": 22, "nested": {"k": [1]}}
        ]);
        assert_eq!(table(&rows), "id  extra  name    nested\n1   -      a       -\n22  -      longer  k=1\n");
        assert_eq!(table(&json!({"b": "x", "a": true})), "a  true\nb  x\n");
        assert_eq!(table(&json!([])), "(none)\n");
    }

    #[test]
    fn tables_show_times_in_rfc_3339_and_lists_of_records_as_their_own_tables() {
        let token = json!({
            "tokenId": "t", "createdAt": 1_764_748_448_000_i64, "accessTokenExpiresAt": 0, "state": "active"
        });
        let listing = json!({"totalCount": 1, "accessTokens": [token]});
        let expected = [
            "totalCount  1",
            "",
            "accessTokens:",
            "tokenId  accessTokenExpiresAt  createdAt             state",
            "t        never                 2025-12-03T07:54:08Z  active",
        ];
        assert_eq!(table(&listing), expected.join("\n") + "\n");
        // Only `…At` fields are times; the JSON output keeps the wire values.
        assert_eq!(table(&json!({"count": 1_764_748_448_000_i64})), "count  1764748448000\n");
    }
}
