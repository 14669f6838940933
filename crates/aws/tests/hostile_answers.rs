//! The adapters against endpoints that answer badly on purpose: a redirect, an endless body,
//! a server fault. Each test serves raw HTTP from a loopback socket and records what reached it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use rolecall_aws::{Http, HttpOidc, HttpPortal};
use rolecall_engine::api::{ApiError, ClientRegistration, OidcApi, PortalApi, RegisterRequest};
use rolecall_engine::secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that answers every request with `answer(n)` (n counts from 0) and keeps the head of
/// each request it read.
async fn serve(
    answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0_u8; 64 * 1024];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let count = {
                let mut log = log.lock().expect("log");
                log.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                log.len() - 1
            };
            let _ = socket.write_all(&answer(count)).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

fn http(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const TOKEN: &str = "portal-access-token-never-elsewhere";

#[tokio::test]
async fn a_redirect_never_carries_the_access_token_elsewhere() {
    let (elsewhere, reached) = serve(|_| http("200 OK", "", r#"{"accountList":[]}"#)).await;
    let target = format!("{elsewhere}/assignment/accounts");
    let (portal_url, _) = serve(move |_| {
        http(
            "307 Temporary Redirect",
            &format!("location: {target}\r\n"),
            "",
        )
    })
    .await;
    let portal = HttpPortal::new(Http::default(), portal_url, "eu-west-1");
    let answer = portal.list_accounts(&Secret::new(TOKEN), None, 100).await;
    assert!(answer.is_err(), "a redirect is not an answer: {answer:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        reached.lock().expect("log").is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn an_endless_answer_is_refused_not_read_into_memory() {
    let huge = "x".repeat(3 << 20);
    let (portal_url, _) = serve(move |_| http("200 OK", "", &huge)).await;
    let portal = HttpPortal::new(Http::default(), portal_url, "eu-west-1");
    match portal.list_accounts(&Secret::new(TOKEN), None, 100).await {
        Err(ApiError::Server(why)) => assert!(why.contains("larger than"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_portal_is_asked_once_per_call_and_oidc_again_after_a_fault() {
    let fault = || {
        http(
            "500 Internal Server Error",
            "x-amzn-errortype: InternalServerException\r\n",
            r#"{"message":"injected"}"#,
        )
    };
    let (portal_url, portal_seen) = serve(move |_| fault()).await;
    let portal = HttpPortal::new(Http::default(), portal_url, "eu-west-1");
    let answer = portal.list_accounts(&Secret::new(TOKEN), None, 100).await;
    assert!(matches!(answer, Err(ApiError::Server(_))), "{answer:?}");
    // The catalogue paces and retries portal calls; a retry here would slip past its limiter.
    assert_eq!(portal_seen.lock().expect("log").len(), 1);

    let (oidc_url, oidc_seen) = serve(move |n| {
        if n == 0 {
            fault()
        } else {
            http(
                "200 OK",
                "",
                r#"{"clientId":"id","clientSecret":"s","clientIdIssuedAt":1,"clientSecretExpiresAt":2000000000}"#,
            )
        }
    })
    .await;
    let oidc = HttpOidc::new(Http::default(), oidc_url, "eu-west-1");
    let registration = oidc
        .register_client(&RegisterRequest {
            client_name: "rolecall".into(),
            scopes: vec!["sso:account:access".into()],
            grant_types: vec![],
            redirect_uris: vec![],
            issuer_url: None,
        })
        .await
        .expect("registered on the second attempt");
    assert_eq!(registration.client_id, "id");
    assert_eq!(
        registration.expires_at,
        UNIX_EPOCH + Duration::from_secs(2_000_000_000)
    );
    let seen = oidc_seen.lock().expect("log");
    assert_eq!(seen.len(), 2);
    // Empty lists are left out, as the SDK leaves out unset members.
    assert!(seen[1].contains(r#""clientType":"public""#), "{}", seen[1]);
    assert!(!seen[1].contains("grantTypes"), "{}", seen[1]);
}

#[tokio::test]
async fn an_oauth_error_is_an_answer_and_never_asked_again() {
    let (oidc_url, seen) = serve(|_| {
        http(
            "400 Bad Request",
            "x-amzn-errortype: AuthorizationPendingException\r\n",
            r#"{"error":"authorization_pending","error_description":"pending"}"#,
        )
    })
    .await;
    let oidc = HttpOidc::new(Http::default(), oidc_url, "eu-west-1");
    let client = ClientRegistration {
        client_id: "id".into(),
        client_secret: Secret::new("s"),
        expires_at: UNIX_EPOCH,
        redirect_uri: None,
    };
    let answer = oidc
        .create_token(
            &client,
            &rolecall_engine::api::Grant::DeviceCode(Secret::new("dc")),
        )
        .await;
    assert!(
        matches!(answer, Err(ApiError::AuthorizationPending)),
        "{answer:?}"
    );
    assert_eq!(seen.lock().expect("log").len(), 1);
}

#[tokio::test]
async fn sts_is_asked_again_after_a_fault_and_every_try_is_signed() {
    let (sts_url, seen) = serve(|n| {
        if n == 0 {
            http(
                "503 Service Unavailable",
                "content-type: text/xml\r\n",
                "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>\
                 <Message>injected</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            )
        } else {
            http(
                "200 OK",
                "content-type: text/xml\r\n",
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><Arn>arn:aws:sts::111111111111:assumed-role/R/s</Arn>\
                 <UserId>AROA:s</UserId><Account>111111111111</Account></GetCallerIdentityResult>\
                 <ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            )
        }
    })
    .await;
    let sts = rolecall_aws::HttpSts::new(Http::default(), sts_url, "eu-west-1");
    let creds = rolecall_engine::api::RoleCredentials {
        access_key_id: "ASIAEXAMPLE".into(),
        secret_access_key: Secret::new("secret"),
        session_token: Secret::new("token"),
        expiration: std::time::SystemTime::now() + Duration::from_secs(3600),
    };
    let who = rolecall_engine::api::StsApi::get_caller_identity(&sts, &creds)
        .await
        .expect("answered on the second attempt");
    assert_eq!(who.account, "111111111111");
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 2);
    for request in seen.iter() {
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains("authorization: aws4-hmac-sha256 credential=asiaexample/")
                && lower.contains("/eu-west-1/sts/aws4_request")
                && lower.contains("x-amz-security-token: token"),
            "{request}"
        );
        assert!(request.contains("Action=GetCallerIdentity"), "{request}");
    }
}
