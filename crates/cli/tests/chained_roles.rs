//! Roles chained from an SSO role (the config's `[[chain]]`) are roles like the others for the
//! CLI: listed under their account, resolved by their name in `env`, `whoami`,
//! `credential-process` and `profiles`, and capped at one hour.

mod support;

use std::time::{Duration, SystemTime};

use idc_sim::Organisation;
use rolecall_engine::config::{ConfigFile, RoleChain};
use support::Machine;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_is_a_role_of_its_account_for_every_command() {
    let m = Machine::new(Organisation::demo(), "chains").await;
    m.signed_in(&[]).await;
    let listing = m.ok(&["--no-agent", "ls", "--json"], &[]).await;
    let accounts: serde_json::Value = serde_json::from_slice(&listing.stdout).expect("json");
    let account_id = accounts
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"]["account_name"] == "payments-prod")
        .and_then(|a| a["account"]["account_id"].as_str())
        .expect("payments-prod")
        .to_owned();
    ConfigFile::in_dir(&m.path("rolecall/config"))
        .update(|c| {
            c.chains.push(RoleChain {
                name: "deploy".into(),
                session: "chains".into(),
                account_id: account_id.clone(),
                role: "AdministratorAccess".into(),
                role_arn: format!("arn:aws:iam::{account_id}:role/Deployer"),
            })
        })
        .expect("chain added");

    let ls = m.ok(&["--no-agent", "ls"], &[]).await;
    assert!(
        text(&ls.stdout).contains("deploy (chained from AdministratorAccess)"),
        "{}",
        text(&ls.stdout)
    );
    let who = m
        .ok(&["--no-agent", "whoami", "payments-prod", "deploy"], &[])
        .await;
    let arn = text(&who.stdout);
    assert!(
        arn.contains(&format!("arn:aws:sts::{account_id}:assumed-role/Deployer/")),
        "{arn}"
    );

    let process = m
        .ok(
            &[
                "--no-agent",
                "credential-process",
                "payments-prod",
                "deploy",
            ],
            &[],
        )
        .await;
    let creds: serde_json::Value = serde_json::from_slice(&process.stdout).expect("json");
    let expiration = time::OffsetDateTime::parse(
        creds["Expiration"].as_str().expect("expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let left = SystemTime::from(expiration)
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    assert!(
        left <= Duration::from_secs(3600),
        "chained credentials last an hour at most: {left:?}"
    );

    let env = m
        .ok(&["--no-agent", "env", "payments-prod", "DEPLOY"], &[])
        .await;
    assert!(
        text(&env.stdout).contains("AWS_SESSION_TOKEN"),
        "the chain's name, ignoring case"
    );

    m.ok(
        &["--no-agent", "profiles", "--role", "payments-prod/deploy"],
        &[],
    )
    .await;
    let config = std::fs::read_to_string(m.path("home/.aws/config")).expect("aws config");
    assert!(
        config.contains("[profile payments-prod.deploy]"),
        "{config}"
    );
    assert!(
        config.contains(&format!(
            "credential-process --session chains {account_id} deploy"
        )),
        "{config}"
    );

    let unknown = m
        .run(&["--no-agent", "env", "payments-prod", "deplo"], &[])
        .await;
    assert_eq!(unknown.status.code(), Some(4));
    assert!(
        text(&unknown.stderr).contains("deploy (chained)"),
        "{}",
        text(&unknown.stderr)
    );
}
