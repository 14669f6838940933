//! Verification of AWS Signature Version 4 (header form), as STS does it: rebuild the canonical
//! request from what arrived, derive the signing key from the secret the simulator issued, and
//! compare signatures in constant time.

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

/// Everything but the unreserved characters of RFC 3986.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, keeping `/` for paths.
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Allowed difference between the request's time and ours.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// The parsed `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Why a signature was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Request is missing Authentication Token")]
    Missing,
    #[error("Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("Signature expired: the request time is more than 15 minutes from the server time")]
    Skewed,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    Mismatch,
}

pub fn parse_authorization(headers: &HeaderMap) -> Result<Authorization, SigV4Error> {
    let value = headers
        .get("authorization")
        .ok_or(SigV4Error::Missing)?
        .to_str()
        .map_err(|_| SigV4Error::Malformed("not ASCII"))?;
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(SigV4Error::Malformed("algorithm"))?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SigV4Error::Malformed("component"))?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential.ok_or(SigV4Error::Malformed("Credential"))?;
    let mut scope = credential.split('/');
    let mut next = || {
        scope
            .next()
            .filter(|s| !s.is_empty())
            .ok_or(SigV4Error::Malformed("scope"))
    };
    let auth = Authorization {
        access_key_id: next()?.to_owned(),
        date: next()?.to_owned(),
        region: next()?.to_owned(),
        service: next()?.to_owned(),
        signed_headers: signed
            .ok_or(SigV4Error::Malformed("SignedHeaders"))?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: signature
            .ok_or(SigV4Error::Malformed("Signature"))?
            .to_owned(),
    };
    if next()? != "aws4_request" {
        return Err(SigV4Error::Malformed("terminator"));
    }
    Ok(auth)
}

/// One request as it arrived.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    /// The path exactly as sent (still percent-encoded).
    pub raw_path: &'a str,
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Checks the request against `secret`; `now` is the server's time.
pub fn verify(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), SigV4Error> {
    let amz_date = header(req.headers, "x-amz-date").ok_or(SigV4Error::Malformed("X-Amz-Date"))?;
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(amz_date.trim(), &fmt)
        .map_err(|_| SigV4Error::Malformed("X-Amz-Date"))?
        .assume_utc();
    if (now - at).whole_seconds().abs() > MAX_SKEW_SECS {
        return Err(SigV4Error::Skewed);
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(SigV4Error::Malformed("scope date"));
    }
    let canonical = canonical_request(req, &auth.signed_headers)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        amz_date.trim(),
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let provided = hex::decode(&auth.signature).map_err(|_| SigV4Error::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&provided)
        .map_err(|_| SigV4Error::Mismatch)
}

/// Query-string authentication (a presigned URL), as `aws eks get-token` makes for
/// GetCallerIdentity: the `X-Amz-*` parameters of the query.
#[derive(Debug, PartialEq, Eq)]
pub struct Presigned {
    pub auth: Authorization,
    pub amz_date: String,
    pub expires_secs: i64,
    pub security_token: Option<String>,
}

/// `None` when the query carries no `X-Amz-Signature` (not a presigned request).
pub fn parse_presigned(raw_query: Option<&str>) -> Option<Result<Presigned, SigV4Error>> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query?.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let signature = get("X-Amz-Signature")?;
    Some((|| {
        if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
            return Err(SigV4Error::Malformed("X-Amz-Algorithm"));
        }
        let credential =
            get("X-Amz-Credential").ok_or(SigV4Error::Malformed("X-Amz-Credential"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [key, date, region, service, "aws4_request"] = scope.as_slice() else {
            return Err(SigV4Error::Malformed("X-Amz-Credential"));
        };
        Ok(Presigned {
            auth: Authorization {
                access_key_id: (*key).to_owned(),
                date: (*date).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
                signed_headers: get("X-Amz-SignedHeaders")
                    .ok_or(SigV4Error::Malformed("X-Amz-SignedHeaders"))?
                    .split(';')
                    .map(str::to_owned)
                    .collect(),
                signature: signature.to_owned(),
            },
            amz_date: get("X-Amz-Date")
                .ok_or(SigV4Error::Malformed("X-Amz-Date"))?
                .to_owned(),
            expires_secs: get("X-Amz-Expires")
                .and_then(|e| e.parse().ok())
                .filter(|e| (1..=604_800).contains(e))
                .ok_or(SigV4Error::Malformed("X-Amz-Expires"))?,
            security_token: get("X-Amz-Security-Token").map(str::to_owned),
        })
    })())
}

