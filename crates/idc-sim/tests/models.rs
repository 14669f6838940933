//! The simulator held to AWS's own service models (botocore's JSON, read where the tests' venv
//! installed botocore): the check is on in every test run of this repository, and it refuses a
//! malformed request to each operation the simulator serves with the service's own error.

use idc_sim::{Organisation, SimOptions, Simulator};

async fn sim() -> Simulator {
    Simulator::start(SimOptions::new(Organisation::demo()))
        .await
        .expect("simulator")
}

#[tokio::test]
async fn the_simulator_is_held_to_botocores_models_in_every_test() {
    let sim = sim().await;
    let dir = sim.models_dir().unwrap_or_else(|| {
        panic!(
            "no botocore models found: run the tests through scripts/test, which installs \
             botocore into .venv (or set IDC_SIM_MODELS to a botocore/data folder)"
        )
    });
    assert!(dir.join("sso-oidc").is_dir(), "{}", dir.display());
}

/// One malformed request per operation, what makes it malformed, and the error type the
/// service answers it with.
struct Malformed {
    operation: &'static str,
    why: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    error: &'static str,
}

const JSON: (&str, &str) = ("content-type", "application/json");
const BEARER: (&str, &str) = ("x-amz-sso_bearer_token", "t");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

const MALFORMED: &[Malformed] = &[
    Malformed {
        operation: "RegisterClient",
        why: "required clientType missing",
        method: "POST",
        path: "/oidc/client/register",
        headers: &[JSON],
        body: r#"{"clientName":"x"}"#,
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "StartDeviceAuthorization",
        why: "clientId is a number",
        method: "POST",
        path: "/oidc/device_authorization",
        headers: &[JSON],
        body: r#"{"clientId":1,"clientSecret":"s","startUrl":"https://x"}"#,
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "CreateToken",
        why: "required grantType missing",
        method: "POST",
        path: "/oidc/token",
        headers: &[JSON],
        body: r#"{"clientId":"c","clientSecret":"s","deviceCode":"d"}"#,
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "ListAccounts",
        why: "max_result above the model's 100",
        method: "GET",
        path: "/portal/assignment/accounts?max_result=1000",
        headers: &[BEARER],
        body: "",
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "ListAccountRoles",
        why: "required account_id missing",
        method: "GET",
        path: "/portal/assignment/roles?max_result=10",
        headers: &[BEARER],
        body: "",
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "GetRoleCredentials",
        why: "a query parameter the model does not have (roleName for role_name)",
        method: "GET",
        path: "/portal/federation/credentials?roleName=R&account_id=111111111111",
        headers: &[BEARER],
        body: "",
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "Logout",
        why: "required bearer token header missing",
        method: "POST",
        path: "/portal/logout",
        headers: &[],
        body: "",
        error: "InvalidRequestException",
    },
    Malformed {
        operation: "GetCallerIdentity",
        why: "the wrong API version",
        method: "POST",
        path: "/sts",
        headers: &[FORM],
        body: "Action=GetCallerIdentity&Version=2011-06-16",
        error: "ValidationError",
    },
    Malformed {
        operation: "AssumeRole",
        why: "required RoleSessionName missing",
        method: "POST",
        path: "/sts",
        headers: &[FORM],
        body: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2FR",
        error: "ValidationError",
    },
    Malformed {
        operation: "GetAccessKeyInfo",
        why: "required AccessKeyId missing",
        method: "POST",
        path: "/sts",
        headers: &[FORM],
        body: "Action=GetAccessKeyInfo&Version=2011-06-15",
        error: "ValidationError",
    },
    Malformed {
        operation: "ListAccessKeys",
        why: "MaxItems is not a number",
        method: "POST",
        path: "/iam",
        headers: &[FORM],
        body: "Action=ListAccessKeys&Version=2010-05-08&UserName=legacy-ci&MaxItems=many",
        error: "ValidationError",
    },
    Malformed {
        operation: "GetAccessKeyLastUsed",
        why: "required AccessKeyId missing",
        method: "POST",
        path: "/iam",
        headers: &[FORM],
        body: "Action=GetAccessKeyLastUsed&Version=2010-05-08",
        error: "ValidationError",
    },
    Malformed {
        operation: "UpdateAccessKey",
        why: "Status outside the enum Active, Inactive",
        method: "POST",
        path: "/iam",
        headers: &[FORM],
        body: "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Deleted",
        error: "ValidationError",
    },
    Malformed {
        operation: "GetAuthorizationToken",
        why: "JSON 1.1 sent as plain JSON",
        method: "POST",
        path: "/ecr",
        headers: &[
            (
                "x-amz-target",
                "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
            ),
            JSON,
        ],
        body: "{}",
        error: "InvalidParameterException",
    },
];

#[tokio::test]
async fn a_malformed_request_to_each_operation_gets_the_services_own_error() {
    let sim = sim().await;
    let base = sim.endpoints().oidc.trim_end_matches("/oidc").to_owned();
    let http = reqwest::Client::new();
    for (n, m) in MALFORMED.iter().enumerate() {
        let mut req = http.request(
            m.method.parse().expect("method"),
            format!("{base}{}", m.path),
        );
        for (k, v) in m.headers {
            req = req.header(*k, *v);
        }
        let answer = req.body(m.body).send().await.expect("answered");
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let text = answer.text().await.expect("body");
        assert_eq!(status, 400, "{} ({}): {text}", m.operation, m.why);
        let named = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with(m.error))
            || text.contains(&format!("<Code>{}</Code>", m.error));
        assert!(
            named,
            "{} ({}): not {}: {headers:?} {text}",
            m.operation, m.why, m.error
        );
        let rejections = sim.stats().model_rejections;
        assert_eq!(
            rejections.len(),
            n + 1,
            "{} ({}) was not refused by the model check: {rejections:?}",
            m.operation,
            m.why
        );
    }
    let served: std::collections::BTreeSet<&str> = MALFORMED.iter().map(|m| m.operation).collect();
    assert_eq!(served.len(), MALFORMED.len(), "one case per operation");
}

#[test]
fn an_answer_that_breaks_the_model_is_caught() {
    let dir = idc_sim::model::find_models_dir().expect("botocore models (see the test above)");
    let sso = idc_sim::model::ServiceModel::load(&dir, "sso").expect("sso model");
    let good = br#"{"roleCredentials":{"accessKeyId":"ASIA","secretAccessKey":"s","sessionToken":"t","expiration":1700000000000}}"#;
    assert_eq!(sso.check_answer("GetRoleCredentials", good), Ok(()));
    for bad in [
        &br#"{"roleCredentials":{"accessKeyId":1}}"#[..],
        br#"{"credentials":{}}"#,
        br#"{"roleCredentials":{"expiration":"soon"}}"#,
    ] {
        assert!(
            sso.check_answer("GetRoleCredentials", bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let sts = idc_sim::model::ServiceModel::load(&dir, "sts").expect("sts model");
    let good = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/x</Arn><UserId>AIDA</UserId><Account>111111111111</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
    assert_eq!(
        sts.check_answer("GetCallerIdentity", good.as_bytes()),
        Ok(())
    );
    let bad = good
        .replace("<Account>", "<AccountId>")
        .replace("</Account>", "</AccountId>");
    assert!(
        sts.check_answer("GetCallerIdentity", bad.as_bytes())
            .is_err()
    );
    let bad = good.replace("GetCallerIdentityResult", "Result");
    assert!(
        sts.check_answer("GetCallerIdentity", bad.as_bytes())
            .is_err()
    );
}
