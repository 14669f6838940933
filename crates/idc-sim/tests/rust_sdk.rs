//! Fidelity: the AWS SDK for Rust (aws-sdk-ssooidc, aws-sdk-sso, aws-sdk-sts), which nobody here
//! wrote, talks to the simulator exactly as it would to IAM Identity Center.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_ssooidc::error::ProvideErrorMetadata;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use idc_sim::{Organisation, SimOptions, Simulator};

/// The SDK's HTTPS client on rustls with ring (its default would bring aws-lc).
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn oidc(sim: &Simulator) -> aws_sdk_ssooidc::Client {
    aws_sdk_ssooidc::Client::from_conf(
        aws_sdk_ssooidc::Config::builder()
            .http_client(https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(&sim.endpoints().oidc)
            .build(),
    )
}

fn portal(sim: &Simulator, retries: bool) -> aws_sdk_sso::Client {
    let retry = if retries {
        RetryConfig::standard()
    } else {
        RetryConfig::disabled()
    };
    aws_sdk_sso::Client::from_conf(
        aws_sdk_sso::Config::builder()
            .http_client(https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(&sim.endpoints().portal)
            .retry_config(retry)
            .build(),
    )
}

fn sts(sim: &Simulator, creds: Credentials) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .http_client(https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(&sim.endpoints().sts)
            .credentials_provider(creds)
            .build(),
    )
}

async fn start(org: Organisation, tweak: impl FnOnce(&mut SimOptions)) -> Simulator {
    let mut options = SimOptions::new(org);
    tweak(&mut options);
    Simulator::start(options).await.expect("simulator starts")
}

struct Client {
    id: String,
    secret: String,
}

async fn register(sim: &Simulator, scopes: &[&str]) -> Client {
    let mut req = oidc(sim)
        .register_client()
        .client_name("rolecall-test")
        .client_type("public");
    for s in scopes {
        req = req.scopes(*s);
    }
    let out = req.send().await.expect("RegisterClient");
    assert!(out.client_secret_expires_at() > out.client_id_issued_at());
    Client {
        id: out.client_id().expect("id").into(),
        secret: out.client_secret().expect("secret").into(),
    }
}

/// Signs in with the device flow, approving through the simulator; returns the token answer.
async fn device_sign_in(
    sim: &Simulator,
    client: &Client,
) -> aws_sdk_ssooidc::operation::create_token::CreateTokenOutput {
    let start = oidc(sim)
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url(&sim.endpoints().start_url)
        .send()
        .await
        .expect("StartDeviceAuthorization");
    let user_code = start.user_code().expect("user code").to_owned();
    assert_eq!(start.interval(), 1);
    sim.approve(&user_code).expect("approve");
    oidc(sim)
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(start.device_code().expect("device code"))
        .send()
        .await
        .expect("CreateToken")
}

#[tokio::test]
async fn device_flow_paginators_credentials_sts_and_logout() {
    let sim = start(Organisation::generated(130, 3), |_| {}).await;
    let client = register(&sim, &["sso:account:access"]).await;

    // Polling before the person approves: authorization_pending, then slow_down when too fast.
    let start = oidc(&sim)
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url(&sim.endpoints().start_url)
        .send()
        .await
        .expect("StartDeviceAuthorization");
    let poll = || {
        oidc(&sim)
            .create_token()
            .client_id(&client.id)
            .client_secret(&client.secret)
            .grant_type(DEVICE_GRANT)
            .device_code(start.device_code().expect("device code"))
            .send()
    };
    let err = poll().await.expect_err("pending").into_service_error();
    assert!(err.is_authorization_pending_exception(), "{err:?}");
    let err = poll().await.expect_err("too fast").into_service_error();
    assert!(err.is_slow_down_exception(), "{err:?}");
    sim.approve(start.user_code().expect("code"))
        .expect("approve");
    // slow_down added 5 s to the interval for good: polling after 1 s is still too fast,
    // and that second slow_down adds 5 s more (1 + 5 + 5 = 11 s).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        poll()
            .await
            .expect_err("still too fast")
            .into_service_error()
            .is_slow_down_exception()
    );
    tokio::time::sleep(Duration::from_millis(11_100)).await;
    let token = poll().await.expect("token after approval");
    assert_eq!(token.token_type(), Some("Bearer"));
    assert!(
        token.refresh_token().is_some(),
        "sso:account:access gives a refresh token"
    );
    assert_eq!(token.expires_in(), 3600);
    let access = token.access_token().expect("access token").to_owned();

    // The device code is single use.
    assert!(
        poll()
            .await
            .expect_err("used")
            .into_service_error()
            .is_invalid_grant_exception()
    );

    // Paginators walk every account and role.
    let portal = portal(&sim, true);
    let accounts: Vec<_> = portal
        .list_accounts()
        .access_token(&access)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListAccounts pages");
    assert_eq!(accounts.len(), 130);
    let first = accounts[0].account_id().expect("id").to_owned();
    let roles: Vec<_> = portal
        .list_account_roles()
        .access_token(&access)
        .account_id(&first)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListAccountRoles pages");
    let names: Vec<_> = roles.iter().filter_map(|r| r.role_name()).collect();
    assert_eq!(names, ["Role00", "Role01", "Role02"]);

    let creds = portal
        .get_role_credentials()
        .access_token(&access)
        .account_id(&first)
        .role_name("Role01")
        .send()
        .await
        .expect("GetRoleCredentials")
        .role_credentials
        .expect("credentials");
    let expiration_ms = creds.expiration();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as i64;
    assert!(
        (expiration_ms - now_ms - 3_600_000).abs() < 10_000,
        "epoch milliseconds, one hour out"
    );
    let not_assigned = portal
        .get_role_credentials()
        .access_token(&access)
        .account_id(&first)
        .role_name("Role99")
        .send()
        .await
        .expect_err("not assigned");
    assert_eq!(not_assigned.code(), Some("ForbiddenException"));

    let identity = sts(
        &sim,
        Credentials::new(
            creds.access_key_id().expect("akid"),
            creds.secret_access_key().expect("secret"),
            creds.session_token().map(str::to_owned),
            None,
            "portal",
        ),
    )
    .get_caller_identity()
    .send()
    .await
    .expect("GetCallerIdentity");
    assert_eq!(identity.account(), Some(first.as_str()));
    let arn = identity.arn().expect("arn");
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{first}:assumed-role/AWSReservedSSO_Role01_"
        )),
        "{arn}"
    );
    assert!(arn.ends_with("/ada@example.com"), "{arn}");

    // Logout (an empty POST) ends the session; the token is refused afterwards.
    portal
        .logout()
        .access_token(&access)
        .send()
        .await
        .expect("Logout");
    let after = portal
        .list_accounts()
        .access_token(&access)
        .send()
        .await
        .expect_err("logged out");
    assert!(after.into_service_error().is_unauthorized_exception());
    assert_eq!(sim.stats().operations.get("Logout"), Some(&1));
}

