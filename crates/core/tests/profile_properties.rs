//! Profile blocks from arbitrary account names, role names and session names, read back by
//! Python's configparser (as botocore reads `~/.aws/config`) and shlex (as botocore splits
//! `credential_process`): exactly the intended profiles, each running rolecall for its role,
//! and the rest of the file untouched.

use proptest::prelude::*;
use rolecall_core::profiles::{ProfileSpec, apply, assign_names, profile_name, render_block};

const READ_BACK: &str = r#"
import configparser, json, shlex, sys
parser = configparser.RawConfigParser()
parser.read(sys.argv[1])
out = {}
for section in parser.sections():
    items = dict(parser.items(section))
    if "credential_process" in items:
        items["credential_process"] = shlex.split(items["credential_process"])
    out[section] = items
print(json.dumps(out))
"#;

fn role_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_+=,.@-]{1,20}"
}

fn account_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z-]{1,10}",
        any::<String>(),
        proptest::sample::select(vec![
            "R&D",
            "R-D",
            "R D",
            "ops\n[profile default]\ncredential_process = sh -c 'id'",
            "[default]",
            "x]\n[y",
            "%(here)s",
            "; comment",
            "# hash",
        ])
        .prop_map(str::to_owned),
    ]
}

fn session_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 '\"$`.&-]{1,12}".prop_filter("not blank", |s| !s.trim().is_empty())
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
    #![proptest_config(fixed(48))]

    #[test]
    fn blocks_read_back_as_exactly_the_intended_profiles(
        roles in proptest::collection::vec(
            (account_name(), 0..6u8, role_name(), session_name()), 1..10
        )
    ) {
        let specs: Vec<ProfileSpec> = roles
            .iter()
            .map(|(account, id, role, session)| ProfileSpec {
                name: profile_name(account, role),
                session: session.clone(),
                account_id: format!("{id}").repeat(12),
                role: role.clone(),
                region: Some("eu-west-1".into()),
            })
            .collect();
        let Ok((named, _renamed)) = assign_names(specs) else {
            return Ok(());
        };
        let program = "/opt/my tools/rolecall";
        let block = render_block(&named, program).expect("every spec renders");
        let text = apply("[default]\nregion = us-east-1\n", &block).expect("applies");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        std::fs::write(&path, &text).expect("write");
        let out = std::process::Command::new("python3")
            .args(["-c", READ_BACK, &path.display().to_string()])
            .output()
            .expect("python3");
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("json");
        prop_assert_eq!(&parsed["default"], &serde_json::json!({"region": "us-east-1"}));
        prop_assert_eq!(parsed.len(), named.len() + 1, "one section per profile: {}", text);
        for spec in &named {
            let section = &parsed[&format!("profile {}", spec.name)];
            prop_assert_eq!(
                &section["credential_process"],
                &serde_json::json!([
                    program, "credential-process", "--session", spec.session, spec.account_id, spec.role
                ])
            );
            prop_assert_eq!(&section["region"], "eu-west-1");
        }
    }
}
