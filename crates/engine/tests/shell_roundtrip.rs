//! Shell quoting, proven by real shells: the output of each format is evaluated by bash, zsh,
//! dash and fish (installed by `scripts/setup`), and the resulting environment is compared
//! with the input byte for byte. A missing shell fails the test: it must not pass by skipping.

use std::process::Command;

use rolecall_engine::shell::{ShellFormat, render_vars};

const NASTY: &[&str] = &[
    "plain",
    "it's a 'quoted' \"value\"",
    "$HOME ${PATH} $(echo pwned) `echo pwned` $((1+1))",
    r"back\slash \\ \' \n \t trailing\",
    "line one\nline two\n",
    "\ttab and \r carriage return",
    "non-ASCII: é ß 東京 🚀 ‘curly’ “double”",
    "!history !! ^caret %percent% ~tilde * ? [glob] {brace,x} ; & | < > #hash",
    "-starts-with-dash",
    "",
    "   spaces   ",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY==",
];

fn names() -> Vec<String> {
    (0..NASTY.len()).map(|i| format!("ROLECALL_T{i}")).collect()
}

/// Runs `script` in `shell`, then prints each variable's bytes in hex from Python.
fn environment_after(shell: &str, script: &str) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("vars");
    std::fs::write(&file, script).expect("write script");
    let names = names().join(" ");
    let py = format!(
        "import os; print('\\n'.join(os.environb.get(n.encode(), b'<unset>').hex() for n in '{names}'.split()))"
    );
    let source = if shell == "fish" { "source" } else { "." };
    let command = format!("{source} {}; python3 -c \"{py}\"", file.display());
    let out = Command::new(shell)
        .arg("-c")
        .arg(&command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{shell} must be installed (scripts/setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{shell} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("hex")
        .lines()
        .map(|l| hex::decode(l).unwrap_or_else(|_| panic!("{shell}: a variable is unset: {l}")))
        .collect()
}

fn round_trip(format: ShellFormat, shell: &str) {
    let names = names();
    let vars: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(NASTY.iter().copied())
        .collect();
    let script = render_vars(format, &vars).expect("renders");
    let got = environment_after(shell, script.expose());
    assert_eq!(got.len(), NASTY.len());
    for (value, bytes) in NASTY.iter().zip(got) {
        assert_eq!(
            bytes,
            value.as_bytes(),
            "{shell}: {value:?} came back as {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn bash() {
    round_trip(ShellFormat::Sh, "bash");
}

#[test]
fn zsh() {
    round_trip(ShellFormat::Sh, "zsh");
}

#[test]
fn dash() {
    round_trip(ShellFormat::Sh, "dash");
}

#[test]
fn fish() {
    round_trip(ShellFormat::Fish, "fish");
}

mod properties {
    //! Arbitrary values (every character but NUL, shell metacharacters and controls weighted
    //! up) through the real shells: each format either refuses a value or gives it back byte
    //! for byte. A fixed number of cases, no persistence file.

    use super::*;
    use proptest::prelude::*;

    fn nasty_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => proptest::sample::select(
                "'\"\\$`!~*?[]{}();&|<>#%^ \t\r\n=-+/.,:@".chars().collect::<Vec<_>>()
            ),
            2 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
            1 => proptest::char::range('\u{1}', '\u{1f}'),
            1 => proptest::sample::select(vec!['\u{202e}', '\u{2018}', '\u{2019}', '\u{201c}', 'é', '東']),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        proptest::collection::vec(nasty_char(), 0..24).prop_map(|cs| cs.into_iter().collect())
    }

    fn check(format: ShellFormat, shell: &str, source: &str, values: &[String]) {
        let names: Vec<String> = (0..values.len())
            .map(|i| format!("ROLECALL_P{i}"))
            .collect();
        let mut accepted = Vec::new();
        for (name, value) in names.iter().zip(values) {
            if render_vars(format, &[(name, value)]).is_ok() {
                accepted.push((name.as_str(), value.as_str()));
            }
        }
        if accepted.is_empty() {
            return;
        }
        let script = render_vars(format, &accepted).expect("each renders");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("vars");
        std::fs::write(&file, script.expose()).expect("write");
        let wanted: Vec<&str> = accepted.iter().map(|(n, _)| *n).collect();
        let py = format!(
            "import os; print('\\n'.join(os.environb.get(n.encode(), b'<unset>').hex() for n in '{}'.split()))",
            wanted.join(" ")
        );
        let command = format!("{source} {}; python3 -c \"{py}\"", file.display());
        let out = Command::new(shell)
            .arg("-c")
            .arg(&command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{shell} must be installed: {e}"));
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<Vec<u8>> = String::from_utf8(out.stdout)
            .expect("hex")
            .lines()
            .map(|l| hex::decode(l).unwrap_or_else(|_| panic!("{shell}: unset: {l}")))
            .collect();
        assert_eq!(got.len(), accepted.len());
        for ((_, value), bytes) in accepted.iter().zip(got) {
            assert_eq!(
                bytes,
                value.as_bytes(),
                "{shell} ({}) changed {value:?}",
                format.name()
            );
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
        #![proptest_config(fixed(24))]

        #[test]
        fn arbitrary_values_round_trip_through_the_real_shells(
            values in proptest::collection::vec(value(), 1..12)
        ) {
            for shell in ["bash", "zsh", "dash"] {
                check(ShellFormat::Sh, shell, ".", &values);
            }
            check(ShellFormat::Fish, "fish", "source", &values);
            // A dotenv file sourced by a shell with every variable exported, as `set -a` does.
            check(ShellFormat::Dotenv, "bash", "set -a; .", &values);
            check(ShellFormat::Dotenv, "dash", "set -a; .", &values);
        }
    }
}