#[tokio::test]
async fn refresh_and_legacy_tokens() {
    let sim = start(Organisation::demo(), |_| {}).await;
    let client = register(&sim, &["sso:account:access"]).await;
    let token = device_sign_in(&sim, &client).await;
    let refreshed = oidc(&sim)
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("refresh_token")
        .refresh_token(token.refresh_token().expect("refresh token"))
        .send()
        .await
        .expect("refresh grant");
    assert_ne!(refreshed.access_token(), token.access_token());
    portal(&sim, false)
        .list_accounts()
        .access_token(refreshed.access_token().expect("token"))
        .send()
        .await
        .expect("refreshed token works");
    assert_eq!(sim.stats().refreshes, 1);

    // After the sessions are revoked the refresh token is refused with invalid_grant.
    sim.revoke_all_tokens();
    let err = oidc(&sim)
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type("refresh_token")
        .refresh_token(token.refresh_token().expect("refresh token"))
        .send()
        .await
        .expect_err("revoked");
    assert!(err.into_service_error().is_invalid_grant_exception());

    // No scopes: a legacy eight-hour token without refresh.
    let legacy = register(&sim, &[]).await;
    let token = device_sign_in(&sim, &legacy).await;
    assert!(token.refresh_token().is_none());
    assert_eq!(token.expires_in(), 8 * 3600);
}

