//! Field-by-field differences: what an edit changed (for the audit log and the workstream's
//! history) and, for a stale save, what the user sent against what is saved now.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields that differ between two versions of a record, in form order.
#[derive(Debug, Clone, Default)]
pub struct Changes(Vec<Change>);

impl Changes {
    /// Records `field` if `before` and `after` differ.
    pub fn field(
        &mut self,
        field: impl Into<String>,
        before: impl Into<String>,
        after: impl Into<String>,
    ) {
        let (before, after) = (before.into(), after.into());
        if before != after {
            self.0.push(Change {
                field: field.into(),
                before,
                after,
            });
        }
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The differences.
    pub fn into_vec(self) -> Vec<Change> {
        self.0
    }

    /// `{"before": {field: value}, "after": {field: value}, "fields": [field, …]}` for an
    /// audit event's details. JSON objects (and jsonb) do not keep key order, so `fields`
    /// records the form's order for [`describe`].
    pub fn to_json(&self) -> Value {
        let mut before = Map::new();
        let mut after = Map::new();
        for c in &self.0 {
            before.insert(c.field.clone(), json!(c.before));
            after.insert(c.field.clone(), json!(c.after));
        }
        let fields: Vec<&str> = self.0.iter().map(|c| c.field.as_str()).collect();
        json!({ "before": before, "after": after, "fields": fields })
    }
}

/// The changes an audit event's details record, for a history list: one line per field.
pub fn describe(details: &Value) -> Vec<Change> {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "(blank)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    };
    let before = details.get("before").and_then(Value::as_object);
    let after = details.get("after").and_then(Value::as_object);
    // In the recorded order when there is one, then any other keys.
    let mut fields: Vec<&str> = details
        .get("fields")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for key in after
        .into_iter()
        .chain(before)
        .flat_map(|m| m.keys().map(String::as_str))
    {
        if !fields.contains(&key) {
            fields.push(key);
        }
    }
    fields
        .into_iter()
        .map(|f| Change {
            field: f.to_owned(),
            before: text(before.and_then(|b| b.get(f))),
            after: text(after.and_then(|a| a.get(f))),
        })
        .collect()
}

/// `2024-04`: a month as written in form field names.
pub fn month_key(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

/// `April 2024`.
pub fn month_label(month: NaiveDate) -> String {
    month.format("%B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_what_differs_and_describes_it_back() {
        let mut changes = Changes::default();
        changes.field("Lead", "Ann", "Bob");
        changes.field("Summary", "same", "same");
        let details = changes.to_json();
        assert_eq!(
            describe(&details),
            [Change {
                field: "Lead".into(),
                before: "Ann".into(),
                after: "Bob".into()
            }]
        );
    }

    #[test]
    fn keeps_the_order_the_fields_were_recorded_in() {
        let mut changes = Changes::default();
        for month in ["Actual May 2024", "Actual June 2024", "Actual April 2025"] {
            changes.field(month, "", "1");
        }
        // Through jsonb, which sorts keys.
        let stored: Value = serde_json::from_str(&changes.to_json().to_string()).unwrap();
        let fields: Vec<String> = describe(&stored).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            ["Actual May 2024", "Actual June 2024", "Actual April 2025"]
        );
    }

    #[test]
    fn month_keys_round_trip() {
        let april = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
        assert_eq!(month_key(april), "2024-04");
        assert_eq!(month_label(april), "April 2024");
    }
}
