//! Finding a role by typing: fuzzy matching (nucleo) over account name, id, email, role name and
//! alias, with favourites and recently used roles ranked first.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// One (account, role) a person can pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub role: String,
    pub alias: Option<String>,
    pub favourite: bool,
    /// 0 = most recently used.
    pub recent: Option<usize>,
    /// A role chained from `role` (the config's `[[chain]]`): its name and the role ARN
    /// assumed.
    pub chain: Option<ChainedRole>,
}

/// A role assumed from an SSO role (role chaining, one hour at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRole {
    pub name: String,
    pub role_arn: String,
}

impl RoleEntry {
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.alias.as_deref().unwrap_or(""),
            self.account_name,
            self.chain.as_ref().map_or("", |c| c.name.as_str()),
            self.role,
            self.account_id,
            self.email
        )
    }

    fn boost(&self) -> u32 {
        let favourite = if self.favourite { 60 } else { 0 };
        let recent = self
            .recent
            .map_or(0, |r| 40u32.saturating_sub(r as u32 * 4));
        favourite + recent
    }
}

/// Indices into `entries`, best first, at most `limit`.
pub fn search(entries: &[RoleEntry], query: &str, limit: usize) -> Vec<usize> {
    let mut scored: Vec<(u32, usize)> = if query.trim().is_empty() {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.boost(), i))
            .collect()
    } else {
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let hay = e.haystack();
                let score = pattern.score(Utf32Str::new(&hay, &mut buf), &mut matcher)?;
                Some((score + e.boost(), i))
            })
            .collect()
    };
    scored.sort_by(|(sa, ia), (sb, ib)| {
        sb.cmp(sa).then_with(|| {
            let (a, b) = (&entries[*ia], &entries[*ib]);
            let chain = |e: &RoleEntry| e.chain.as_ref().map(|c| c.name.clone());
            (&a.account_name, &a.role, chain(a)).cmp(&(&b.account_name, &b.role, chain(b)))
        })
    });
    scored.into_iter().take(limit).map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, id: &str, role: &str) -> RoleEntry {
        RoleEntry {
            session: "s".into(),
            account_id: id.into(),
            account_name: name.into(),
            email: format!("aws+{name}@example.com"),
            role: role.into(),
            alias: None,
            favourite: false,
            recent: None,
            chain: None,
        }
    }

    #[test]
    fn fuzzy_over_every_field() {
        let mut entries = vec![
            entry("payments-prod", "111111111111", "AdministratorAccess"),
            entry("payments-dev", "222222222222", "DeveloperAccess"),
            entry("search-prod", "333333333333", "ReadOnlyAccess"),
        ];
        entries[2].alias = Some("lucene".into());
        let names = |q: &str| {
            search(&entries, q, 10)
                .into_iter()
                .map(|i| entries[i].account_name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("paydev")[0], "payments-dev");
        assert_eq!(names("prod admin"), vec!["payments-prod"]);
        assert_eq!(names("3333"), vec!["search-prod"]);
        assert_eq!(names("lucene"), vec!["search-prod"]);
        assert!(names("zzzz").is_empty());
    }

    #[test]
    fn favourites_and_recents_first() {
        let mut entries = vec![
            entry("a-prod", "1", "R"),
            entry("b-prod", "2", "R"),
            entry("c-prod", "3", "R"),
        ];
        entries[2].favourite = true;
        entries[1].recent = Some(0);
        let order: Vec<_> = search(&entries, "", 10)
            .into_iter()
            .map(|i| entries[i].account_name.as_str())
            .collect();
        assert_eq!(order, ["c-prod", "b-prod", "a-prod"]);
        let order: Vec<_> = search(&entries, "prod", 10)
            .into_iter()
            .map(|i| entries[i].account_name.as_str())
            .collect();
        assert_eq!(order, ["c-prod", "b-prod", "a-prod"]);
    }
}