#[tokio::test]
async fn denial_expiry_bad_client_and_wrong_start_url() {
    let sim = start(Organisation::demo(), |o| {
        o.device_code_ttl = Duration::from_secs(1)
    })
    .await;
    let client = register(&sim, &["sso:account:access"]).await;
    let begin = || {
        oidc(&sim)
            .start_device_authorization()
            .client_id(&client.id)
            .client_secret(&client.secret)
            .start_url(&sim.endpoints().start_url)
            .send()
    };
    let denied = begin().await.expect("start");
    sim.deny(denied.user_code().expect("code")).expect("deny");
    let err = oidc(&sim)
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(denied.device_code().expect("dc"))
        .send()
        .await
        .expect_err("denied")
        .into_service_error();
    assert!(err.is_access_denied_exception(), "{err:?}");

    let expiring = begin().await.expect("start");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let err = oidc(&sim)
        .create_token()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .grant_type(DEVICE_GRANT)
        .device_code(expiring.device_code().expect("dc"))
        .send()
        .await
        .expect_err("expired")
        .into_service_error();
    assert!(err.is_expired_token_exception(), "{err:?}");

    let mut tampered = client.secret.clone();
    tampered.push('x');
    let err = oidc(&sim)
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(tampered)
        .start_url(&sim.endpoints().start_url)
        .send()
        .await
        .expect_err("bad secret");
    let raw_status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw_status, Some(401));
    assert!(err.into_service_error().is_invalid_client_exception());

    let err = oidc(&sim)
        .start_device_authorization()
        .client_id(&client.id)
        .client_secret(&client.secret)
        .start_url("https://d-0000000000.awsapps.com/start")
        .send()
        .await
        .expect_err("wrong start url");
    assert!(err.into_service_error().is_invalid_request_exception());
}

#[tokio::test]
async fn registrations_survive_a_restart() {
    let first = start(Organisation::demo(), |_| {}).await;
    let client = register(&first, &["sso:account:access"]).await;
    first.stop().await;
    let second = start(Organisation::demo(), |_| {}).await;
    device_sign_in(&second, &client).await;
}

#[tokio::test]
async fn pkce_authorization_code_grant() {
    let sim = start(Organisation::demo(), |_| {}).await;
    let reg = oidc(&sim)
        .register_client()
        .client_name("rolecall-pkce")
        .client_type("public")
        .scopes("sso:account:access")
        .grant_types("authorization_code")
        .grant_types("refresh_token")
        .redirect_uris("http://127.0.0.1/oauth/callback")
        .issuer_url(&sim.endpoints().start_url)
        .send()
        .await
        .expect("RegisterClient");
    let client_id = reg.client_id().expect("id");
    let verifier = "a-verifier-that-is-long-enough-to-be-valid-0123456789abcdef";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    };
    let redirect = "http://127.0.0.1:49152/oauth/callback";
    let mut authorize =
        url::Url::parse(&format!("{}/authorize", sim.endpoints().oidc)).expect("url");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "state-123")
        .append_pair("code_challenge_method", "S256")
        .append_pair("scopes", "sso:account:access")
        .append_pair("code_challenge", &challenge);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let page = http
        .get(authorize.as_str())
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("request id on the page");
    let answer = http
        .post(format!("{}/authorize", sim.endpoints().oidc))
        .form(&[("request_id", request_id), ("decision", "approve")])
        .send()
        .await
        .expect("approve");
    assert_eq!(answer.status(), 302);
    let location =
        url::Url::parse(answer.headers()["location"].to_str().expect("ascii")).expect("location");
    assert!(location.as_str().starts_with(redirect));
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "state-123");
    let code = &params["code"];

    let create = |verifier: &str| {
        oidc(&sim)
            .create_token()
            .client_id(client_id)
            .client_secret(reg.client_secret().expect("secret"))
            .grant_type("authorization_code")
            .code(code)
            .redirect_uri(redirect)
            .code_verifier(verifier)
            .send()
    };
    let err = create("the-wrong-verifier")
        .await
        .expect_err("PKCE fails")
        .into_service_error();
    assert!(err.is_invalid_grant_exception());
    // The code was used up by the failed attempt: a real attacker gets one try.
    let err = create(verifier)
        .await
        .expect_err("single use")
        .into_service_error();
    assert!(err.is_invalid_grant_exception());

    // A second round, done right.
    let page = http
        .get(authorize.as_str())
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("id");
    let answer = http
        .post(format!("{}/authorize", sim.endpoints().oidc))
        .form(&[("request_id", request_id), ("decision", "approve")])
        .send()
        .await
        .expect("approve");
    let location =
        url::Url::parse(answer.headers()["location"].to_str().expect("ascii")).expect("location");
    let code: String = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let token = oidc(&sim)
        .create_token()
        .client_id(client_id)
        .client_secret(reg.client_secret().expect("secret"))
        .grant_type("authorization_code")
        .code(code)
        .redirect_uri(redirect)
        .code_verifier(verifier)
        .send()
        .await
        .expect("token");
    assert!(token.refresh_token().is_some());
}

