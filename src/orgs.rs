//! Organisations: NHS England regions and their integrated care boards (ICBs).
//! The structure is effective-dated, so ICBs that have closed are listed with their end date,
//! and what happened to each (which ICBs succeeded it, which it was formed from) is said in
//! words built from the recorded successions ([`histories`]).

pub mod directory;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;
use sqlx::PgExecutor;

use crate::AppState;
use crate::auth::scope::Scope;
use crate::auth::{CurrentUser, MaybeUser};
use crate::error::AppResult;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// The organisation routes.
pub fn routes() -> Routes {
    Routes::new().get("/organisations", Access::Public, list_organisations)
}

/// A region with its ICBs.
pub struct RegionWithIcbs {
    pub ods_code: String,
    pub name: String,
    /// Whether the viewer may open the region's page (and so link to it).
    pub linked: bool,
    pub icbs: Vec<IcbRow>,
}

/// One ICB as listed.
pub struct IcbRow {
    pub ods_code: String,
    pub name: String,
    pub valid_to: Option<NaiveDate>,
    /// What happened to it, in sentences ([`histories`]).
    pub history: Vec<String>,
    /// Whether the viewer may open the ICB's page.
    pub linked: bool,
}

impl IcbRow {
    /// "31 March 2026", for ICBs that have closed.
    pub fn closed_on(&self) -> Option<String> {
        self.valid_to.map(|d| d.format("%-d %B %Y").to_string())
    }
}

/// `/organisations`
#[derive(Template, WebTemplate)]
#[template(path = "orgs/organisations.html")]
pub struct OrganisationsPage {
    pub layout: Layout,
    pub regions: Vec<RegionWithIcbs>,
}

async fn list_organisations(
    State(state): State<AppState>,
    user: MaybeUser,
) -> AppResult<OrganisationsPage> {
    let rows = sqlx::query!(
        r#"
        select r.region_id, r.ods_code as region_code, r.name as region_name,
               i.icb_id as "icb_id?", i.ods_code as "icb_code?", i.name as "icb_name?", i.valid_to
        from region r
        left join icb i using (region_id)
        order by r.name, i.name
        "#
    )
    .fetch_all(state.db())
    .await?;
    let mut histories = histories(state.db()).await?;

    // Links only where the viewer's scope reaches; the pages themselves check again.
    let scope = user.0.as_ref().map_or(Scope::Nothing, CurrentUser::scope);
    let sees_region = |region_id: i16| match scope {
        Scope::National => true,
        Scope::Region { region_id: own } => own == region_id,
        Scope::Icb { .. } | Scope::Nothing => false,
    };
    let sees_icb = |region_id: i16, icb_id: i32| match scope {
        Scope::Icb { icb_id: own, .. } => own == icb_id,
        _ => sees_region(region_id),
    };
    let mut regions: Vec<RegionWithIcbs> = Vec::new();
    for row in rows {
        if regions.last().is_none_or(|r| r.ods_code != row.region_code) {
            regions.push(RegionWithIcbs {
                ods_code: row.region_code,
                name: row.region_name,
                linked: sees_region(row.region_id),
                icbs: Vec::new(),
            });
        }
        if let (Some(icb_id), Some(ods_code), Some(name), Some(region)) =
            (row.icb_id, row.icb_code, row.icb_name, regions.last_mut())
        {
            region.icbs.push(IcbRow {
                ods_code,
                name,
                valid_to: row.valid_to,
                history: histories.remove(&icb_id).unwrap_or_default(),
                linked: sees_icb(row.region_id, icb_id),
            });
        }
    }
    Ok(OrganisationsPage {
        layout: user.layout(),
        regions,
    })
}

/// Whether `code` (upper case) is an ICB's ODS code: three letters or digits (the ICBs of
/// July 2022, e.g. QE1) or five (those formed from April 2026, e.g. S1Y5D). The database
/// checks the same (`icb_ods_code_check`).
pub fn is_icb_code(code: &str) -> bool {
    matches!(code.len(), 3 | 5)
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// One recorded succession, as [`describe`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessionLink {
    pub predecessor_id: i32,
    /// "NHS Frimley Integrated Care Board (QNQ)"
    pub predecessor: String,
    pub successor_id: i32,
    pub successor: String,
    /// The successor's first day: on or after `effective_from` when the succession formed it.
    pub successor_from: NaiveDate,
    pub effective_from: NaiveDate,
    /// The predecessor's work went to more than one ICB (a split).
    pub split: bool,
}

