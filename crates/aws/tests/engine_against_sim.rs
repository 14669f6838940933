//! The engine, through the real AWS SDK adapters, against the simulator: sign-in (device code
//! and PKCE), refresh, sign-out, the catalogue sweep under throttling, faults and revocation,
//! the vault (single fetch, expiry, renewal, chaining, verify) and console URLs.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use idc_sim::{Organisation, SimOptions, Simulator};
use rolecall_aws::HttpsConnector;
use rolecall_engine::api::AwsConnector;
use rolecall_engine::catalog::{SweepError, SweepEvent, SweepOptions, sweep};
use rolecall_engine::clock::{Clock, FakeClock, SystemClock};
use rolecall_engine::console::{ConsoleRequest, console_url};
use rolecall_engine::session::{Endpoints, SsoSession};
use rolecall_engine::signin::{SignIn, SignInError, SignInEvent, SignInMethod, SignInOptions};
use rolecall_engine::token_store::{MemoryStore, TokenStore};
use rolecall_engine::vault::{CredentialVault, RoleKey, VaultEvent, VaultOptions};

struct Rig {
    sim: Simulator,
    session: SsoSession,
    connector: Arc<HttpsConnector>,
    store: Arc<MemoryStore>,
    signin: Arc<SignIn>,
}

async fn rig(org: Organisation, tweak: impl FnOnce(&mut SimOptions)) -> Rig {
    let mut options = SimOptions::new(org);
    tweak(&mut options);
    let sim = Simulator::start(options).await.expect("simulator");
    let e = sim.endpoints().clone();
    let session = SsoSession {
        name: "sim".into(),
        start_url: e.start_url.clone(),
        region: "us-east-1".parse().expect("region"),
        endpoints: Endpoints {
            oidc: Some(e.oidc.clone()),
            portal: Some(e.portal.clone()),
            sts: Some(e.sts.clone()),
            federation: Some(e.federation.clone()),
            iam: Some(e.iam.clone()),
        },
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    };
    let connector = Arc::new(HttpsConnector::new());
    let store = Arc::new(MemoryStore::default());
    let signin = Arc::new(SignIn::new(
        connector.clone(),
        store.clone(),
        Arc::new(SystemClock),
        SignInOptions::default(),
    ));
    Rig {
        sim,
        session,
        connector,
        store,
        signin,
    }
}

impl Rig {
    /// Device sign-in, approved on the simulator as soon as the code is shown.
    async fn device_sign_in(&self) -> Result<std::time::SystemTime, SignInError> {
        let mut events = self.signin.subscribe();
        let signin = self.signin.clone();
        let session = self.session.clone();
        let task =
            tokio::spawn(async move { signin.sign_in(&session, SignInMethod::DeviceCode).await });
        loop {
            match events.recv().await.expect("events") {
                SignInEvent::DeviceCode {
                    user_code,
                    verification_uri,
                    ..
                } => {
                    assert!(verification_uri.ends_with("/oidc/device"));
                    self.sim.approve(&user_code).expect("approve");
                    break;
                }
                SignInEvent::Failed { .. } => break,
                _ => {}
            }
        }
        task.await.expect("joined")
    }

    fn vault(&self, options: VaultOptions) -> CredentialVault {
        CredentialVault::new(
            self.signin.clone(),
            self.connector.clone(),
            Arc::new(SystemClock),
            options,
        )
    }
}

#[tokio::test]
async fn device_sign_in_refresh_and_sign_out() {
    let r = rig(Organisation::demo(), |o| {
        o.access_token_ttl = Duration::from_secs(120)
    })
    .await;
    assert!(matches!(
        r.signin.access_token(&r.session).await,
        Err(SignInError::SignInRequired(_))
    ));
    r.device_sign_in().await.expect("signed in");
    assert!(r.signin.status(&r.session).signed_in);
    assert!(
        r.store.load("sim").expect("store").is_some(),
        "kept in the token store"
    );

    // 120 s tokens are inside the 5-minute refresh window: asking refreshes.
    let first = r.signin.access_token(&r.session).await.expect("token");
    assert_eq!(r.sim.stats().refreshes, 1);
    let second = r.signin.access_token(&r.session).await.expect("token");
    assert_ne!(first.expose(), second.expose());

    r.signin.sign_out(&r.session).await;
    assert_eq!(r.sim.stats().operations.get("Logout"), Some(&1));
    assert!(
        r.store.load("sim").expect("store").is_none(),
        "removed from the store"
    );
    assert!(matches!(
        r.signin.access_token(&r.session).await,
        Err(SignInError::SignInRequired(_))
    ));
}

