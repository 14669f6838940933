//! Finding a role by typing: fuzzy matching (nucleo) over the names a person reads (alias,
//! account name, chain, role), and plain substrings of what a person copies (account id,
//! email), with favourites and recently used roles ranked first. Every word typed must match
//! somewhere.
//!
//! Ids and emails are matched as substrings, not fuzzily: "ml" in "example.com" is not a
//! match a person meant, and a fuzzy match over 10,000 long strings is what made a keystroke
//! slow.

use std::ops::Range;

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};

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
    /// What is matched fuzzily: the names.
    fn names(&self) -> String {
        format!(
            "{} {} {} {}",
            self.alias.as_deref().unwrap_or(""),
            self.account_name,
            self.chain.as_ref().map_or("", |c| c.name.as_str()),
            self.role,
        )
    }

    /// What is matched as a substring: the id and the email.
    fn copied(&self) -> String {
        format!("{} {}", self.account_id, self.email)
    }
}

/// Roles made ready to search: each entry's text is prepared once (nucleo's UTF-32 form), so a
/// keystroke only matches and sorts. Built when the catalogues or the config change, shared
/// between searches.
///
/// Typing narrows: a query that extends the last one (the same text and more) can only match
/// roles the last one matched, so it is matched against those alone (a few hundred, not
/// 100,000). Not when the last query holds nucleo's operators (`!`, `^`, `$`, `'`) or an
/// escape, whose meaning can change as the query grows.
#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<RoleEntry>,
    names: Vec<Utf32String>,
    copied: Vec<Utf32String>,
    /// Every entry's index, in order: the candidates of a query that narrows nothing.
    all: Vec<u32>,
    /// The last query matched and every entry it matched, in index order.
    last: std::sync::Mutex<Option<(String, std::sync::Arc<Vec<u32>>)>>,
}

/// Whether every match of `query` is a match of `last`.
fn narrows(last: &str, query: &str) -> bool {
    !last.trim().is_empty()
        && query.starts_with(last)
        && !last.contains(['!', '^', '$', '\'', '\\'])
}

impl SearchIndex {
    pub fn new(entries: Vec<RoleEntry>) -> Self {
        let names = entries
            .iter()
            .map(|e| Utf32String::from(e.names()))
            .collect();
        let copied = entries
            .iter()
            .map(|e| Utf32String::from(e.copied()))
            .collect();
        let all = (0..u32::try_from(entries.len()).unwrap_or(u32::MAX)).collect();
        Self {
            entries,
            names,
            copied,
            all,
            last: std::sync::Mutex::new(None),
        }
    }

    /// The next search starts from every entry (benchmarks compare both ways).
    pub fn forget_last(&self) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    pub fn entries(&self) -> &[RoleEntry] {
        &self.entries
    }

    /// Indices of the best matches, best first, at most `limit`; and how many matched in all.
    /// `recent` gives an entry's place among the recently used roles (0: the last one).
    pub fn search(
        &self,
        query: &str,
        recent: impl Fn(&RoleEntry) -> Option<usize> + Sync,
        limit: usize,
    ) -> (Vec<usize>, usize) {
        let boost = |e: &RoleEntry| -> u32 {
            let favourite = if e.favourite { 60 } else { 0 };
            let recent = recent(e).map_or(0, |r| 40u32.saturating_sub(r as u32 * 4));
            favourite + recent
        };
        let mut scored: Vec<(u32, usize)> = if query.trim().is_empty() {
            self.entries
                .iter()
                .enumerate()
                .map(|(i, e)| (boost(e), i))
                .collect()
        } else {
            let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
            // Each word also as a plain substring, for ids and emails.
            let substrings: Vec<Atom> = pattern
                .atoms
                .iter()
                .map(|a| {
                    let needle: String = a.needle_text().chars().collect();
                    let mut sub = Atom::new(
                        &needle,
                        CaseMatching::Ignore,
                        Normalization::Smart,
                        AtomKind::Substring,
                        false,
                    );
                    sub.negative = a.negative;
                    sub
                })
                .collect();
            let narrowed = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(last, _)| narrows(last, query))
                .map(|(_, matched)| matched.clone());
            let candidates: &[u32] = narrowed.as_deref().map_or(&self.all, Vec::as_slice);
            let score = |range: Range<usize>| -> Vec<(u32, usize)> {
                let mut matcher = Matcher::new(Config::DEFAULT);
                candidates[range]
                    .iter()
                    .map(|&i| i as usize)
                    .filter_map(|i| {
                        let (names, copied) = (self.names[i].slice(..), self.copied[i].slice(..));
                        let mut score = 0u32;
                        for (atom, sub) in pattern.atoms.iter().zip(&substrings) {
                            if atom.negative {
                                atom.score(names, &mut matcher)?;
                                sub.score(copied, &mut matcher)?;
                                continue;
                            }
                            score += match atom.score(names, &mut matcher) {
                                Some(s) => u32::from(s),
                                None => u32::from(sub.score(copied, &mut matcher)?),
                            };
                        }
                        Some((score + boost(&self.entries[i]), i))
                    })
                    .collect()
            };
            let scored = in_parts(candidates.len(), score);
            let matched: Vec<u32> = scored.iter().map(|&(_, i)| i as u32).collect();
            *self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some((query.to_owned(), std::sync::Arc::new(matched)));
            scored
        };
        let total = scored.len();
        let order = |(sa, ia): &(u32, usize), (sb, ib): &(u32, usize)| {
            sb.cmp(sa).then_with(|| {
                let (a, b) = (&self.entries[*ia], &self.entries[*ib]);
                fn chain(e: &RoleEntry) -> Option<&str> {
                    e.chain.as_ref().map(|c| c.name.as_str())
                }
                (&a.account_name, &a.role, chain(a)).cmp(&(&b.account_name, &b.role, chain(b)))
            })
        };
        // Only the shown ones need sorting: the best `limit` first, then in order.
        if scored.len() > limit && limit > 0 {
            scored.select_nth_unstable_by(limit - 1, order);
            scored.truncate(limit);
        }
        scored.sort_by(order);
        scored.truncate(limit);
        (scored.into_iter().map(|(_, i)| i).collect(), total)
    }
}

