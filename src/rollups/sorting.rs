//! Sortable tables without JavaScript: each column heading is a link that sorts by it (again
//! to reverse), and the sorted heading carries `aria-sort` so screen readers announce it.

use std::cmp::Ordering;

use serde::Deserialize;

/// `?sort=…&order=…` as typed; unknown values fall back to the default.
#[derive(Debug, Default, Deserialize)]
pub struct SortQuery {
    pub sort: Option<String>,
    pub order: Option<String>,
}

/// A sortable column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The `sort` value.
    pub key: &'static str,
    pub label: &'static str,
    /// Right-aligned figures, sorted largest first on the first click.
    pub numeric: bool,
}

/// The sort in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: &'static str,
    pub descending: bool,
}

impl Sort {
    /// The sort `query` asks for among `columns`, or `default` (ascending).
    pub fn from_query(query: &SortQuery, columns: &[Column], default: &'static str) -> Sort {
        let column = query
            .sort
            .as_deref()
            .and_then(|key| columns.iter().find(|c| c.key == key));
        match column {
            Some(column) => Sort {
                key: column.key,
                descending: match query.order.as_deref() {
                    Some("asc") => false,
                    Some("desc") => true,
                    _ => column.numeric,
                },
            },
            None => Sort {
                key: default,
                descending: false,
            },
        }
    }

    /// `ordering` (ascending) turned round when sorting descending.
    pub fn apply(self, ordering: Ordering) -> Ordering {
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// A column heading as the template draws it.
#[derive(Debug, Clone)]
pub struct Heading {
    pub label: &'static str,
    pub href: String,
    pub numeric: bool,
    /// `ascending` or `descending` on the sorted column.
    pub aria_sort: Option<&'static str>,
}

/// The headings of `columns`, each linking to `path` sorted by it (the sorted one reversed).
/// `path` may carry a query of its own (`?as_at=2024-10`), which the links keep.
pub fn headings(columns: &[Column], sort: Sort, path: &str) -> Vec<Heading> {
    let sep = if path.contains('?') { '&' } else { '?' };
    columns
        .iter()
        .map(|column| {
            let current = column.key == sort.key;
            let descending = if current {
                !sort.descending
            } else {
                column.numeric
            };
            let order = if descending { "desc" } else { "asc" };
            Heading {
                label: column.label,
                href: format!("{path}{sep}sort={}&order={order}#icb-figures", column.key),
                numeric: column.numeric,
                aria_sort: current.then_some(if sort.descending {
                    "descending"
                } else {
                    "ascending"
                }),
            }
        })
        .collect()
}

/// Orders values with the missing ones last, whichever way the rest are sorted.
pub fn missing_last<T: Ord>(a: Option<T>, b: Option<T>, sort: Sort) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => sort.apply(a.cmp(&b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 2] = [
        Column {
            key: "icb",
            label: "ICB",
            numeric: false,
        },
        Column {
            key: "percent",
            label: "%",
            numeric: true,
        },
    ];

    fn query(sort: &str, order: &str) -> SortQuery {
        SortQuery {
            sort: Some(sort.into()),
            order: Some(order.into()),
        }
    }

    #[test]
    fn reads_the_query_and_falls_back() {
        let s = Sort::from_query(&query("percent", "asc"), &COLUMNS, "icb");
        assert_eq!((s.key, s.descending), ("percent", false));
        let s = Sort::from_query(&query("percent", ""), &COLUMNS, "icb");
        assert!(s.descending, "figures sort largest first by default");
        let s = Sort::from_query(&query("'; drop table", "desc"), &COLUMNS, "icb");
        assert_eq!((s.key, s.descending), ("icb", false));
    }

    #[test]
    fn the_sorted_heading_links_to_the_reverse() {
        let sort = Sort {
            key: "icb",
            descending: false,
        };
        let h = headings(&COLUMNS, sort, "/regions/Y56/2024-25");
        assert_eq!(h[0].aria_sort, Some("ascending"));
        assert!(h[0].href.contains("sort=icb&order=desc"));
        assert_eq!(h[1].aria_sort, None);
        assert!(h[1].href.contains("sort=percent&order=desc"));
        let kept = headings(&COLUMNS, sort, "/regions/Y56/2024-25?as_at=2024-10");
        assert_eq!(
            kept[1].href,
            "/regions/Y56/2024-25?as_at=2024-10&sort=percent&order=desc#icb-figures"
        );
    }

    #[test]
    fn missing_values_go_last_both_ways() {
        let asc = Sort {
            key: "x",
            descending: false,
        };
        let desc = Sort {
            key: "x",
            descending: true,
        };
        let mut values = vec![None, Some(2), Some(1)];
        values.sort_by(|a, b| missing_last(*a, *b, asc));
        assert_eq!(values, [Some(1), Some(2), None]);
        values.sort_by(|a, b| missing_last(*a, *b, desc));
        assert_eq!(values, [Some(2), Some(1), None]);
    }
}
