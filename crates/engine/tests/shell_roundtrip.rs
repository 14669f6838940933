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
