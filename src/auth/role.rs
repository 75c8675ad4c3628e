//! The five roles. A user has exactly one; the ones that need an organisation name its kind.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a user may do, and over which organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "user_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// One ICB: read and change it.
    IcbEditor,
    /// One ICB: read only.
    IcbViewer,
    /// One region: read all its ICBs, agree or return their plans.
    RegionReviewer,
    /// Everything, read only, exports.
    NationalAnalyst,
    /// Users, catalogue, organisations; national read.
    Admin,
}

/// The kind of organisation a role is tied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    Icb,
    Region,
}

impl Role {
    /// Every role, in the order forms list them.
    pub const ALL: [Role; 5] = [
        Role::IcbEditor,
        Role::IcbViewer,
        Role::RegionReviewer,
        Role::NationalAnalyst,
        Role::Admin,
    ];

    /// The identifier used in forms, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::IcbEditor => "icb_editor",
            Role::IcbViewer => "icb_viewer",
            Role::RegionReviewer => "region_reviewer",
            Role::NationalAnalyst => "national_analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses the identifier.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The role in words.
    pub fn label(self) -> &'static str {
        match self {
            Role::IcbEditor => "ICB editor",
            Role::IcbViewer => "ICB viewer",
            Role::RegionReviewer => "Regional reviewer",
            Role::NationalAnalyst => "National analyst",
            Role::Admin => "Administrator",
        }
    }

    /// Which organisation the role needs, if any.
    pub fn org_kind(self) -> Option<OrgKind> {
        match self {
            Role::IcbEditor | Role::IcbViewer => Some(OrgKind::Icb),
            Role::RegionReviewer => Some(OrgKind::Region),
            Role::NationalAnalyst | Role::Admin => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}
