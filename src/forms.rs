//! Validation errors as data: each form re-renders with a message by the field and an error
//! summary at the top (the NHS.UK error summary pattern).

/// Messages keyed by the id of the field they belong to, in the order found.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// Adds a message for `field` (the first message per field wins).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), message.into()));
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// All of them, for the error summary: (field id, message).
    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}
