//! The kinds of e-mail, as stored (`outbox.kind`, `notification_setting.turned_off`) and as
//! people choose them.

use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// A kind of e-mail: each person can turn each kind off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A plan of the reviewer's region was submitted for review.
    PlanSubmitted,
    /// The editor's plan was returned with comments.
    PlanReturned,
    /// The editor's plan was agreed.
    PlanAgreed,
    /// A month's figures are due within 7 days.
    FiguresDue,
    /// A month's figures are overdue.
    FiguresOverdue,
    /// The weekly list of the region's plans waiting for review.
    ReviewDigest,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::PlanSubmitted,
        Kind::PlanReturned,
        Kind::PlanAgreed,
        Kind::FiguresDue,
        Kind::FiguresOverdue,
        Kind::ReviewDigest,
    ];

    /// As stored and in forms.
    pub fn key(self) -> &'static str {
        match self {
            Kind::PlanSubmitted => "plan_submitted",
            Kind::PlanReturned => "plan_returned",
            Kind::PlanAgreed => "plan_agreed",
            Kind::FiguresDue => "figures_due",
            Kind::FiguresOverdue => "figures_overdue",
            Kind::ReviewDigest => "review_digest",
        }
    }

    /// From its key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// What it is, for the choice of e-mails and the outbox.
    pub fn label(self) -> &'static str {
        match self {
            Kind::PlanSubmitted => "A plan is submitted for your review",
            Kind::PlanReturned => "Your ICB's plan is returned with comments",
            Kind::PlanAgreed => "Your ICB's plan is agreed",
            Kind::FiguresDue => "A month's figures are due within 7 days",
            Kind::FiguresOverdue => "A month's figures are overdue",
            Kind::ReviewDigest => "Weekly list of plans waiting for review",
        }
    }

    /// When it is sent.
    pub fn hint(self) -> &'static str {
        match self {
            Kind::PlanSubmitted => "When an ICB of your region submits its plan.",
            Kind::PlanReturned => "With the regional team's comments.",
            Kind::PlanAgreed => "With the regional team's comments, if they made any.",
            Kind::FiguresDue => {
                "A month's figures are due by the end of the following month. One reminder a month, if they are not in yet."
            }
            Kind::FiguresOverdue => {
                "One reminder a month while the latest due month's figures are missing."
            }
            Kind::ReviewDigest => {
                "Once a week, when plans of your region have been waiting since before the week began."
            }
        }
    }

    /// The kinds a role gets.
    pub fn for_role(role: Role) -> &'static [Kind] {
        match role {
            Role::IcbEditor => &[
                Kind::PlanReturned,
                Kind::PlanAgreed,
                Kind::FiguresDue,
                Kind::FiguresOverdue,
            ],
            Role::RegionReviewer => &[Kind::PlanSubmitted, Kind::ReviewDigest],
            Role::IcbViewer | Role::NationalAnalyst | Role::Admin => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn keys_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_key(kind.key()), Some(kind));
        }
        assert_eq!(Kind::from_key("plan_reopened"), None);
    }
}
