//! The webview's commands on Tauri's mock runtime: what crosses (views, `{code, message}`
//! errors) and that a command refused by validation changes nothing.

use std::sync::Arc;

use rolecall_desktop::desktop::{Desktop, Launch};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;

fn app(home: &std::path::Path) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let launch = Launch {
        demo: false,
        no_agent: true,
        home: Some(home.to_owned()),
    };
    let desktop = Arc::new(tauri::async_runtime::block_on(Desktop::open(launch)).expect("open"));
    let app = mock_builder()
        .manage(desktop)
        .invoke_handler(rolecall_desktop::handler())
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("window");
    (app, window)
}

fn invoke(
    window: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
    body: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // On Linux `http://tauri.localhost` counts as remote and the command is refused.
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("json"))
}

/// An account of the portal, as a sweep lists it.
fn account(id: &str, name: &str, roles: &[&str]) -> rolecall_engine::catalog::AccountRoles {
    rolecall_engine::catalog::AccountRoles {
        account: rolecall_engine::api::AccountInfo {
            account_id: id.into(),
            account_name: name.into(),
            email: format!("{name}@example.com"),
        },
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

/// The app with session `corp` and a cached catalogue of `accounts`, as a sign-in and a sweep
/// would have left it (the home is kept as long as the app runs).
fn app_with_catalogue(
    accounts: Vec<rolecall_engine::catalog::AccountRoles>,
) -> (
    tempfile::TempDir,
    tauri::App<MockRuntime>,
    tauri::WebviewWindow<MockRuntime>,
) {
    let home = tempfile::tempdir().expect("tempdir");
    rolecall_engine::catalog_cache::CatalogCache::new(&home.path().join("cache"))
        .save(&rolecall_engine::catalog::Catalog {
            session: "corp".into(),
            start_url: "https://d-1234567890.awsapps.com/start".into(),
            accounts,
            refreshed_at: std::time::SystemTime::now(),
        })
        .expect("catalogue cached");
    let (app, window) = app(home.path());
    invoke(&window, "add_session", json!({ "name": "corp", "startUrl": "https://d-1234567890.awsapps.com/start", "region": "eu-west-1" }))
        .expect("added");
    (home, app, window)
}

#[test]
fn sessions_are_added_validated_and_listed() {
    let home = tempfile::tempdir().expect("tempdir");
    let (_app, window) = app(home.path());
    let state = invoke(&window, "app_state", json!({})).expect("app_state");
    assert_eq!(state["sessions"], json!([]));
    assert_eq!(state["shell"], "sh");
    assert!(
        state["shells"]
            .as_array()
            .expect("shells")
            .iter()
            .any(|s| s == "fish")
    );

    let bad = invoke(
        &window,
        "add_session",
        json!({ "name": "corp", "startUrl": "d-123.awsapps.com", "region": "eu-west-1" }),
    )
    .expect_err("not a URL");
    assert_eq!(bad["code"], "invalid");
    assert!(
        bad["message"]
            .as_str()
            .expect("message")
            .contains("not a URL"),
        "{bad}"
    );
    let bad_region = invoke(
        &window,
        "add_session",
        json!({ "name": "corp", "startUrl": "https://d-1234567890.awsapps.com/start", "region": "europe" }),
    )
    .expect_err("not a region");
    assert!(
        bad_region["message"]
            .as_str()
            .expect("message")
            .contains("not an AWS region")
    );
    assert_eq!(
        invoke(&window, "app_state", json!({})).expect("state")["sessions"],
        json!([]),
        "nothing half-added"
    );

    invoke(&window, "add_session", json!({ "name": "corp", "startUrl": "https://d-1234567890.awsapps.com/start/#/", "region": "eu-west-1" }))
        .expect("added");
    let state = invoke(&window, "app_state", json!({})).expect("state");
    assert_eq!(state["sessions"][0]["name"], "corp");
    assert_eq!(
        state["sessions"][0]["start_url"],
        "https://d-1234567890.awsapps.com/start"
    );
    assert_eq!(state["sessions"][0]["signed_in"], false);
    let saved =
        std::fs::read_to_string(home.path().join("config/config.toml")).expect("config written");
    assert!(saved.contains("name = \"corp\""));
}

#[test]
fn errors_cross_as_code_and_message() {
    let home = tempfile::tempdir().expect("tempdir");
    let (_app, window) = app(home.path());
    let err = invoke(
        &window,
        "sign_in",
        json!({ "session": "nope", "deviceCode": true }),
    )
    .expect_err("no such session");
    assert_eq!(
        err,
        json!({ "code": "unknown_session", "message": "no session named \"nope\" (see `rolecall session ls`)" })
    );
    let role = json!({ "session": "nope", "account_id": "111111111111", "role": "Admin" });
    let err = invoke(
        &window,
        "copy_env",
        json!({ "role": role, "shell": "tcsh" }),
    )
    .expect_err("unknown shell");
    assert_eq!(err["code"], "invalid");
    assert_eq!(
        invoke(
            &window,
            "guess_region",
            json!({ "startUrl": "https://ssoins-1.eu-central-1.portal.amazonaws.com/start" })
        )
        .expect("guess"),
        json!("eu-central-1")
    );
    assert_eq!(
        invoke(&window, "search_roles", json!({ "query": "" })).expect("search"),
        json!({ "roles": [], "total": 0 })
    );
}

#[test]
fn the_tray_menu_follows_favourites_and_sign_in() {
    use rolecall_desktop::tray::{Entry, TrayAction, model};
    use tauri::Manager;

    let (_home, app, window) = app_with_catalogue(vec![
        account("111111111111", "payments-prod", &["Admin", "ReadOnly"]),
        account("222222222222", "sandbox", &["Admin"]),
        account("333333333333", "evil\u{1b}[2J\u{202e}dorp", &["Admin"]),
    ]);
    let desktop = app.state::<Arc<Desktop>>().inner().clone();

    let menu = model(&desktop);
    assert_eq!(menu[0], Entry::Note("No active credentials".into()));
    let favourites = |menu: &[Entry]| {
        menu.iter()
            .find_map(|e| match e {
                Entry::Group { label, roles } if label == "Favourites" => Some(roles.clone()),
                _ => None,
            })
            .expect("a Favourites submenu")
    };
    assert!(favourites(&menu).is_empty());
    assert!(menu.contains(&Entry::Item {
        action: TrayAction::SignIn {
            session: "corp".into()
        },
        text: "Sign in to corp".into()
    }));
    assert!(matches!(
        menu.last(),
        Some(Entry::Item {
            action: TrayAction::Quit,
            ..
        })
    ));

    let role = json!({ "session": "corp", "account_id": "111111111111", "role": "ReadOnly" });
    invoke(&window, "toggle_favourite", json!({ "role": role })).expect("favourite");
    let menu = model(&desktop);
    let first = favourites(&menu);
    assert_eq!(first.len(), 1);
    match &first[0] {
        Entry::Role {
            title,
            role,
            held,
            places,
        } => {
            assert_eq!(title, "payments-prod (111111111111) / ReadOnly");
            assert_eq!(role.account_id, "111111111111");
            assert!(!held, "no credentials held, so no Forget");
            assert_eq!(
                places,
                &["ec2", "s3", "cloudwatch", "iam"],
                "a favourite offers the console's common pages"
            );
        }
        other => panic!("not a role: {other:?}"),
    }
    assert_eq!(
        model(&desktop),
        menu,
        "the same state, the same menu: no rebuild"
    );

    // The person's alias for the account names it in the tray, as in the window; the id stays.
    invoke(
        &window,
        "set_account",
        json!({ "accountId": "111111111111", "alias": "Payments (live)", "colour": null, "environment": null }),
    )
    .expect("alias");
    match &favourites(&model(&desktop))[0] {
        Entry::Role { title, .. } => {
            assert_eq!(title, "Payments (live) (111111111111) / ReadOnly")
        }
        other => panic!("not a role: {other:?}"),
    }
    invoke(
        &window,
        "set_account",
        json!({ "accountId": "111111111111", "alias": null, "colour": null, "environment": null }),
    )
    .expect("alias removed");

    // A name with a terminal escape and a right-to-left override is shown, not obeyed.
    let hostile = json!({ "session": "corp", "account_id": "333333333333", "role": "Admin" });
    invoke(&window, "toggle_favourite", json!({ "role": hostile })).expect("favourite");
    let titles: Vec<String> = favourites(&model(&desktop))
        .iter()
        .filter_map(|e| match e {
            Entry::Role { title, .. } => Some(title.clone()),
            _ => None,
        })
        .collect();
    assert!(
        titles.contains(&"evil\\u{1b}[2J\\u{202e}dorp (333333333333) / Admin".to_owned()),
        "{titles:?}"
    );
    assert!(titles.iter().all(|t| !t.contains(['\u{1b}', '\u{202e}'])));
}

/// A config file with a problem: the banner names it with line and column, every change the
/// window can make is refused with that problem, the file keeps every byte, and once the
/// person fixes it the app takes it without a restart.
#[test]
fn a_config_with_a_problem_shows_in_the_banner_and_is_never_written() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().join("config/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    let session = "[[session]]\nname = \"keep\"\nstart_url = \"https://keep.awsapps.com/start\"\nregion = \"eu-west-1\"\n";
    let broken = format!("{session}\n[preferences]\nshel = \"fish\"\n");
    std::fs::write(&config, &broken).expect("write");
    let (_app, window) = app(home.path());

    let state = invoke(&window, "app_state", json!({})).expect("app_state");
    assert_eq!(state["config_problem"]["code"], "config_parse");
    let banner = state["config_problem"]["message"]
        .as_str()
        .expect("message");
    assert!(
        banner.contains("config.toml:7:1") && banner.contains("shel"),
        "{banner}"
    );

    let role = json!({ "session": "keep", "account_id": "111111111111", "role": "Admin" });
    for (cmd, body) in [
        (
            "add_session",
            json!({ "name": "new", "startUrl": "https://n.awsapps.com/start", "region": "eu-west-1" }),
        ),
        ("set_shell", json!({ "shell": "fish" })),
        ("toggle_favourite", json!({ "role": role })),
        ("set_autostart", json!({ "enabled": true })),
        ("remove_session", json!({ "name": "keep" })),
    ] {
        let err = invoke(&window, cmd, body).expect_err(cmd);
        assert!(
            err["code"]
                .as_str()
                .is_some_and(|c| c.starts_with("config")),
            "{cmd}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&config).expect("read"),
            broken,
            "{cmd} wrote it"
        );
    }

    std::fs::write(&config, session).expect("fixed");
    let state = invoke(&window, "app_state", json!({})).expect("app_state");
    assert_eq!(state["config_problem"], Value::Null);
    assert_eq!(state["sessions"][0]["name"], "keep");
}

/// A name in a notification is shown as it is: no markup read into it, nothing hidden.
#[test]
fn notification_bodies_show_names_as_they_are() {
    assert_eq!(
        rolecall_desktop::notification_text("Credentials for R&D <b>prod</b>\u{202e} expire"),
        "Credentials for R&amp;D &lt;b&gt;prod&lt;/b&gt;\\u{202e} expire"
    );
}

/// Settings: every preference saved at once (or none, when one is wrong), an account's labels,
/// chained roles; the file keeps the person's comment.
#[test]
fn settings_save_what_config_toml_holds() {
    let home = tempfile::tempdir().expect("tempdir");
    let (_app, window) = app(home.path());
    invoke(&window, "add_session", json!({ "name": "corp", "startUrl": "https://d-1234567890.awsapps.com/start", "region": "eu-west-1" }))
        .expect("added");
    let config = home.path().join("config/config.toml");
    std::fs::write(
        &config,
        format!(
            "# mine\n{}",
            std::fs::read_to_string(&config).expect("read")
        ),
    )
    .expect("comment");

    let state = invoke(&window, "settings_state", json!({})).expect("settings");
    let mut prefs = state["preferences"].clone();
    assert_eq!(prefs["sign_in_method"], "pkce");
    prefs["shell"] = json!("fish");
    prefs["sign_in_method"] = json!("device-code");
    prefs["warnings_seconds"] = json!([900, 30]);
    invoke(&window, "save_preferences", json!({ "preferences": prefs })).expect("saved");
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(text.starts_with("# mine\n"), "{text}");
    assert!(text.contains("shell = \"fish\"") && text.contains("sign_in_method = \"device-code\""));

    let mut bad = prefs.clone();
    bad["console_region"] = json!("localhost:1/#");
    bad["shell"] = json!("pwsh");
    let err =
        invoke(&window, "save_preferences", json!({ "preferences": bad })).expect_err("refused");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("not an AWS region")
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("read"),
        text,
        "nothing written"
    );

    invoke(
        &window,
        "set_account",
        json!({ "accountId": "111111111111", "alias": "pay", "colour": "#d13212", "environment": "prod" }),
    )
    .expect("account labels");
    let err = invoke(
        &window,
        "set_account",
        json!({ "accountId": "111111111111", "alias": null, "colour": "red; background: url(x)", "environment": null }),
    )
    .expect_err("a colour that is not one");
    assert!(err["code"].as_str().expect("code").starts_with("config"));
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(
        text.contains("version = 2") && text.contains("[environments]"),
        "{text}"
    );

    let chain = json!({ "name": "deploy", "session": "corp", "account_id": "111111111111", "role": "Admin", "role_arn": "arn:aws:iam::222222222222:role/Deployer" });
    invoke(&window, "save_chain", json!({ "chain": chain })).expect("chain");
    let state = invoke(&window, "settings_state", json!({})).expect("settings");
    assert_eq!(state["chains"][0]["name"], "deploy");
    let bad_chain = json!({ "name": "bad name", "session": "corp", "account_id": "111111111111", "role": "Admin", "role_arn": "arn:aws:iam::222222222222:role/Deployer" });
    assert!(invoke(&window, "save_chain", json!({ "chain": bad_chain })).is_err());
    invoke(
        &window,
        "remove_chain",
        json!({ "session": "corp", "accountId": "111111111111", "name": "deploy" }),
    )
    .expect("removed");
    let state = invoke(&window, "settings_state", json!({})).expect("settings");
    assert_eq!(state["chains"], json!([]));

    invoke(&window, "edit_session", json!({ "name": "corp", "startUrl": "https://d-999.awsapps.com/start", "region": "us-east-1" }))
        .expect("edited");
    let state = invoke(&window, "settings_state", json!({})).expect("settings");
    assert_eq!(
        state["sessions"][0]["start_url"],
        "https://d-999.awsapps.com/start"
    );
}

/// The window asks for the rows that fit on screen while the person types, then for the rest:
/// in the list's order, the short answer is exactly the top of the long one, so the rows shown
/// never move when the rest comes.
#[test]
fn a_short_search_answer_is_the_top_of_the_long_one() {
    let (_home, _app, window) = app_with_catalogue(
        (0..6)
            .map(|i| {
                account(
                    &format!("{:012}", 100_000_000_000u64 + i),
                    &format!("team-{i}"),
                    &["Admin", "ReadOnly", &format!("Team{i}Deployer")],
                )
            })
            .collect(),
    );
    let rows = |args: serde_json::Value| -> Vec<(String, String)> {
        let answer = invoke(&window, "search_roles", args).expect("search");
        answer["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .map(|r| {
                (
                    r["account_id"].as_str().expect("id").to_owned(),
                    r["role"].as_str().expect("role").to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(rows(json!({ "query": "", "grouped": true })).len(), 18);
    for query in ["", "a", "team de"] {
        let long = rows(json!({ "query": query, "grouped": true }));
        let short = rows(json!({ "query": query, "limit": 5, "grouped": true }));
        assert_eq!(short, long[..short.len()], "query {query:?}");
        // Each account's rows together.
        let mut seen = Vec::new();
        for (account, _) in &long {
            if seen.last() != Some(account) {
                assert!(!seen.contains(account), "{account} split in {long:?}");
                seen.push(account.clone());
            }
        }
    }
    // Ungrouped, as the picker asks: the best matches, at most `limit` of them.
    assert_eq!(rows(json!({ "query": "admin", "limit": 3 })).len(), 3);
}

/// A `rolecall://` link waits for the person's answer; a second link that arrives while they
/// read the first replaces what the banner shows. An answer given to the first must never open
/// the second: it is refused, the second stays shown, and only an answer to it acts on it.
#[test]
fn an_answer_to_one_link_never_opens_another() {
    use tauri::Manager;

    let (_home, app, window) = app_with_catalogue(vec![
        account("111111111111", "sandbox", &["ReadOnly"]),
        account("222222222222", "payments-prod", &["Admin"]),
    ]);
    let desktop = app.state::<Arc<Desktop>>().inner().clone();
    let arrive = |link: &str| {
        tauri::async_runtime::block_on(desktop.link_arrived(link)).expect("a link understood")
    };
    let pending =
        || invoke(&window, "app_state", json!({})).expect("state")["pending_link"].clone();

    assert!(arrive(
        "rolecall://console?account=111111111111&role=ReadOnly"
    ));
    let first = pending();
    assert!(
        first["description"]
            .as_str()
            .expect("description")
            .contains("sandbox (111111111111)"),
        "{first}"
    );
    // The second link arrives while the person reads the first.
    assert!(arrive("rolecall://console?account=222222222222&role=Admin"));
    let second = pending();
    assert!(
        second["description"]
            .as_str()
            .expect("description")
            .contains("payments-prod (222222222222)"),
        "{second}"
    );
    assert_ne!(first["id"], second["id"], "each link its own answer");

    for open in [true, false] {
        let refused = invoke(
            &window,
            "answer_link",
            json!({ "id": first["id"], "open": open }),
        )
        .expect_err("an answer to the link no longer shown");
        assert_eq!(refused["code"], "link_changed", "{refused}");
        assert_eq!(
            pending(),
            second,
            "the link shown stays, for its own answer"
        );
    }

    invoke(
        &window,
        "answer_link",
        json!({ "id": second["id"], "open": false }),
    )
    .expect("the answer to the link shown");
    assert_eq!(pending(), Value::Null);
    // An answer when nothing waits changes nothing and opens nothing.
    invoke(
        &window,
        "answer_link",
        json!({ "id": second["id"], "open": true }),
    )
    .expect("nothing to answer");
}

/// `--demo` keeps a throw-away config in the temporary folder, which every local user can
/// write in. A folder there whose name another user can guess (it was `rolecall-demo-<pid>`)
/// can be made by them first, with a link in it to one of the person's own files: the demo
/// would write its config through that link. The demo's folder must be made new, the
/// person's alone, where nobody could have prepared it.
#[cfg(all(unix, feature = "demo"))]
#[test]
fn the_demo_never_writes_in_a_folder_another_user_prepared() {
    use std::os::unix::fs::MetadataExt;

    let victim = tempfile::tempdir().expect("tempdir");
    let precious = victim.path().join("precious");
    // Any file that reads as a config (a comment, an empty file) is written through.
    std::fs::write(&precious, "# the person's own notes\n").expect("written");
    let guessed = std::env::temp_dir().join(format!("rolecall-demo-{}", std::process::id()));
    std::fs::create_dir_all(guessed.join("config")).expect("the folder prepared");
    std::os::unix::fs::symlink(&precious, guessed.join("config/config.toml")).expect("link");

    let launch = Launch {
        demo: true,
        no_agent: true,
        home: None,
    };
    let desktop = tauri::async_runtime::block_on(Desktop::open(launch)).expect("open");
    let state = desktop.view();
    let _ = std::fs::remove_dir_all(&guessed);
    assert_eq!(
        std::fs::read_to_string(&precious).expect("read"),
        "# the person's own notes\n",
        "the demo wrote through a link it did not make"
    );
    assert!(
        state.sessions.iter().any(|s| s.name == "demo"),
        "the demo still runs, with a folder of its own"
    );
    let config = desktop.core.config_path().to_owned();
    let home = config
        .parent()
        .and_then(|c| c.parent())
        .expect("the demo's folder");
    let meta = std::fs::symlink_metadata(home).expect("meta");
    assert!(
        meta.is_dir() && meta.mode() & 0o077 == 0,
        "{:o}",
        meta.mode()
    );
    assert_ne!(home, guessed);
    assert!(config.is_file(), "the demo's config is in its own folder");
}