#[tokio::test]
async fn a_second_caller_waits_for_the_sign_in_under_way() {
    let r = rig(Organisation::demo(), |_| {}).await;
    let mut events = r.signin.subscribe();
    let (a, b) = (r.signin.clone(), r.signin.clone());
    let (s1, s2) = (r.session.clone(), r.session.clone());
    let first = tokio::spawn(async move { a.sign_in(&s1, SignInMethod::DeviceCode).await });
    let code = loop {
        if let SignInEvent::DeviceCode { user_code, .. } = events.recv().await.expect("event") {
            break user_code;
        }
    };
    let second = tokio::spawn(async move { b.sign_in(&s2, SignInMethod::DeviceCode).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    r.sim.approve(&code).expect("approve");
    let (x, y) = (first.await.expect("join"), second.await.expect("join"));
    assert_eq!(x.expect("first"), y.expect("second"));
    assert_eq!(
        r.sim.stats().operations.get("StartDeviceAuthorization"),
        Some(&1)
    );
}

#[tokio::test]
async fn denial_expiry_and_cancel() {
    let r = rig(Organisation::demo(), |o| {
        o.device_code_ttl = Duration::from_secs(2)
    })
    .await;
    r.sim.deny_next_approval();
    assert_eq!(r.device_sign_in().await, Err(SignInError::Denied));

    // Nobody approves: the device code expires.
    let result = r.signin.sign_in(&r.session, SignInMethod::DeviceCode).await;
    assert_eq!(result, Err(SignInError::Expired));

    let signin = r.signin.clone();
    let session = r.session.clone();
    let task =
        tokio::spawn(async move { signin.sign_in(&session, SignInMethod::DeviceCode).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.signin.cancel("sim");
    assert_eq!(task.await.expect("join"), Err(SignInError::Cancelled));
}

#[tokio::test]
async fn pkce_sign_in_through_the_browser_pages() {
    let r = rig(Organisation::demo(), |_| {}).await;
    let mut events = r.signin.subscribe();
    let signin = r.signin.clone();
    let session = r.session.clone();
    let task = tokio::spawn(async move { signin.sign_in(&session, SignInMethod::Pkce).await });
    let url = loop {
        if let SignInEvent::OpenBrowser { url, .. } = events.recv().await.expect("event") {
            break url;
        }
    };
    // What the person's browser does: open the page, click Allow, follow the redirect to the
    // loopback listener.
    let browser = reqwest::Client::new();
    let page = browser
        .get(&url)
        .send()
        .await
        .expect("authorize page")
        .text()
        .await
        .expect("html");
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("id");
    let landing = browser
        .post(format!("{}/authorize", r.sim.endpoints().oidc))
        .form(&[("request_id", request_id), ("decision", "approve")])
        .send()
        .await
        .expect("approve and follow the redirect");
    assert!(landing.url().as_str().starts_with("http://127.0.0.1:"));
    assert!(landing.text().await.expect("page").contains("Signed in"));
    task.await.expect("join").expect("signed in with PKCE");
    assert!(
        r.store
            .load("sim")
            .expect("store")
            .expect("stored")
            .refresh_token
            .is_some()
    );
}

#[tokio::test]
async fn network_gone_and_wrong_start_url() {
    let r = rig(Organisation::demo(), |_| {}).await;
    let mut wrong = r.session.clone();
    wrong.start_url = "https://d-0000000000.awsapps.com/start".into();
    let err = r
        .signin
        .sign_in(&wrong, SignInMethod::DeviceCode)
        .await
        .expect_err("wrong start url");
    assert_eq!(err.code(), "start_url_rejected");
    assert!(
        err.to_string()
            .contains("is not the start URL of this directory"),
        "the service's own words: {err}"
    );

    let port = r.sim.addr().port();
    r.sim.stop().await;
    let mut gone = r.session.clone();
    gone.name = "gone".into();
    let err = r
        .signin
        .sign_in(&gone, SignInMethod::DeviceCode)
        .await
        .expect_err("nothing listens");
    assert_eq!(err.code(), "network", "{err}");
    assert!(
        err.to_string().contains("cannot reach"),
        "{err} (port {port})"
    );
}

fn sweep_options(rps: u32) -> SweepOptions {
    SweepOptions {
        requests_per_second: NonZeroU32::new(rps).expect("nonzero"),
        min_backoff: Duration::from_millis(50),
        ..SweepOptions::default()
    }
}

#[tokio::test]
async fn sweep_streams_every_account_through_a_429_storm_and_5xx() {
    // The client is allowed 60/s, the portal only 15/s: a storm of 429s, and a fifth of the
    // answers are injected 500s. Not one account may be lost.
    let r = rig(Organisation::generated(120, 3), |o| {
        o.portal_rps = NonZeroU32::new(15)
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    // Faults from here on: this test is about the sweep, not the sign-in.
    r.sim.set_fail_rate(0.2);
    let token = r.signin.access_token(&r.session).await.expect("token");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SweepOptions {
        max_attempts: 30,
        ..sweep_options(60)
    };
    let (catalog, stats) = sweep(
        "sim",
        r.connector.portal(&r.session),
        token,
        options,
        Some(tx),
        std::time::SystemTime::now(),
    )
    .await
    .expect("sweep");
    assert_eq!(catalog.accounts.len(), 120);
    assert_eq!(catalog.role_count(), 360);
    assert!(r.sim.stats().throttled > 0 && r.sim.stats().injected_failures > 0);
    assert!(stats.retries > 0);
    let mut streamed = 0;
    let mut last_progress = None;
    let mut retries_announced = 0;
    while let Ok(event) = rx.try_recv() {
        match event {
            SweepEvent::Account(_) => streamed += 1,
            SweepEvent::Progress {
                done,
                total,
                total_known,
            } => last_progress = Some((done, total, total_known)),
            SweepEvent::Retrying { .. } => retries_announced += 1,
        }
    }
    assert_eq!(
        retries_announced as u64, stats.retries,
        "every retry is announced as it is decided"
    );
    assert_eq!(streamed, 120);
    assert_eq!(last_progress, Some((120, 120, true)));
}

#[tokio::test]
async fn a_token_revoked_mid_sweep_stops_it_with_sign_in_required() {
    let r = rig(Organisation::generated(200, 2), |_| {}).await;
    r.device_sign_in().await.expect("signed in");
    let token = r.signin.access_token(&r.session).await.expect("token");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let portal = r.connector.portal(&r.session);
    let task = tokio::spawn(async move {
        sweep(
            "sim",
            portal,
            token,
            sweep_options(100),
            Some(tx),
            std::time::SystemTime::now(),
        )
        .await
    });
    // Revoke once the first accounts are in.
    loop {
        if let Some(SweepEvent::Account(_)) = rx.recv().await {
            break;
        }
    }
    r.sim.revoke_all_tokens();
    let result = task.await.expect("join");
    assert_eq!(result.expect_err("revoked"), SweepError::SignInRequired);
}

#[tokio::test]
async fn vault_fetches_once_verifies_chains_and_opens_the_console() {
    let r = rig(Organisation::generated(3, 2), |_| {}).await;
    r.device_sign_in().await.expect("signed in");
    let vault = r.vault(VaultOptions::default());
    let key = RoleKey::new("sim", "100000000001", "Role01");
    let gets: Vec<_> = (0..8)
        .map(|_| {
            let (v, s, k) = (vault.clone(), r.session.clone(), key.clone());
            tokio::spawn(async move { v.get(&s, &k).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for g in gets {
        ids.insert(g.await.expect("join").expect("credentials").access_key_id);
    }
    assert_eq!(ids.len(), 1, "eight callers, one set of credentials");
    assert_eq!(r.sim.stats().operations.get("GetRoleCredentials"), Some(&1));
    assert_eq!(vault.active().len(), 1);

    let me = vault
        .verify(&r.session, &key)
        .await
        .expect("GetCallerIdentity");
    assert_eq!(me.account, "100000000001");
    assert!(me.arn.contains("AWSReservedSSO_Role01_"));

    let chained = key.chained("arn:aws:iam::100000000002:role/OrganizationAccountAccessRole");
    let who = vault.verify(&r.session, &chained).await.expect("chained");
    assert_eq!(
        who.arn,
        "arn:aws:sts::100000000002:assumed-role/OrganizationAccountAccessRole/rolecall"
    );

    let not_assigned = vault
        .get(&r.session, &RoleKey::new("sim", "100000000001", "Nope"))
        .await
        .expect_err("403");
    assert_eq!(not_assigned.code(), "forbidden");

    // The console: the simulator's federation endpoint signs in and names account and role.
    let federation = r.connector.federation();
    let creds = vault.get(&r.session, &key).await.expect("held");
    let mut request = ConsoleRequest::new("eu-west-1".parse().expect("region"));
    request.service = Some("ec2".into());
    request.federation_url = r.session.federation_url();
    let url = console_url(federation.as_ref(), &creds, &request)
        .await
        .expect("console url");
    let page = reqwest::get(url.expose())
        .await
        .expect("login")
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("<span id=\"account-id\">100000000001</span>"),
        "{page}"
    );
    assert!(page.contains("<dd id=\"role\">Role01</dd>"));
    assert!(page.contains("https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"));

    // Chained credentials: no SessionDuration (the endpoint would refuse it).
    let chained_creds = vault.get(&r.session, &chained).await.expect("chained held");
    request.chained = true;
    let url = console_url(federation.as_ref(), &chained_creds, &request)
        .await
        .expect("chained console url");
    let page = reqwest::get(url.expose())
        .await
        .expect("login")
        .text()
        .await
        .expect("page");
    assert!(page.contains("<dd id=\"role\">OrganizationAccountAccessRole</dd>"));
    request.chained = false;
    let refused = console_url(federation.as_ref(), &chained_creds, &request)
        .await
        .expect_err("duration refused");
    assert!(refused.to_string().contains("SessionDuration"), "{refused}");

    vault.forget(&key);
    assert!(
        vault.active().is_empty(),
        "forgetting a role forgets what was chained from it"
    );
}

/// A fake clock on Rolecall's side and the simulator's clock moved together: an hour of
/// credentials passes in no time, and expiry is tested without waiting for it.
#[tokio::test]
async fn credentials_warn_expire_and_renew_on_a_fake_clock() {
    let mut options = SimOptions::new(Organisation::generated(2, 1));
    options.auto_approve_after = Some(0);
    let sim = Simulator::start(options).await.expect("simulator");
    let clock = FakeClock::new(sim.now());
    let advance = |by: Duration| {
        clock.advance(by);
        sim.advance(by);
    };
    let e = sim.endpoints().clone();
    let session = SsoSession {
        name: "sim".into(),
        start_url: e.start_url.clone(),
        region: "us-east-1".parse().expect("region"),
        endpoints: Endpoints {
            oidc: Some(e.oidc.clone()),
            portal: Some(e.portal.clone()),
            sts: Some(e.sts.clone()),
            federation: Some(e.federation.clone()),
            iam: Some(e.iam.clone()),
        },
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    };
    let connector = Arc::new(HttpsConnector::new());
    let signin = Arc::new(SignIn::new(
        connector.clone(),
        Arc::new(MemoryStore::default()),
        Arc::new(clock.clone()),
        SignInOptions::default(),
    ));
    let (s, sess) = (signin.clone(), session.clone());
    let task = tokio::spawn(async move { s.sign_in(&sess, SignInMethod::DeviceCode).await });
    for _ in 0..200 {
        if task.is_finished() {
            break;
        }
        advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.await.expect("joined").expect("signed in");

    let vault = |options: VaultOptions| {
        CredentialVault::new(
            signin.clone(),
            connector.clone(),
            Arc::new(clock.clone()),
            options,
        )
    };
    async fn next(events: &mut tokio::sync::broadcast::Receiver<VaultEvent>) -> String {
        match tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event in time")
            .expect("event")
        {
            VaultEvent::Issued { .. } => "issued".to_owned(),
            VaultEvent::Warning { remaining, .. } => format!("warning {}s", remaining.as_secs()),
            VaultEvent::Expired { .. } => "expired".to_owned(),
            VaultEvent::Renewed { .. } => "renewed".to_owned(),
            other => format!("{other:?}"),
        }
    }

    let warning = vault(VaultOptions {
        warnings: vec![Duration::from_secs(600), Duration::from_secs(60)],
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let mut events = warning.subscribe();
    let key = RoleKey::new("sim", "100000000000", "Role00");
    let first = warning.get(&session, &key).await.expect("credentials");
    assert_eq!(next(&mut events).await, "issued");
    let left = || {
        first
            .expiration
            .duration_since(clock.now())
            .unwrap_or_default()
    };
    advance(left() - Duration::from_secs(600));
    assert_eq!(next(&mut events).await, "warning 600s");
    // One warning per lifetime: the 60 s one is not said again.
    advance(left() + Duration::from_secs(1));
    assert_eq!(next(&mut events).await, "expired");
    assert!(warning.active().is_empty(), "wiped at expiry");

    let renewing = vault(VaultOptions {
        warnings: vec![],
        auto_renew: true,
        renew_before: Duration::from_secs(300),
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let mut events = renewing.subscribe();
    let first = renewing.get(&session, &key).await.expect("credentials");
    assert_eq!(next(&mut events).await, "issued");
    advance(
        first
            .expiration
            .duration_since(clock.now())
            .unwrap_or_default()
            - Duration::from_secs(299),
    );
    assert_eq!(next(&mut events).await, "renewed");
    let renewed = renewing.active();
    assert!(renewed[0].expires_at > first.expiration + Duration::from_secs(3000));
    assert_ne!(renewed[0].access_key_id, first.access_key_id);
}

/// The events of a sweep of `org` with `first` (and what is `known`), in order.
async fn sweep_events(
    org: Organisation,
    first: Vec<String>,
    known: Vec<rolecall_engine::api::AccountInfo>,
) -> (rolecall_engine::catalog::Catalog, Vec<SweepEvent>) {
    let r = rig(org, |o| o.latency = Duration::from_millis(5)).await;
    r.device_sign_in().await.expect("signed in");
    let token = r.signin.access_token(&r.session).await.expect("token");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SweepOptions {
        first,
        known,
        ..sweep_options(200)
    };
    let (catalog, _) = sweep(
        "sim",
        r.connector.portal(&r.session),
        token,
        options,
        Some(tx),
        std::time::SystemTime::now(),
    )
    .await
    .expect("swept");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (catalog, events)
}

/// Where the event reporting account `id` is.
fn account_event(events: &[SweepEvent], id: &str) -> usize {
    events
        .iter()
        .position(|e| matches!(e, SweepEvent::Account(a) if a.account.account_id == id))
        .expect("the account's event")
}

/// Where the first progress event with the total known is.
fn total_known_event(events: &[SweepEvent]) -> usize {
    events
        .iter()
        .position(|e| {
            matches!(
                e,
                SweepEvent::Progress {
                    total_known: true,
                    ..
                }
            )
        })
        .expect("a progress event with the total")
}

/// Favourites are swept before any other account, and the account pages before the rest (a
/// role listing gets one turn in three while pages wait), so the total is known early; a
/// favourite on the last page is in before that page.
#[tokio::test]
async fn favourites_and_the_account_pages_come_before_the_rest() {
    let last = "100000000449".to_owned();
    let (catalog, events) =
        sweep_events(Organisation::generated(450, 2), vec![last.clone()], vec![]).await;
    assert_eq!(catalog.accounts.len(), 450);
    let favourite = account_event(&events, &last);
    let total = total_known_event(&events);
    assert!(
        favourite < total,
        "the favourite ({favourite}) with its page ({total})"
    );
    let accounts_before_total = events[..total]
        .iter()
        .filter(|e| matches!(e, SweepEvent::Account(_)))
        .count();
    assert!(
        accounts_before_total <= 10,
        "the five account pages go before role listings: {accounts_before_total} accounts came first"
    );
}

/// A favourite whose account the cached catalogue knows is reported before its page arrives.
#[tokio::test]
async fn a_known_favourite_is_in_before_its_page() {
    let last = "100000000449".to_owned();
    let info = rolecall_engine::api::AccountInfo {
        account_id: last.clone(),
        account_name: "account-00449".into(),
        email: "aws+account-00449@example.com".into(),
    };
    let (_, events) = sweep_events(
        Organisation::generated(450, 2),
        vec![last.clone()],
        vec![info],
    )
    .await;
    let favourite = account_event(&events, &last);
    let total = total_known_event(&events);
    assert!(
        favourite < total,
        "the favourite ({favourite}) before the last page ({total})"
    );
}

/// On a first sweep (nothing cached), a favourite on the last page is usable before its page
/// arrives, shown by its id; its page then names it.
#[tokio::test]
async fn an_unknown_favourite_is_in_before_its_page_by_its_id() {
    let last = "100000000449".to_owned();
    let (catalog, events) =
        sweep_events(Organisation::generated(450, 2), vec![last.clone()], vec![]).await;
    let named = |e: &SweepEvent| match e {
        SweepEvent::Account(a) if a.account.account_id == last => {
            Some(a.account.account_name.clone())
        }
        _ => None,
    };
    let names: Vec<String> = events.iter().filter_map(named).collect();
    assert_eq!(names, [last.clone(), "account-00449".to_owned()]);
    let first = account_event(&events, &last);
    assert!(first < total_known_event(&events), "before its page");
    let listed = catalog
        .accounts
        .iter()
        .find(|a| a.account.account_id == last)
        .expect("in the catalogue");
    assert_eq!(listed.account.account_name, "account-00449");
}

/// A favourite of an account the person no longer has does not stop the sweep, and is not in
/// the catalogue.
#[tokio::test]
async fn a_favourite_of_a_vanished_account_does_not_stop_the_sweep() {
    let (catalog, _) = sweep_events(
        Organisation::generated(120, 2),
        vec!["999999999999".into(), "not an id".into()],
        vec![],
    )
    .await;
    assert_eq!(catalog.accounts.len(), 120);
    assert!(
        catalog
            .accounts
            .iter()
            .all(|a| a.account.account_id != "999999999999")
    );
}

/// While a sweep uses every request the portal's throttle allows, a role's credentials (the
/// person is waiting) still come at once: they take the sweep's next turn instead of being
/// refused with 429 until they fail. The sweep loses nothing.
#[tokio::test]
async fn credentials_go_first_while_a_sweep_runs_at_the_throttle() {
    let r = rig(Organisation::generated(150, 2), |o| {
        o.portal_rps = NonZeroU32::new(20)
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    let vault = r.vault(VaultOptions::default());
    let token = r.signin.access_token(&r.session).await.expect("token");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SweepOptions {
        pacer: Some(
            vault
                .pacers()
                .start("sim", NonZeroU32::new(20).expect("20")),
        ),
        ..sweep_options(20)
    };
    let swept = tokio::spawn(sweep(
        "sim",
        r.connector.portal(&r.session),
        token,
        options,
        Some(tx),
        std::time::SystemTime::now(),
    ));
    // Well into the sweep: every turn of the throttle is taken.
    while let Some(event) = rx.recv().await {
        if matches!(event, SweepEvent::Progress { done, .. } if done >= 20) {
            break;
        }
    }
    for i in 0..10 {
        let key = RoleKey::new("sim", &format!("1000000001{i:02}"), "Role01");
        vault
            .get(&r.session, &key)
            .await
            .unwrap_or_else(|e| panic!("credentials of {key:?} during the sweep: {e}"));
    }
    assert!(
        !swept.is_finished(),
        "the credentials came while the sweep ran"
    );
    let (catalog, _) = swept.await.expect("joined").expect("swept");
    assert_eq!(catalog.accounts.len(), 150);
    assert_eq!(
        r.sim.stats().operations.get("GetRoleCredentials"),
        Some(&10)
    );
}

/// The portal's answer says when credentials expire. Role credentials from IAM Identity
/// Center last 12 hours at most (a permission set's longest session), chained ones one hour:
/// an answer that claims longer (a hostile or broken portal) must not make Rolecall show a
/// countdown of years, skip its renewal and hand SDKs an expiry they trust while the keys
/// stop working.
#[tokio::test]
async fn credentials_never_claim_to_last_longer_than_aws_allows() {
    let r = rig(Organisation::demo(), |o| {
        o.role_credentials_ttl = Duration::from_secs(100 * 365 * 24 * 3600)
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    let vault = r.vault(VaultOptions::default());
    let account = r
        .sim
        .organisation()
        .accounts()
        .find(|a| a.name == "payments-prod")
        .expect("payments-prod")
        .id
        .clone();
    let key = RoleKey::new("sim", &account, "ReadOnlyAccess");
    let creds = vault.get(&r.session, &key).await.expect("credentials");
    let left = creds
        .expiration
        .duration_since(std::time::SystemTime::now())
        .expect("in the future");
    assert!(
        left <= Duration::from_secs(12 * 3600),
        "claims {left:?}, AWS allows 12 h"
    );
    assert!(left > Duration::from_secs(11 * 3600), "{left:?}");
    let held = vault.active();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].expires_at, creds.expiration,
        "the countdown says the same"
    );
}

/// With auto-renew on, credentials that came with less than the renewal margin left (AWS's
/// 1-hour credentials on a clock about 55 minutes fast) were renewed at once, for ever: about
/// 3,500 portal requests in 4 s. Now they are held until they expire, never renewed, and the
/// vault says once that the clock looks wrong.
#[tokio::test]
async fn a_fast_clock_never_turns_auto_renew_into_a_request_storm() {
    let r = rig(Organisation::generated(2, 1), |o| {
        o.auto_approve_after = Some(0);
        o.role_credentials_ttl = Duration::from_secs(30);
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    let vault = r.vault(VaultOptions {
        auto_renew: true,
        renew_before: Duration::from_secs(300),
        warnings: vec![],
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let mut events = vault.subscribe();
    for role in ["Role00", "Role00", "Role00"] {
        let key = RoleKey::new("sim", "100000000000", role);
        vault.get(&r.session, &key).await.expect("credentials");
    }
    let other = RoleKey::new("sim", "100000000001", "Role00");
    vault.get(&r.session, &other).await.expect("credentials");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = r.sim.stats().operations.get("GetRoleCredentials").copied();
    assert_eq!(asked, Some(2), "one request per role, no renewal loop");
    let mut said = Vec::new();
    while let Ok(e) = events.try_recv() {
        said.push(e);
    }
    let suspects = said
        .iter()
        .filter(|e| matches!(e, VaultEvent::ClockSuspect { .. }))
        .count();
    assert_eq!(suspects, 1, "said once: {said:?}");
    assert!(
        !said.iter().any(|e| matches!(e, VaultEvent::Renewed { .. })),
        "{said:?}"
    );
}

/// A compressed working day (role credentials of 30 s, warnings at 10 min and 1 min) made
/// thousands of notifications: each set of credentials was warned of twice at once, both
/// warnings already past. Now one that will not be renewed gets at most one warning, never
/// one already past, and credentials that will be renewed get none.
#[tokio::test]
async fn short_credentials_are_warned_of_at_most_once_and_renewed_ones_never() {
    let r = rig(Organisation::generated(1, 1), |o| {
        o.auto_approve_after = Some(0);
        o.role_credentials_ttl = Duration::from_secs(3);
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    let key = RoleKey::new("sim", "100000000000", "Role00");
    let vault = r.vault(VaultOptions {
        warnings: vec![
            Duration::from_secs(600),
            Duration::from_secs(60),
            Duration::from_secs(2),
            Duration::from_secs(1),
        ],
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let mut events = vault.subscribe();
    vault.get(&r.session, &key).await.expect("credentials");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut said = Vec::new();
    while let Ok(e) = events.try_recv() {
        said.push(match e {
            VaultEvent::Issued { .. } => "issued".to_owned(),
            VaultEvent::Warning { .. } => "warning".to_owned(),
            VaultEvent::Expired { .. } => "expired".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(said, ["issued", "warning", "expired"]);

    let renewing = r.vault(VaultOptions {
        warnings: vec![Duration::from_secs(600), Duration::from_secs(2)],
        auto_renew: true,
        renew_before: Duration::from_secs(1),
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let mut events = renewing.subscribe();
    renewing.get(&r.session, &key).await.expect("credentials");
    tokio::time::sleep(Duration::from_secs(5)).await;
    while let Ok(e) = events.try_recv() {
        assert!(
            !matches!(e, VaultEvent::Warning { .. }),
            "credentials that will be renewed are not warned of: {e:?}"
        );
    }
}

/// A sign-in's end used to fail every client call from then until the person signed in again,
/// and nothing said it was coming. Now it is said before (a quarter of this 4-second session
/// ahead), and a person who signs in again when told sees no call fail: the new sign-in takes
/// over from the old one with no gap, twice over.
#[tokio::test]
async fn a_person_who_answers_the_ending_warning_sees_no_failed_call() {
    let r = rig(Organisation::generated(1, 1), |o| {
        o.auto_approve_after = Some(0);
        o.session_ttl = Duration::from_secs(4);
        o.access_token_ttl = Duration::from_secs(120);
        o.role_credentials_ttl = Duration::from_secs(2);
    })
    .await;
    let session = SsoSession {
        session_duration_seconds: Some(4),
        ..r.session.clone()
    };
    r.device_sign_in().await.expect("signed in");
    let mut said = r.signin.subscribe();
    let watched = session.clone();
    let watch = tokio::spawn(
        r.signin
            .clone()
            .warn_before_endings(move || (vec![watched.clone()], Duration::from_secs(900))),
    );
    let vault = r.vault(VaultOptions {
        auto_renew: true,
        renew_before: Duration::from_millis(500),
        min_remaining: Duration::ZERO,
        ..VaultOptions::default()
    });
    let key = RoleKey::new("sim", "100000000000", "Role00");
    let start = std::time::Instant::now();
    let (mut calls, mut failed, mut warnings, mut ended) = (0, Vec::new(), 0, 0);
    while start.elapsed() < Duration::from_secs(10) {
        while let Ok(event) = said.try_recv() {
            match event {
                SignInEvent::EndingSoon { .. } => {
                    warnings += 1;
                    // The person answers the warning.
                    r.device_sign_in().await.expect("signed in again");
                }
                SignInEvent::Ended { .. } => ended += 1,
                _ => {}
            }
        }
        calls += 1;
        if let Err(e) = vault.get(&session, &key).await {
            failed.push(format!("{:?}: {e}", start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watch.abort();
    assert!(
        failed.is_empty(),
        "{} of {calls} calls failed: {failed:?}",
        failed.len()
    );
    assert!(
        warnings >= 2,
        "warned {warnings} times in 10 s of 4-second sessions"
    );
    assert_eq!(ended, 0, "no sign-in ended");
}

/// When the service refuses to refresh (the session is over), the sign-in says it ended,
/// once: before, `SignIn::forget` dropped it in silence and the app showed nothing.
#[tokio::test]
async fn a_refused_refresh_says_the_session_ended() {
    let r = rig(Organisation::demo(), |o| {
        o.session_ttl = Duration::from_secs(2);
        o.access_token_ttl = Duration::from_secs(120);
    })
    .await;
    r.device_sign_in().await.expect("signed in");
    let mut said = r.signin.subscribe();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for _ in 0..2 {
        assert!(matches!(
            r.signin.access_token(&r.session).await,
            Err(SignInError::SignInRequired(_))
        ));
    }
    let mut ended = Vec::new();
    while let Ok(e) = said.try_recv() {
        if let SignInEvent::Ended { session } = e {
            ended.push(session);
        }
    }
    assert_eq!(ended, ["sim"]);
    assert!(!r.signin.status(&r.session).signed_in);
}
