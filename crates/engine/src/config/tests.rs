use super::*;

const SAMPLE: &str = r##"
[preferences]
warnings_seconds = [900, 120]
shell = "fish"
auto_renew = true

[[session]]
name = "corp"
start_url = "https://d-1234567890.awsapps.com/start"
region = "eu-west-1"

[[session]]
name = "sim"
start_url = "http://127.0.0.1:4000/start"
region = "us-east-1"
[session.endpoints]
oidc = "http://127.0.0.1:4000/oidc"

[[favourite]]
session = "corp"
account_id = "111111111111"
role = "Admin"

[aliases]
"111111111111" = "payments"

[colours]
"111111111111" = "#d13212"

[[chain]]
name = "deploy"
session = "corp"
account_id = "111111111111"
role = "Admin"
role_arn = "arn:aws:iam::222222222222:role/Deployer"
"##;

fn session(name: &str) -> SsoSession {
    SsoSession {
        name: name.into(),
        start_url: format!("https://{name}.awsapps.com/start"),
        region: "eu-west-1".parse().expect("region"),
        endpoints: Default::default(),
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    }
}

#[test]
fn parses_and_round_trips() {
    let config = Config::parse(SAMPLE, "sample").expect("parses");
    assert_eq!(config.preferences.shell, ShellFormat::Fish);
    assert_eq!(
        config.preferences.warnings(),
        vec![Duration::from_secs(900), Duration::from_secs(120)]
    );
    assert_eq!(
        config.preferences.clipboard_clear_seconds, 45,
        "defaults fill the rest"
    );
    assert_eq!(
        config.sessions[1].endpoints.oidc.as_deref(),
        Some("http://127.0.0.1:4000/oidc")
    );
    assert!(config.is_favourite("corp", "111111111111", "Admin"));
    assert_eq!(
        Config::parse(&config.to_toml(), "again").expect("round trip"),
        config
    );
}