async fn sso_credentials(sim: &Simulator, account: &str, role: &str) -> Credentials {
    let client = register(sim, &["sso:account:access"]).await;
    let token = device_sign_in(sim, &client).await;
    let c = portal(sim, false)
        .get_role_credentials()
        .access_token(token.access_token().expect("token"))
        .account_id(account)
        .role_name(role)
        .send()
        .await
        .expect("GetRoleCredentials")
        .role_credentials
        .expect("credentials");
    Credentials::new(
        c.access_key_id().expect("akid"),
        c.secret_access_key().expect("secret"),
        c.session_token().map(str::to_owned),
        None,
        "portal",
    )
}

#[tokio::test]
async fn sts_role_chaining_and_signature_errors() {
    let sim = start(Organisation::generated(3, 2), |o| {
        o.role_credentials_ttl = Duration::from_secs(2)
    })
    .await;
    let creds = sso_credentials(&sim, "100000000001", "Role00").await;
    let client = sts(&sim, creds.clone());
    let target = "arn:aws:iam::100000000002:role/OrganizationAccountAccessRole";

    let too_long = client
        .assume_role()
        .role_arn(target)
        .role_session_name("rolecall")
        .duration_seconds(7200)
        .send()
        .await
        .expect_err("chaining is capped at one hour");
    assert_eq!(too_long.code(), Some("ValidationError"));
    let denied = client
        .assume_role()
        .role_arn("arn:aws:iam::100000000002:role/NotThere")
        .role_session_name("rolecall")
        .send()
        .await
        .expect_err("no such chain role");
    assert_eq!(denied.code(), Some("AccessDenied"));

    let chained = client
        .assume_role()
        .role_arn(target)
        .role_session_name("rolecall")
        .duration_seconds(3600)
        .send()
        .await
        .expect("AssumeRole");
    let c = chained.credentials().expect("credentials");
    let chained_identity = sts(
        &sim,
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "chained",
        ),
    )
    .get_caller_identity()
    .send()
    .await
    .expect("chained GetCallerIdentity");
    assert_eq!(
        chained_identity.arn(),
        Some("arn:aws:sts::100000000002:assumed-role/OrganizationAccountAccessRole/rolecall")
    );

    let wrong_secret = Credentials::new(
        creds.access_key_id(),
        "not-the-secret",
        creds.session_token().map(str::to_owned),
        None,
        "bad",
    );
    let err = sts(&sim, wrong_secret)
        .get_caller_identity()
        .send()
        .await
        .expect_err("bad signature");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    let unknown = Credentials::new(
        "ASIAUNKNOWNUNKNOWN00",
        "x",
        Some("y".into()),
        None,
        "unknown",
    );
    let err = sts(&sim, unknown)
        .get_caller_identity()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(err.code(), Some("InvalidClientTokenId"));

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = client
        .get_caller_identity()
        .send()
        .await
        .expect_err("expired");
    assert_eq!(err.code(), Some("ExpiredToken"));
}