/// From this many roles on, a search matches them on several threads: the matcher's time
/// grows with the roles (about 1 ms at 10,000 on one core, up to 4 for a long query matching
/// them all: crates/bench search-bench), and a thread costs some 20 microseconds to start.
const PARALLEL_FROM: usize = 4096;
/// At most this many threads a search.
const PARALLEL_MAX: usize = 4;

/// `score` over `0..n`, in parts on as many threads as help (at most [`PARALLEL_MAX`], the
/// machine's cores), its answers joined in order: the same list as one `score(0..n)`.
fn in_parts<T: Send>(n: usize, score: impl Fn(Range<usize>) -> Vec<T> + Sync) -> Vec<T> {
    let threads = if n < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |c| c.get().min(PARALLEL_MAX))
    };
    if threads < 2 {
        return score(0..n);
    }
    let part = n.div_ceil(threads);
    let score = &score;
    std::thread::scope(|s| {
        let parts: Vec<_> = (1..threads)
            .map(|t| s.spawn(move || score(t * part..n.min((t + 1) * part))))
            .collect();
        // The first part on this thread, the others meanwhile.
        let mut all = score(0..part.min(n));
        for p in parts {
            all.extend(p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    })
}

/// Indices into `entries`, best first, at most `limit` (an index built for one search; the
/// core keeps one between searches).
pub fn search(entries: &[RoleEntry], query: &str, limit: usize) -> Vec<usize> {
    SearchIndex::new(entries.to_vec())
        .search(query, |e| e.recent, limit)
        .0
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
    fn a_search_in_parts_finds_what_one_part_finds_in_the_same_order() {
        for n in [
            0,
            1,
            PARALLEL_FROM - 1,
            PARALLEL_FROM,
            PARALLEL_FROM + 1,
            10_001,
        ] {
            let parts = in_parts(n, |r| r.filter(|i| i % 3 != 1).collect::<Vec<_>>());
            let whole: Vec<usize> = (0..n).filter(|i| i % 3 != 1).collect();
            assert_eq!(parts, whole, "{n} roles");
        }
    }

    #[test]
    fn a_large_catalogue_ranks_and_counts_as_a_small_one_does() {
        // The same 12 roles among 10,000 others that never match: the answer must not change
        // with the catalogue's size (a large one is matched in parts, on several threads).
        let wanted = |i: usize| entry(&format!("payments-{i}"), &format!("{i:012}"), "Admin");
        let few: Vec<RoleEntry> = (0..12).map(wanted).collect();
        let mut many: Vec<RoleEntry> = (0..10_000)
            .map(|i| entry(&format!("zz-{i}"), &format!("5{i:05}555555"), "Zz"))
            .collect();
        for (k, e) in few.iter().enumerate() {
            many.insert(k * 800 + 7, e.clone());
        }
        let found = |entries: &[RoleEntry], q: &str| {
            let index = SearchIndex::new(entries.to_vec());
            let (hits, total) = index.search(q, |e| e.recent, 5);
            let names: Vec<String> = hits
                .into_iter()
                .map(|i| entries[i].account_name.clone())
                .collect();
            (names, total)
        };
        for q in ["pay", "payments-1", "admin", "0000000000"] {
            assert_eq!(found(&many, q), found(&few, q), "{q}");
        }
    }

    proptest::proptest! {
        /// A query typed key by key (each searched within the last one's answer) finds exactly
        /// what it finds searched alone, in the same order, with the same count.
        #[test]
        fn typing_that_narrows_finds_what_a_fresh_search_finds(
            names in proptest::collection::vec("[a-c]{1,3}-(prod|dev)-[0-9]{1,2}", 1..60),
            roles in proptest::collection::vec("(Admin|ReadOnly|Dev)[A-C]?", 1..4),
            typed in "[a-cdoprv0-9 A-C!^$'-]{1,8}",
        ) {
            let entries: Vec<RoleEntry> = names
                .iter()
                .enumerate()
                .flat_map(|(i, n)| roles.iter().map(move |r| entry(n, &format!("{:012}", i * 37), r)))
                .collect();
            let typing = SearchIndex::new(entries.clone());
            for end in 1..=typed.len() {
                let q = &typed[..end];
                let narrowed = typing.search(q, |e| e.recent, 7);
                let fresh = SearchIndex::new(entries.clone()).search(q, |e| e.recent, 7);
                proptest::prop_assert_eq!(narrowed, fresh, "{:?}", q);
            }
        }
    }

    #[test]
    fn only_a_query_that_extends_a_plain_one_narrows() {
        assert!(narrows("pay", "pay"));
        assert!(narrows("pay", "payments prod"));
        assert!(!narrows("", "pay"));
        assert!(!narrows("pay", "pa"));
        assert!(!narrows("pay !de", "pay !dev"));
        assert!(!narrows("foo$", "foo$x"));
        assert!(!narrows("^ac", "^acc"));
        assert!(!narrows("'ac", "'acc"));
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
