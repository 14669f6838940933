//! STS (the query protocol, SigV4-signed with the credentials each call is given):
//! `GetCallerIdentity` and `AssumeRole`. Retried up to three times on a transient error, as the
//! SDK's standard mode does.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};
use rolecall_engine::api::{ApiError, CallerIdentity, RoleCredentials, StsApi};
use rolecall_engine::secret::Secret;

use crate::errors::from_code;
use crate::wire::{self, Answer, Http};

const ATTEMPTS: usize = 3;
const VERSION: &str = "2011-06-15";

/// The STS endpoint of a call or of a presigned token: `sts_override` (the session's endpoint,
/// or `AWS_ENDPOINT_URL_STS`), else the regional endpoint of the region's partition.
pub fn sts_endpoint(sts_override: Option<&str>, region: &str, dns_suffix: &str) -> String {
    match sts_override {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("https://sts.{region}.{dns_suffix}"),
    }
}

#[derive(Debug, Clone)]
pub struct HttpSts {
    http: Http,
    endpoint: String,
    region: String,
}

impl HttpSts {
    /// STS at `endpoint` (`https://sts.{region}.{dnsSuffix}` or an override), signing for
    /// `region`.
    pub fn new(http: Http, endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            http,
            endpoint: endpoint.into(),
            region: region.into(),
        }
    }

    /// Sends `Action` with `params`, signed with `creds`; the answer's `fields` under
    /// `<Action>Response/<Action>Result/<path...>`.
    async fn call(
        &self,
        creds: &RoleCredentials,
        action: &str,
        params: &[(&str, &str)],
        path: &[&str],
        fields: &[&str],
    ) -> Result<HashMap<String, Secret>, ApiError> {
        let url = wire::url(&self.endpoint, "/")?;
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", VERSION)
            .extend_pairs(params)
            .finish();
        let client = self.http.client(&url)?;
        let answer = wire::with_retries(ATTEMPTS, || async {
            let request = client
                .post(url.clone())
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body.clone());
            wire::exchange(
                wire::sign(request, creds, "sts", &self.region, body.as_bytes())?,
                query_error,
            )
            .await
        })
        .await?;
        let result = format!("{action}Result");
        let mut inside = vec![result.as_str()];
        inside.extend_from_slice(path);
        xml_fields(
            answer.text()?,
            &format!("{action}Response"),
            &inside,
            fields,
        )
        .ok_or_else(|| answer.unreadable())
    }
}

/// The text of each of `fields` found under `root`/`path...`, or `None` when the document is
/// not XML or its root is another element.
fn xml_fields(
    xml: &str,
    root: &str,
    path: &[&str],
    fields: &[&str],
) -> Option<HashMap<String, Secret>> {
    fn descend(
        scope: &mut ScopedDecoder<'_, '_>,
        path: &[&str],
        fields: &[&str],
        out: &mut HashMap<String, Secret>,
    ) -> Option<()> {
        while let Some(mut tag) = scope.next_tag() {
            let name = tag.start_el().local().to_owned();
            match path.split_first() {
                Some((first, rest)) if name == *first => descend(&mut tag, rest, fields, out)?,
                None if fields.contains(&name.as_str()) => {
                    let text = try_data(&mut tag).ok()?;
                    out.insert(name, Secret::new(text.into_owned()));
                }
                _ => {}
            }
        }
        Some(())
    }
    let mut doc = Document::new(xml);
    let mut scope = doc.root_element().ok()?;
    if scope.start_el().local() != root {
        return None;
    }
    let mut out = HashMap::new();
    descend(&mut scope, path, fields, &mut out)?;
    Some(out)
}

/// A query-protocol error: `<ErrorResponse><Error><Code>…</Code><Message>…</Message>`.
fn query_error(answer: &Answer) -> ApiError {
    let status = answer.status.as_u16();
    let found = answer
        .text()
        .ok()
        .and_then(|xml| xml_fields(xml, "ErrorResponse", &["Error"], &["Code", "Message"]));
    let get = |k: &str| {
        found
            .as_ref()
            .and_then(|f| f.get(k))
            .map(|v| v.expose().to_owned())
    };
    let code = get("Code").unwrap_or_default();
    let message = get("Message").unwrap_or_else(|| format!("HTTP {status}"));
    from_code(status, &code, message)
}

