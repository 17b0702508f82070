//! Roles, as stored in the records and as written in rosters.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 党员/干部: drills, own records, joining competitions.
    Member,
    /// 处长/司室负责同志: reviews the sections in `head_sections`.
    SectionHead,
    /// 主持人: sets up and runs competitions.
    Host,
    /// 机关党委: everything.
    Admin,
}

impl Role {
    pub fn id(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::SectionHead => "section_head",
            Role::Host => "host",
            Role::Admin => "admin",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Member => "党员",
            Role::SectionHead => "处室负责人",
            Role::Host => "主持人",
            Role::Admin => "管理员",
        }
    }

    /// Accepts the id and the words rosters use.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "member" | "党员" | "成员" | "干部" | "职工" => Some(Role::Member),
            "section_head" | "处长" | "处室负责人" | "负责人" | "司室负责同志" => {
                Some(Role::SectionHead)
            }
            "host" | "主持人" => Some(Role::Host),
            "admin" | "管理员" | "机关党委" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_words_parse() {
        assert_eq!(Role::parse("处长"), Some(Role::SectionHead));
        assert_eq!(Role::parse(" admin "), Some(Role::Admin));
        assert_eq!(Role::parse("局长"), None);
        for r in [Role::Member, Role::SectionHead, Role::Host, Role::Admin] {
            assert_eq!(Role::parse(r.id()), Some(r));
            assert_eq!(Role::parse(r.name_zh()), Some(r));
        }
    }
}