#[tokio::test]
async fn portal_throttles_past_the_rate() {
    let sim = start(Organisation::generated(5, 1), |o| {
        o.portal_rps = std::num::NonZeroU32::new(2)
    })
    .await;
    let client = register(&sim, &["sso:account:access"]).await;
    let token = device_sign_in(&sim, &client).await;
    let portal = portal(&sim, false);
    let mut throttled = 0;
    for _ in 0..5 {
        if let Err(e) = portal
            .list_accounts()
            .access_token(token.access_token().expect("t"))
            .send()
            .await
        {
            assert_eq!(e.code(), Some("TooManyRequestsException"));
            throttled += 1;
        }
    }
    assert!(
        throttled >= 3,
        "five requests at once against 2/s with burst 1: {throttled} throttled"
    );
    assert_eq!(sim.stats().throttled, throttled);
}

#[tokio::test]
async fn injected_faults_are_retried_by_the_sdk() {
    let sim = start(Organisation::generated(5, 1), |_| {}).await;
    let client = register(&sim, &["sso:account:access"]).await;
    let token = device_sign_in(&sim, &client).await;
    sim.set_fail_rate(1.0);
    let err = portal(&sim, false)
        .list_accounts()
        .access_token(token.access_token().expect("t"))
        .send()
        .await
        .expect_err("5xx");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    sim.set_fail_rate(0.0);
    portal(&sim, true)
        .list_accounts()
        .access_token(token.access_token().expect("t"))
        .send()
        .await
        .expect("recovered");
}

#[tokio::test]
async fn console_federation() {
    let sim = start(Organisation::generated(2, 1), |_| {}).await;
    let creds = sso_credentials(&sim, "100000000001", "Role00").await;
    let http = reqwest::Client::new();
    let session = serde_json::json!({
        "sessionId": creds.access_key_id(),
        "sessionKey": creds.secret_access_key(),
        "sessionToken": creds.session_token(),
    })
    .to_string();
    let fed = &sim.endpoints().federation;
    let bad = http
        .get(fed)
        .query(&[
            ("Action", "getSigninToken"),
            ("SessionDuration", "60"),
            ("Session", session.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 400, "SessionDuration below 900 is refused");
    let token: serde_json::Value = http
        .get(fed)
        .query(&[
            ("Action", "getSigninToken"),
            ("SessionDuration", "3600"),
            ("Session", session.as_str()),
        ])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let signin = token["SigninToken"].as_str().expect("token");
    let destination =
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:";
    let page = http
        .get(fed)
        .query(&[
            ("Action", "login"),
            ("Issuer", "rolecall"),
            ("Destination", destination),
            ("SigninToken", signin),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("page");
    assert!(page.contains("<span id=\"account-id\">100000000001</span>"));
    assert!(page.contains("<dd id=\"role\">Role00</dd>"));
    assert!(page.contains("ec2/home?region=eu-west-1#Instances:"));
}

/// `GET /_sim/issued-secrets` hands every secret out, so it answers only a simulator started
/// to (tests in other processes); any other simulator, the demo's included, says 404.
#[tokio::test]
async fn issued_secrets_are_served_only_when_asked_for() {
    let http = reqwest::Client::new();
    let plain = start(Organisation::demo(), |_| {}).await;
    let url = |sim: &Simulator| format!("{}/_sim/issued-secrets", sim.endpoints().base);
    let refused = http.get(url(&plain)).send().await.expect("answered");
    assert_eq!(refused.status(), 404);

    let exposed = start(Organisation::demo(), |o| o.expose_issued_secrets = true).await;
    let client = register(&exposed, &[]).await;
    let token = device_sign_in(&exposed, &client).await;
    let served: Vec<String> = http
        .get(url(&exposed))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a JSON list");
    assert_eq!(served, exposed.issued_secrets());
    assert!(served.contains(&client.secret));
    assert!(served.contains(&token.access_token().expect("token").to_owned()));
}