/// STS's `Expiration` (ISO 8601, as `2026-11-29T17:00:00Z`).
fn timestamp(text: &str) -> Option<SystemTime> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let nanos = u64::try_from(t.unix_timestamp_nanos()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

#[async_trait]
impl StsApi for HttpSts {
    async fn get_caller_identity(
        &self,
        credentials: &RoleCredentials,
    ) -> Result<CallerIdentity, ApiError> {
        let mut out = self
            .call(
                credentials,
                "GetCallerIdentity",
                &[],
                &[],
                &["Account", "Arn", "UserId"],
            )
            .await?;
        let mut take = |k: &str| {
            out.remove(k)
                .map(|v| v.expose().to_owned())
                .unwrap_or_default()
        };
        Ok(CallerIdentity {
            account: take("Account"),
            arn: take("Arn"),
            user_id: take("UserId"),
        })
    }

    async fn assume_role(
        &self,
        credentials: &RoleCredentials,
        role_arn: &str,
        session_name: &str,
        duration: Duration,
    ) -> Result<RoleCredentials, ApiError> {
        let seconds = duration.as_secs().to_string();
        let mut out = self
            .call(
                credentials,
                "AssumeRole",
                &[
                    ("RoleArn", role_arn),
                    ("RoleSessionName", session_name),
                    ("DurationSeconds", &seconds),
                ],
                &["Credentials"],
                &[
                    "AccessKeyId",
                    "SecretAccessKey",
                    "SessionToken",
                    "Expiration",
                ],
            )
            .await?;
        let mut take = |k: &str| {
            out.remove(k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ApiError::Server(format!("no {k} in the AssumeRole answer")))
        };
        let access_key_id = take("AccessKeyId")?.expose().to_owned();
        let secret_access_key = take("SecretAccessKey")?;
        let session_token = take("SessionToken")?;
        let expiration = timestamp(take("Expiration")?.expose()).ok_or_else(|| {
            ApiError::Server("the AssumeRole answer's Expiration is unreadable".into())
        })?;
        Ok(RoleCredentials {
            access_key_id,
            secret_access_key,
            session_token,
            expiration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn answers_are_read_at_their_place_and_entities_unescaped() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/A/s</Arn><AssumedRoleId>X:s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIA1</AccessKeyId>
      <SecretAccessKey>a&amp;b</SecretAccessKey>
      <SessionToken>tok/+=</SessionToken>
      <Expiration>2026-11-29T17:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>"#;
        let out = xml_fields(
            xml,
            "AssumeRoleResponse",
            &["AssumeRoleResult", "Credentials"],
            &["AccessKeyId", "SecretAccessKey", "Arn"],
        )
        .expect("read");
        assert_eq!(out.get("AccessKeyId").map(Secret::expose), Some("ASIA1"));
        assert_eq!(out.get("SecretAccessKey").map(Secret::expose), Some("a&b"));
        // An Arn elsewhere in the answer is not the one asked for.
        assert_eq!(out.get("Arn"), None);
        assert_eq!(
            timestamp("2026-11-29T17:00:00Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_971_600))
        );
    }

    #[test]
    fn an_error_response_names_its_code_and_a_page_that_is_not_xml_its_status() {
        let answer = |status: u16, body: &str| Answer {
            status: reqwest::StatusCode::from_u16(status).expect("status"),
            headers: reqwest::header::HeaderMap::new(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        };
        let denied = answer(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
             <Message>not allowed &lt;here&gt;</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        );
        assert!(
            matches!(query_error(&denied), ApiError::Forbidden(m) if m == "not allowed <here>")
        );
        assert!(matches!(
            query_error(&answer(503, "<html>")),
            ApiError::Server(_)
        ));
        assert!(matches!(
            query_error(&answer(
                400,
                "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"
            )),
            ApiError::Throttled
        ));
    }

    #[test]
    fn the_sts_endpoint_is_the_override_or_the_partitions() {
        assert_eq!(
            sts_endpoint(None, "cn-north-1", "amazonaws.com.cn"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_endpoint(
                Some("http://127.0.0.1:9/sts/"),
                "us-east-1",
                "amazonaws.com"
            ),
            "http://127.0.0.1:9/sts"
        );
    }
}
