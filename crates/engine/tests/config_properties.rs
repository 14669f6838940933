//! The config file through any sequence of changes: a file written by a newer Rolecall, with
//! comments and keys this one does not know, keeps every comment and unknown key, and reads
//! back as exactly the config wanted.

use proptest::prelude::*;
use rolecall_engine::config::{ConfigFile, Favourite};
use rolecall_engine::session::SsoSession;
use rolecall_engine::shell::ShellFormat;

const FILE: &str = r#"# My settings: keep this comment
version = 99
future_top = "kept"

[preferences]
# the shell I use
shell = "fish" # trailing comment
future_pref = [1, 2, 3]

# work
[[session]]
name = "corp"
start_url = "https://corp.awsapps.com/start"
region = "eu-west-1"
future_session = { deep = true }

[future_table]
# a comment in an unknown table
answer = 42
"#;

#[derive(Debug, Clone)]
enum Change {
    Shell(usize),
    Autostart(bool),
    AddSession(u8),
    RemoveSession(u8),
    Favourite(u8, u8),
    Alias(u8, Option<String>),
    Warnings(Vec<u64>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..5usize).prop_map(Change::Shell),
        any::<bool>().prop_map(Change::Autostart),
        (0..4u8).prop_map(Change::AddSession),
        (0..4u8).prop_map(Change::RemoveSession),
        (0..3u8, 0..3u8).prop_map(|(a, r)| Change::Favourite(a, r)),
        (
            0..3u8,
            proptest::option::of("[A-Za-z0-9&é-][A-Za-z0-9 &é-]{0,11}")
        )
            .prop_map(|(a, n)| Change::Alias(a, n)),
        proptest::collection::vec(1..4000u64, 0..4).prop_map(Change::Warnings),
    ]
}

fn session(n: u8) -> SsoSession {
    SsoSession {
        name: format!("s{n}"),
        start_url: format!("https://s{n}.awsapps.com/start"),
        region: "us-east-1".parse().expect("region"),
        endpoints: Default::default(),
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    }
}

fn account(n: u8) -> String {
    format!("{n}").repeat(12)
}

fn apply(c: &Change, config: &mut rolecall_engine::config::Config) {
    match c {
        Change::Shell(i) => config.preferences.shell = ShellFormat::ALL[*i],
        Change::Autostart(b) => config.preferences.autostart = *b,
        Change::AddSession(n) => config.upsert_session(session(*n)),
        Change::RemoveSession(n) => config.sessions.retain(|s| s.name != format!("s{n}")),
        Change::Favourite(a, r) => {
            config.toggle_favourite(Favourite {
                session: "corp".into(),
                account_id: account(*a),
                role: format!("Role{r}"),
            });
        }
        Change::Alias(a, Some(name)) => {
            config.aliases.insert(account(*a), name.clone());
        }
        Change::Alias(a, None) => {
            config.aliases.remove(&account(*a));
        }
        Change::Warnings(w) => config.preferences.warnings_seconds = w.clone(),
    }
}

/// A fixed number of cases from a fixed seed, so every run tries the same values (set
/// `PROPTEST_RNG_SEED` to try others), and no persistence file.
fn fixed(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x5eed_2026);
    }
    config
}

proptest! {
    #![proptest_config(fixed(128))]

    #[test]
    fn saves_keep_comments_and_unknown_keys_and_mean_what_was_wanted(
        changes in proptest::collection::vec(change(), 1..8)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ConfigFile::in_dir(dir.path());
        std::fs::write(file.path(), FILE).expect("write");
        let mut wanted = file.load().expect("a newer version's file loads");
        for c in &changes {
            apply(c, &mut wanted);
            file.update(|config| apply(c, config)).expect("saved");
            let text = std::fs::read_to_string(file.path()).expect("read");
            for kept in [
                "# My settings: keep this comment",
                "future_top = \"kept\"",
                "# the shell I use",
                "# trailing comment",
                "future_pref = [1, 2, 3]",
                "[future_table]\n# a comment in an unknown table\nanswer = 42",
            ] {
                prop_assert!(text.contains(kept), "{:?} lost after {:?}:\n{}", kept, c, text);
            }
            prop_assert_eq!(&file.load().expect("reads back"), &wanted);
        }
    }
}