/// Checks a presigned request against `secret`: signed within its `X-Amz-Expires` (15
/// minutes at least) of `now` (and not in the future beyond the usual skew), the signature over every parameter but
/// `X-Amz-Signature` and the empty payload's hash.
pub fn verify_presigned(
    req: &SignedRequest<'_>,
    presigned: &Presigned,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), SigV4Error> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(&presigned.amz_date, &fmt)
        .map_err(|_| SigV4Error::Malformed("X-Amz-Date"))?
        .assume_utc();
    // STS honours a presigned GetCallerIdentity for 15 minutes whatever its X-Amz-Expires
    // (`aws eks get-token` writes 60 and kubectl keeps the token for 14 minutes).
    let age = (now - at).whole_seconds();
    if age > presigned.expires_secs.max(MAX_SKEW_SECS) || age < -MAX_SKEW_SECS {
        return Err(SigV4Error::Skewed);
    }
    let auth = &presigned.auth;
    if !presigned.amz_date.starts_with(&auth.date) {
        return Err(SigV4Error::Malformed("scope date"));
    }
    let query: String = req
        .raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.starts_with("X-Amz-Signature="))
        .collect::<Vec<_>>()
        .join("&");
    let unsigned = SignedRequest {
        raw_query: Some(&query),
        ..*req
    };
    let mut headers = req.headers.clone();
    headers.insert(
        "x-amz-content-sha256",
        axum::http::HeaderValue::from_static(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    );
    let unsigned = SignedRequest {
        headers: &headers,
        ..unsigned
    };
    let canonical = canonical_request(&unsigned, &auth.signed_headers)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        presigned.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let provided = hex::decode(&auth.signature).map_err(|_| SigV4Error::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&provided)
        .map_err(|_| SigV4Error::Mismatch)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k = hmac(&k, region);
    let k = hmac(&k, service);
    hmac(&k, "aws4_request")
}

/// The canonical request of SigV4 for a non-S3 service (the path is encoded once more).
pub fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<String, SigV4Error> {
    let path = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    let canonical_path = utf8_percent_encode(path, PATH).to_string();
    let mut query: Vec<(String, String)> = req
        .raw_query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| {
                    (
                        utf8_percent_encode(&k, STRICT).to_string(),
                        utf8_percent_encode(&v, STRICT).to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                v.to_str()
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect::<Result<_, _>>()
            .map_err(|_| SigV4Error::Malformed("header value"))?;
        if values.is_empty() {
            return Err(SigV4Error::Malformed("a signed header is missing"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload_hash = match header(req.headers, "x-amz-content-sha256") {
        Some(h) if h != "UNSIGNED-PAYLOAD" => h.to_owned(),
        _ => hex::encode(Sha256::digest(req.body)),
    };
    Ok(format!(
        "{}\n{canonical_path}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
        req.method.as_str(),
        signed_headers.join(";")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// The `get-vanilla-query-order-key-case` vector of the AWS SigV4 test suite.
    #[test]
    fn matches_the_aws_test_suite() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
        );
        let req = SignedRequest {
            method: &Method::GET,
            raw_path: "/",
            raw_query: Some("Param2=value2&Param1=value1"),
            headers: &headers,
            body: b"",
        };
        let auth = parse_authorization(&headers).expect("parses");
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.service, "service");
        let now = time::macros::datetime!(2015-08-30 12:40:00 UTC);
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(verify(&req, &auth, secret, now), Ok(()));
        assert_eq!(verify(&req, &auth, "wrong", now), Err(SigV4Error::Mismatch));
        let later = time::macros::datetime!(2015-08-30 13:00:00 UTC);
        assert_eq!(verify(&req, &auth, secret, later), Err(SigV4Error::Skewed));
    }
}