fn parse_error(text: &str) -> (usize, usize, String) {
    match Config::parse(text, "cfg.toml") {
        Err(ConfigError::Parse {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn errors_name_line_and_column() {
    let (line, column, _) = parse_error("[preferences]\nshell = \"fish\"\nauto_renew = maybe\n");
    assert_eq!((line, column), (3, 14));
    let dup = "[[session]]\nname=\"a\"\nstart_url=\"https://x.awsapps.com/start\"\nregion=\"eu-west-1\"\n[[session]]\nname=\"a\"\nstart_url=\"https://y.awsapps.com/start\"\nregion=\"eu-west-1\"\n";
    assert!(matches!(
        Config::parse(dup, "x"),
        Err(ConfigError::Invalid { .. })
    ));
}

#[test]
fn an_unknown_key_is_a_problem_named_where_it_is() {
    let (line, column, message) = parse_error("[preferences]\nshel = \"fish\"\n");
    assert_eq!((line, column), (2, 1));
    assert!(
        message.contains("`shel`") && message.contains("did you mean `shell`"),
        "{message}"
    );
    let (line, _, message) = parse_error(
        "[[session]]\nname = \"a\"\nstart_url = \"https://a.awsapps.com/start\"\nregion = \"eu-west-1\"\nregoin = \"x\"\n",
    );
    assert_eq!(line, 5);
    assert!(
        message.contains("[session]") && message.contains("`region`"),
        "{message}"
    );
    let (line, _, message) = parse_error("\n\nfavourites = []\n");
    assert_eq!(line, 3);
    assert!(message.contains("did you mean `favourite`"), "{message}");
}

#[test]
fn a_value_of_the_wrong_type_or_an_unknown_value_is_a_problem() {
    let (line, _, message) = parse_error("[preferences]\nautostart = \"yes\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("bool"), "{message}");
    let (line, _, message) = parse_error("[preferences]\n\nshell = \"tcsh\"\n");
    assert_eq!(line, 3);
    assert!(message.contains("tcsh"), "{message}");
}

#[test]
fn hostile_values_are_refused() {
    for bad in [
        "[colours]\n\"111111111111\" = \"red; background: url(x)\"\n",
        "[aliases]\n\"111111111111\" = \"pay\\u202Ements\"\n",
        "[[favourite]]\nsession = \"a\"\naccount_id = \"1\"\nrole = \"Admin\"\n",
        "[preferences]\nconsole_region = \"localhost:1/#\"\n",
        "[[session]]\nname = \"a\\u001b[2J\"\nstart_url = \"https://a.awsapps.com/start\"\nregion = \"eu-west-1\"\n",
        "[[session]]\nname = \"a\"\nstart_url = \"https://a.awsapps.com/start\"\nregion = \"eu-west-1\"\n[session.endpoints]\nfederation = \"http://evil.example/federation\"\n",
    ] {
        assert!(Config::parse(bad, "x").is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn keys_of_a_newer_version_are_accepted() {
    let text = "version = 99\n[preferences]\nshell = \"fish\"\nfuture_knob = 3\n[future]\nx = 1\n";
    let config = Config::parse(text, "x").expect("a newer Rolecall's keys are not typos");
    assert_eq!(config.version, Some(99));
    assert_eq!(config.preferences.shell, ShellFormat::Fish);
}

/// Each kind of problem the issue names, and the file's bytes after every write path tried.
#[test]
fn a_file_with_any_problem_is_never_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = ConfigFile::in_dir(dir.path());
    let problems: [&[u8]; 6] = [
        b"[preferences]\nshel = \"fish\"\n[[session]]\nname=\"keep\"\nstart_url=\"https://k.awsapps.com/start\"\nregion=\"eu-west-1\"\n",
        b"[preferences]\nshell = \"tcsh\"\n",
        b"[preferences]\nautostart = \"yes\"\n",
        b"[[session]]\nname = \"caf\xe9\"\nstart_url=\"https://k.awsapps.com/start\"\nregion=\"eu-west-1\"\n",
        b"[[session]\nbroken",
        b"[[session]]\nname = \"a\"\nstart_url = \"https://a.awsapps.com/start\"\nregion = \"moon-1\"\n",
    ];
    for bytes in problems {
        std::fs::write(file.path(), bytes).expect("write");
        let (fallback, problem) = file.load_or_default();
        assert_eq!(fallback, Config::default());
        let problem = problem.expect("the problem is reported");
        type Change = Box<dyn FnOnce(&mut Config)>;
        let changes: [Change; 3] = [
            Box::new(|c: &mut Config| c.upsert_session(session("new"))),
            Box::new(|c: &mut Config| c.preferences.shell = ShellFormat::Pwsh),
            Box::new(|c: &mut Config| {
                c.toggle_favourite(Favourite {
                    session: "keep".into(),
                    account_id: "111111111111".into(),
                    role: "Admin".into(),
                });
            }),
        ];
        for change in changes {
            let err = file.update(change).expect_err("refused");
            assert_eq!(err, problem, "the refusal names the file's problem");
        }
        assert_eq!(
            std::fs::read(file.path()).expect("read"),
            bytes,
            "left byte for byte"
        );
    }
    match file.load() {
        Err(ConfigError::Parse { line, message, .. }) => {
            assert_eq!(line, 4);
            assert!(message.contains("not an AWS region"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(file.path(), problems[3]).expect("write");
    match file.load() {
        Err(ConfigError::Parse {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!((line, column), (2, 12));
            assert!(
                message.contains("0xe9") && message.contains("UTF-8"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_config_is_a_problem_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = ConfigFile::in_dir(dir.path());
    rustix::fs::mkfifoat(rustix::fs::CWD, file.path(), rustix::fs::Mode::from(0o600))
        .expect("mkfifo");
    let err = file.load().expect_err("refused");
    assert_eq!(err.code(), "config_io");
    assert!(err.to_string().contains("FIFO"), "{err}");
    assert!(file.update(|c| c.preferences.autostart = true).is_err());
}

#[test]
fn saves_keep_comments_order_and_a_newer_versions_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = ConfigFile::in_dir(dir.path());
    let original = r#"# My Rolecall settings
version = 99

[preferences]
# fish is my shell
shell = "fish" # not bash
future_knob = "kept"

# work
[[session]]
name = "corp"   # the main one
start_url = "https://corp.awsapps.com/start"
region = "eu-west-1"
future_session_key = 1

# side project
[[session]]
name = "side"
start_url = "https://side.awsapps.com/start"
region = "us-east-1"

[future_table]
answer = 42
"#;
    std::fs::write(file.path(), original).expect("write");
    let (config, ()) = file
        .update(|c| c.preferences.autostart = true)
        .expect("update");
    assert!(config.preferences.autostart);
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert_eq!(
        text,
        original.replace(
            "future_knob = \"kept\"\n",
            "future_knob = \"kept\"\nautostart = true\n"
        ),
        "one line added, nothing else touched"
    );

    file.update(|c| c.preferences.shell = ShellFormat::Pwsh)
        .expect("update");
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert!(
        text.contains("# fish is my shell\nshell = \"pwsh\" # not bash\n"),
        "{text}"
    );

    // Remove the first session: the second keeps its comment; add one at the end.
    file.update(|c| {
        c.sessions.retain(|s| s.name != "corp");
        c.upsert_session(session("third"));
    })
    .expect("update");
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert!(!text.contains("corp"), "{text}");
    assert!(
        text.contains("# side project\n[[session]]\nname = \"side\""),
        "{text}"
    );
    assert!(text.contains("name = \"third\""), "{text}");
    assert!(text.contains("[future_table]\nanswer = 42"), "{text}");
    assert!(
        text.starts_with("# My Rolecall settings\nversion = 99\n"),
        "{text}"
    );
    let reread = file.load().expect("loads");
    assert_eq!(
        reread
            .sessions
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["side", "third"]
    );
}

#[test]
fn a_new_file_gets_every_key_and_a_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = ConfigFile::in_dir(&dir.path().join("sub"));
    file.update(|c| c.upsert_session(session("corp")))
        .expect("update");
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert!(text.starts_with("# Rolecall configuration."), "{text}");
    assert!(text.contains("clipboard_clear_seconds = 45"), "{text}");
    assert_eq!(file.load().expect("loads").sessions, vec![session("corp")]);
}

#[test]
fn updates_read_the_file_again_so_another_process_change_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = ConfigFile::in_dir(dir.path());
    let cli = ConfigFile::in_dir(dir.path());
    app.update(|c| c.upsert_session(session("first")))
        .expect("app");
    cli.update(|c| c.upsert_session(session("second")))
        .expect("cli");
    let (config, ()) = app
        .update(|c| c.preferences.auto_renew = true)
        .expect("app again");
    assert_eq!(config.sessions.len(), 2, "the CLI's session is still there");
}

#[test]
fn the_known_key_lists_cover_every_field() {
    let mut full = Config::parse(SAMPLE, "sample").expect("parses");
    full.version = Some(2);
    full.environments
        .insert("111111111111".into(), "prod".into());
    full.preferences.console_region = Some("eu-west-1".into());
    let choice = ConsoleChoice {
        mode: Some(ConsoleMode::Profile),
        browser: Some(BrowserKind::Firefox),
        profile: Some("work".into()),
    };
    full.console = ConsoleConfig {
        mode: choice.mode,
        browser: choice.browser,
        profile: choice.profile.clone(),
        sessions: [("corp".to_owned(), choice.clone())].into(),
        accounts: [("111111111111".to_owned(), choice.clone())].into(),
    };
    full.roles.push(RoleDefaults {
        session: "corp".into(),
        account_id: "111111111111".into(),
        role: "Admin".into(),
        destination: Some("ec2".into()),
        region: Some("eu-west-1".into()),
        session_seconds: Some(3600),
    });
    full.sessions[0].endpoints = crate::session::Endpoints {
        oidc: Some("https://o.example".into()),
        portal: Some("https://p.example".into()),
        sts: Some("https://s.example".into()),
        federation: Some("https://f.example".into()),
        iam: Some("https://i.example".into()),
    };
    let doc: toml::Table = toml::from_str(&full.to_toml()).expect("toml");
    let check = |table: &toml::Table, path: &[Segment]| {
        for key in table.keys() {
            assert!(
                known_keys(&[path, &[Segment::Key(key.clone())]].concat()).contains(&key.as_str()),
                "{key} missing from known_keys({path:?})"
            );
        }
    };
    check(&doc, &[]);
    let sub = |name: &str| doc[name].as_table().expect("table").clone();
    check(&sub("preferences"), &[Segment::Key("preferences".into())]);
    check(&sub("console"), &[Segment::Key("console".into())]);
    for (map, id) in [("sessions", "corp"), ("accounts", "111111111111")] {
        let inner = sub("console")[map][id].as_table().expect("table").clone();
        check(
            &inner,
            &[
                Segment::Key("console".into()),
                Segment::Key(map.into()),
                Segment::Key(id.into()),
            ],
        );
    }
    for name in ["session", "favourite", "chain", "role"] {
        let first = doc[name].as_array().expect("array")[0]
            .as_table()
            .expect("table")
            .clone();
        check(&first, &[Segment::Key(name.into()), Segment::Index(0)]);
    }
    let endpoints = doc["session"].as_array().expect("array")[0]["endpoints"]
        .as_table()
        .expect("table")
        .clone();
    check(
        &endpoints,
        &[
            Segment::Key("session".into()),
            Segment::Index(0),
            Segment::Key("endpoints".into()),
        ],
    );
}

/// A key of a newer format makes the file say so, so an older Rolecall reads it as a newer
/// version's key and keeps it, instead of refusing it as a typo.
#[test]
fn a_newer_key_stamps_the_files_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = ConfigFile::in_dir(dir.path());
    std::fs::write(file.path(), "[preferences]\nshell = \"fish\"\n").expect("write");
    file.update(|c| c.preferences.autostart = true)
        .expect("update");
    assert!(
        !std::fs::read_to_string(file.path())
            .expect("read")
            .contains("version")
    );
    file.update(|c| {
        c.environments.insert("111111111111".into(), "prod".into());
    })
    .expect("update");
    let text = std::fs::read_to_string(file.path()).expect("read");
    assert!(text.contains("version = 2"), "{text}");
    assert_eq!(file.load().expect("loads").version, Some(2));
}

const CONSOLE: &str = r##"
[[session]]
name = "corp"
start_url = "https://d-1234567890.awsapps.com/start"
region = "eu-west-1"

[[session]]
name = "lab"
start_url = "https://d-2234567890.awsapps.com/start"
region = "eu-west-1"

[console]
mode = "multi-session"
browser = "chromium"

[console.sessions.lab]
mode = "switch"

[console.accounts."111111111111"]
mode = "profile"
profile = "Profile 2"

[console.accounts."222222222222"]
mode = "container"
browser = "firefox"

[[role]]
session = "corp"
account_id = "111111111111"
role = "Admin"
destination = "/ec2/home#Instances:"
region = "us-west-2"
session_seconds = 3600
"##;

/// How consoles open: the account's setting, else the session's, else `[console]`'s, key by
/// key; and a role's own destination, region and length.
#[test]
fn console_settings_come_from_the_most_specific_place() {
    let c = Config::parse(CONSOLE, "console").expect("parses");
    assert_eq!(c.needed_version(), 4);
    let profile = c.console_choice("corp", "111111111111");
    assert_eq!(profile.mode, Some(ConsoleMode::Profile));
    assert_eq!(
        profile.browser,
        Some(BrowserKind::Chromium),
        "from [console]"
    );
    assert_eq!(profile.profile.as_deref(), Some("Profile 2"));
    assert_eq!(
        c.console_choice("lab", "333333333333").mode,
        Some(ConsoleMode::Switch)
    );
    assert_eq!(
        c.console_choice("lab", "111111111111").mode,
        Some(ConsoleMode::Profile),
        "the account wins over its session"
    );
    assert_eq!(
        c.console_choice("corp", "333333333333").mode,
        Some(ConsoleMode::MultiSession)
    );
    let role = c
        .role_defaults("corp", "111111111111", "Admin")
        .expect("defaults");
    assert_eq!(role.destination.as_deref(), Some("/ec2/home#Instances:"));
    assert_eq!(role.session_seconds, Some(3600));
    assert!(
        c.role_defaults("corp", "111111111111", "ReadOnly")
            .is_none()
    );
    let again = Config::parse(&c.to_toml(), "again").expect("round trip");
    assert_eq!(again, c);
}

#[test]
fn console_settings_that_cannot_work_are_refused() {
    let with = |extra: &str| Config::parse(&format!("{CONSOLE}\n{extra}"), "console");
    for (extra, says) in [
        (
            "[console.sessions.nope]\nmode = \"switch\"\n",
            "unknown session",
        ),
        (
            "[console.accounts.\"333333333333\"]\nmode = \"container\"\nbrowser = \"chrome\"\n",
            "Firefox",
        ),
        (
            "[console.accounts.\"333333333333\"]\nprofile = \"--remote-debugging-port=1\"\n",
            "profile",
        ),
        (
            "[[role]]\nsession = \"corp\"\naccount_id = \"333333333333\"\nrole = \"Admin\"\ndestination = \"//evil.example/\"\n",
            "not a console path",
        ),
        (
            "[[role]]\nsession = \"corp\"\naccount_id = \"333333333333\"\nrole = \"Admin\"\nsession_seconds = 60\n",
            "900",
        ),
        (
            "[console.accounts.payments]\nmode = \"switch\"\n",
            "12-digit",
        ),
    ] {
        let err = with(extra).expect_err(extra).to_string();
        assert!(err.contains(says), "{extra}: {err}");
    }
    let (_, _, typo) = parse_error("[console]\nmdoe = \"switch\"\n");
    assert!(typo.contains("did you mean `mode`"), "{typo}");
    let (_, _, unknown) = parse_error("[console]\nmode = \"tabs\"\n");
    assert!(unknown.contains("unknown variant"), "{unknown}");
}

#[test]
fn a_sessions_duration_is_the_organisations_and_is_kept() {
    let text = "[[session]]\nname = \"a\"\nstart_url = \"https://a.awsapps.com/start\"\nregion = \"eu-west-1\"\nsession_duration_seconds = 43200\n";
    let config = Config::parse(text, "x").expect("parses");
    assert_eq!(
        config.sessions[0].session_duration(),
        std::time::Duration::from_secs(12 * 3600)
    );
    assert_eq!(
        Config::parse(&config.to_toml(), "again").expect("round trip"),
        config
    );
    assert_eq!(
        session("b").session_duration(),
        crate::session::IDC_DEFAULT_SESSION
    );
    for bad in ["0", "7776001"] {
        let text = text.replace("43200", bad);
        let e = Config::parse(&text, "x").expect_err("refused");
        assert!(e.to_string().contains("session_duration_seconds"), "{e}");
    }
}
