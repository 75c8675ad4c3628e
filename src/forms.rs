//! Validation errors as data: each form re-renders with a message by the field and an error
//! summary at the top (the NHS.UK error summary pattern).

/// Messages keyed by the id of the field they belong to, in the order found.
///
/// The error summary links each message to `#<field id>`. A message about a whole group of
/// fields (the checkboxes of a list, the twelve months of a year) is keyed by the group, and
/// [`FieldErrors::link_to`] points its link at the group's first field instead, because the
/// link has to land on something that can take the focus.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    messages: Vec<(String, String)>,
    links: Vec<(String, String)>,
}

impl FieldErrors {
    /// Adds a message for `field` (the first message per field wins).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.messages.push((field.to_owned(), message.into()));
        }
    }

    /// Makes the error summary's link for `group`'s message lead to the field `first_field`.
    pub fn link_to(&mut self, group: &str, first_field: impl Into<String>) {
        self.links.retain(|(g, _)| g != group);
        self.links.push((group.to_owned(), first_field.into()));
    }

    /// Checks that a one-line field holds no control characters (a NUL, a tab, a line break
    /// and the like): nobody types them, and PostgreSQL cannot store a NUL at all. Adds a
    /// message for `field` (named `label` in it) and returns false when it does.
    pub fn check_plain_text(&mut self, field: &str, label: &str, value: &str) -> bool {
        if has_control_characters(value) {
            self.add(field, control_characters_message(label));
            false
        } else {
            true
        }
    }

    /// As [`FieldErrors::check_plain_text`], for a multi-line field: line breaks and tabs are
    /// text there.
    pub fn check_multiline_text(&mut self, field: &str, label: &str, value: &str) -> bool {
        let stray = value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        if stray {
            self.add(field, control_characters_message(label));
        }
        !stray
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.messages
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// All of them, for the error summary: (field id, message).
    pub fn all(&self) -> &[(String, String)] {
        &self.messages
    }

    /// The id the error summary's link for `field` leads to: `field` itself, or the first
    /// field of the group it names (see [`FieldErrors::link_to`]).
    pub fn anchor<'a>(&'a self, field: &'a str) -> &'a str {
        self.links
            .iter()
            .find(|(g, _)| g == field)
            .map_or(field, |(_, first)| first.as_str())
    }
}

/// Whether `text` holds a control character (Unicode category Cc: NUL, tab, line breaks, …).
pub fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

fn control_characters_message(label: &str) -> String {
    format!(
        "{label} must not contain invisible control characters, such as a tab or a null \
         character. Type it again instead of pasting it"
    )
}

/// A submitted form as its raw name/value pairs, in order. For forms whose fields are not
/// known in advance (one field per month, a checkbox per opportunity), where a struct does
/// not fit. Values are kept as typed so a form with errors shows them again.
#[derive(Debug, Default, Clone)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of `name` (checkboxes), trimmed.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// Every (name, value) pair whose name starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.trim())))
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormFields {
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self::parse(&bytes))
    }
}

/// A submitted form read into a typed serde struct (`application/x-www-form-urlencoded`,
/// repeated names such as checkboxes into `Vec`s). A body that does not fit the struct is
/// refused with 400 and nothing is changed; forms declare their text fields as `String` with
/// `#[serde(default)]`, so what a browser sends always fits and validation messages go by the
/// field.
pub struct Form<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Form<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_html_form::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| crate::error::AppError::BadRequest.into_response())
    }
}

/// The version of a record a form was opened on. A missing or garbled value is a version no
/// record has, so the save is refused as stale rather than applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version(pub i32);

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = OneOrMany::deserialize(deserializer)?;
        Ok(match text {
            OneOrMany::One(text) => Version(text.trim().parse().unwrap_or(-1)),
            OneOrMany::Many(_) => Version(-1),
        })
    }
}

/// A form value that may have been sent once or repeated.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The fields of a form that are not declared in its struct, as sent (a field sent twice
/// keeps both values): the one-per-month fields (`actual_2024-06`) whose names depend on the
/// year. Read with [`MonthEntries::read`].
#[derive(Debug, Clone, Default)]
pub struct MonthEntries(Vec<(String, Vec<String>)>);

impl<'de> serde::Deserialize<'de> for MonthEntries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, OneOrMany>::deserialize(deserializer)?;
        Ok(MonthEntries(
            map.into_iter()
                .map(|(name, value)| {
                    let values = match value {
                        OneOrMany::One(v) => vec![v],
                        OneOrMany::Many(vs) => vs,
                    };
                    (name, values)
                })
                .collect(),
        ))
    }
}

/// One month's field as read from a form.
#[derive(Debug, Clone)]
pub struct MonthEntry {
    pub month: crate::domain::Month,
    /// The field's name and id, e.g. `actual_2024-06`.
    pub field: String,
    /// As typed, trimmed (shown again when the form is refused).
    pub text: String,
}

impl MonthEntries {
    /// The fields named `{prefix}{YYYY-MM}` for months of `year`, in month order. A field for
    /// a month outside the year, a misspelt month or a month sent twice is refused by
    /// `group` with a message; only well-formed entries come back.
    pub fn read(
        &self,
        prefix: &str,
        year: crate::domain::FinancialYear,
        group: &str,
        errors: &mut FieldErrors,
    ) -> Vec<MonthEntry> {
        let mut entries: Vec<MonthEntry> = Vec::new();
        for (name, values) in &self.0 {
            let Some(key) = name.strip_prefix(prefix) else {
                continue;
            };
            let Some(month) = crate::domain::Month::parse_key(key).filter(|m| year.has_month(*m))
            else {
                errors.add(
                    group,
                    format!("Figures can only be entered for the months of {year}"),
                );
                continue;
            };
            if values.len() != 1 || entries.iter().any(|e| e.month == month) {
                errors.add(
                    group,
                    format!(
                        "{} was sent more than once: enter each month once",
                        month.label()
                    ),
                );
                continue;
            }
            entries.push(MonthEntry {
                month,
                field: name.clone(),
                text: values[0].trim().to_owned(),
            });
        }
        entries.sort_by_key(|e| e.month);
        entries
    }
}

/// One month's input in a form, as shown.
#[derive(Debug, Clone)]
pub struct MonthInput {
    /// `2024-04`, for the field name.
    pub key: String,
    /// `April 2024`.
    pub label: String,
    pub value: String,
}

impl MonthInput {
    /// `month`'s field showing `value`.
    pub fn new(month: crate::domain::Month, value: String) -> Self {
        Self {
            key: month.key(),
            label: month.label(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_by_the_field() {
        let mut errors = FieldErrors::default();
        assert!(errors.check_plain_text("name", "Full name", "Asha Patel"));
        assert!(!errors.check_plain_text("email", "Email address", "a\0b@nhs.net"));
        assert!(!errors.check_plain_text("code", "Code", "QE1\t"));
        assert!(errors.check_multiline_text("notes", "Notes", "line one\r\nline two\tend"));
        assert!(!errors.check_multiline_text("text", "Text", "bell\u{7}"));
        assert_eq!(
            errors
                .all()
                .iter()
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>(),
            ["email", "code", "text"]
        );
        assert!(
            errors
                .get("email")
                .is_some_and(|m| m.starts_with("Email address must not contain"))
        );
    }
}