/// What happened to every ICB that has a recorded succession, by `icb_id`.
pub async fn histories<'e>(db: impl PgExecutor<'e>) -> sqlx::Result<HashMap<i32, Vec<String>>> {
    let links = sqlx::query_as!(
        SuccessionLink,
        r#"
        select s.predecessor_icb_id as predecessor_id,
               p.name || ' (' || p.ods_code || ')' as "predecessor!",
               s.successor_icb_id as successor_id,
               n.name || ' (' || n.ods_code || ')' as "successor!",
               n.valid_from as successor_from, s.effective_from,
               (select count(*) from icb_succession o
                where o.predecessor_icb_id = s.predecessor_icb_id) > 1 as "split!"
        from icb_succession s
        join icb p on p.icb_id = s.predecessor_icb_id
        join icb n on n.icb_id = s.successor_icb_id
        order by s.effective_from, n.name, p.name
        "#
    )
    .fetch_all(db)
    .await?;
    Ok(describe(&links))
}

/// The sentences for each ICB: a closed ICB was "Succeeded by …", a new one "Formed on … from
/// …", an ICB that carried on "Took on …". A predecessor that was split is "part of" it.
pub fn describe(links: &[SuccessionLink]) -> HashMap<i32, Vec<String>> {
    let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    let mut successors: BTreeMap<(NaiveDate, i32), Vec<String>> = BTreeMap::new();
    let mut predecessors: BTreeMap<(NaiveDate, i32), (bool, Vec<String>)> = BTreeMap::new();
    for link in links {
        successors
            .entry((link.effective_from, link.predecessor_id))
            .or_default()
            .push(link.successor.clone());
        let formed = link.successor_from >= link.effective_from;
        let whole = if formed { "" } else { "the work of " };
        let part = if link.split { "part of " } else { whole };
        predecessors
            .entry((link.effective_from, link.successor_id))
            .or_insert((formed, Vec::new()))
            .1
            .push(format!("{part}{}", link.predecessor));
    }
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    for ((date, icb_id), (formed, sources)) in predecessors {
        let sentence = if formed {
            format!("Formed on {} from {}.", day(date), and_list(&sources))
        } else {
            format!("Took on {} from {}.", and_list(&sources), day(date))
        };
        out.entry(icb_id).or_default().push(sentence);
    }
    for ((date, icb_id), names) in successors {
        out.entry(icb_id).or_default().push(format!(
            "Succeeded by {} from {}.",
            and_list(&names),
            day(date)
        ));
    }
    out
}

/// "A", "A and B", "A, B and C".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn link(pred: (i32, &str), succ: (i32, &str, NaiveDate), split: bool) -> SuccessionLink {
        SuccessionLink {
            predecessor_id: pred.0,
            predecessor: pred.1.into(),
            successor_id: succ.0,
            successor: succ.1.into(),
            successor_from: succ.2,
            effective_from: date(2026, 4, 1),
            split,
        }
    }

    #[test]
    fn icb_codes_have_three_or_five_characters() {
        for code in ["QE1", "S1Y5D", "Z9B2Z", "QOX"] {
            assert!(is_icb_code(code), "{code}");
        }
        for code in ["", "QE", "QE12", "S1Y5D1", "qe1", "Q-1", "Y56 "] {
            assert!(!is_icb_code(code), "{code}");
        }
    }

    #[test]
    fn mergers_splits_and_acquisitions_are_said_in_words() {
        let new = date(2026, 4, 1);
        let old = date(2022, 7, 1);
        let links = [
            link((1, "A (QA1)"), (10, "New (N1234)", new), false),
            link((2, "B (QB1)"), (10, "New (N1234)", new), true),
            link((2, "B (QB1)"), (11, "Other (N5678)", new), true),
            link((3, "C (QC1)"), (11, "Other (N5678)", new), true),
            link((3, "C (QC1)"), (12, "Kept (QK1)", old), true),
            link((3, "C (QC1)"), (13, "Third (N9)", new), true),
        ];
        let said = describe(&links);
        assert_eq!(said[&1], ["Succeeded by New (N1234) from 1 April 2026."]);
        assert_eq!(
            said[&3],
            ["Succeeded by Other (N5678), Kept (QK1) and Third (N9) from 1 April 2026."]
        );
        assert_eq!(
            said[&10],
            ["Formed on 1 April 2026 from A (QA1) and part of B (QB1)."]
        );
        assert_eq!(said[&12], ["Took on part of C (QC1) from 1 April 2026."]);
        let absorbed = describe(&[link((4, "D (QD1)"), (12, "Kept (QK1)", old), false)]);
        assert_eq!(
            absorbed[&12],
            ["Took on the work of D (QD1) from 1 April 2026."]
        );
    }
}
