//! An SSO session: a start URL and a region (and, for the simulator or a private endpoint,
//! endpoint overrides). Several can be signed in at once; each is known by its name.

use serde::{Deserialize, Serialize};

use crate::partition::Region;

/// Endpoint overrides. Unset ones come from the standard variables
/// (`AWS_ENDPOINT_URL_SSO_OIDC`, `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_STS`,
/// `AWS_ENDPOINT_URL_IAM`, `ROLECALL_FEDERATION_URL`), then from the region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation: Option<String>,
    /// IAM, for retiring long-term keys (else the SDK's endpoint for the partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<String>,
}

impl Endpoints {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Each override is an https URL, or http on a loopback address (the simulator).
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("oidc", &self.oidc),
            ("portal", &self.portal),
            ("sts", &self.sts),
            ("federation", &self.federation),
            ("iam", &self.iam),
        ] {
            if let Some(v) = value {
                check_endpoint(v).map_err(|e| format!("endpoint {name}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Fills unset endpoints from the environment (`get` looks a variable up).
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Self {
        let pick = |v: Option<String>, name: &str| {
            v.or_else(|| {
                let value = get(name).filter(|s| !s.is_empty())?;
                match check_endpoint(&value) {
                    Ok(_) => Some(value),
                    Err(e) => {
                        tracing::warn!("{name} ignored: {e}");
                        None
                    }
                }
            })
        };
        self.oidc = pick(self.oidc, "AWS_ENDPOINT_URL_SSO_OIDC");
        self.portal = pick(self.portal, "AWS_ENDPOINT_URL_SSO");
        self.sts = pick(self.sts, "AWS_ENDPOINT_URL_STS");
        self.federation = pick(self.federation, "ROLECALL_FEDERATION_URL");
        self.iam = pick(self.iam, "AWS_ENDPOINT_URL_IAM");
        self
    }
}

/// An endpoint override: https, or http on a loopback address.
pub fn check_endpoint(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|_| format!("{raw:?} is not a URL"))?;
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(format!(
            "{raw:?} must be an https URL (or http on 127.0.0.1, localhost or [::1])"
        )),
    }
}

/// Whether a URL's host is a loopback address.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSession {
    pub name: String,
    pub start_url: String,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Endpoints::is_empty")]
    pub endpoints: Endpoints,
    /// How long a sign-in lasts in this organisation (IAM Identity Center's session duration,
    /// set by its administrator: 15 minutes to 90 days). The service does not say; unset means
    /// its default, [`IDC_DEFAULT_SESSION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration_seconds: Option<u64>,
    /// FIPS endpoints for SSO OIDC, the portal and STS (`AWS_USE_FIPS_ENDPOINT` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_fips_endpoint: Option<bool>,
    /// Dual-stack (IPv6) endpoints (`AWS_USE_DUALSTACK_ENDPOINT` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_dualstack_endpoint: Option<bool>,
}

/// The AWS services a session talks to, for [`SsoSession::default_endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsService {
    Oidc,
    Portal,
    Sts,
}

/// A `true`/`false` setting as the SDKs read it from the environment.
fn env_bool(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<bool> {
    match get(name)?.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        other => {
            tracing::warn!("{name}={other:?} ignored: it must be true or false");
            None
        }
    }
}

/// IAM Identity Center's default session duration.
pub const IDC_DEFAULT_SESSION: std::time::Duration = std::time::Duration::from_secs(8 * 3600);

/// The bounds IAM Identity Center allows for a session duration.
pub const SESSION_DURATION_BOUNDS: (u64, u64) = (15 * 60, 90 * 24 * 3600);

impl SsoSession {
    /// The session with what the environment sets and it does not: endpoint overrides
    /// (`AWS_ENDPOINT_URL_SSO_OIDC`, ...) and the FIPS and dual-stack choices.
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Self {
        self.endpoints = self.endpoints.with_env(&get);
        self.use_fips_endpoint = self
            .use_fips_endpoint
            .or_else(|| env_bool(&get, "AWS_USE_FIPS_ENDPOINT"));
        self.use_dualstack_endpoint = self
            .use_dualstack_endpoint
            .or_else(|| env_bool(&get, "AWS_USE_DUALSTACK_ENDPOINT"));
        self
    }

    /// `service`'s endpoint in `region` as the SDKs' endpoint rules (botocore's
    /// `endpoint-rule-set-1.json` of sso-oidc, sso and sts) build it for this session's FIPS and
    /// dual-stack choice: `oidc-fips.`, `portal.sso-fips.`, `sts-fips.` hosts for FIPS (GovCloud's
    /// regular STS host is its FIPS one), the partition's dual-stack suffix for dual-stack. An
    /// endpoint override is not affected. `tests/interop/test_endpoints.py` holds this to
    /// botocore's own resolver.
    pub fn default_endpoint(&self, service: AwsService, region: &Region) -> String {
        let fips = self.use_fips_endpoint.unwrap_or(false);
        let dual = self.use_dualstack_endpoint.unwrap_or(false);
        let partition = region.partition();
        let (plain, fips_host) = match service {
            AwsService::Oidc => ("oidc", "oidc-fips"),
            AwsService::Portal => ("portal.sso", "portal.sso-fips"),
            AwsService::Sts => ("sts", "sts-fips"),
        };
        let suffix = if dual {
            partition.dual_stack_dns_suffix()
        } else {
            partition.dns_suffix()
        };
        let host = match (fips, dual, partition, service) {
            (true, false, crate::partition::Partition::AwsUsGov, AwsService::Sts) => plain,
            (true, ..) => fips_host,
            (false, ..) => plain,
        };
        format!("https://{host}.{region}.{suffix}")
    }

    /// STS for `region`: the override, else [`SsoSession::default_endpoint`].
    pub fn sts_endpoint(&self, region: &Region) -> String {
        self.endpoints.sts.as_deref().map_or_else(
            || self.default_endpoint(AwsService::Sts, region),
            |url| url.trim_end_matches('/').to_owned(),
        )
    }

    /// How long a sign-in of this session lasts before the person must sign in again.
    pub fn session_duration(&self) -> std::time::Duration {
        self.session_duration_seconds
            .map_or(IDC_DEFAULT_SESSION, std::time::Duration::from_secs)
    }

    /// How long before a sign-in ends to say so, for a configured `lead`: a quarter of the
    /// session at most, so a short session is not all warning.
    pub fn ending_lead(&self, lead: std::time::Duration) -> std::time::Duration {
        lead.min(self.session_duration() / 4)
    }

    /// The SSO OIDC endpoint (its `/authorize` is where PKCE sends the browser).
    pub fn oidc_url(&self) -> String {
        self.endpoints
            .oidc
            .clone()
            .unwrap_or_else(|| self.default_endpoint(AwsService::Oidc, &self.region))
    }

    pub fn portal_url(&self) -> String {
        self.endpoints
            .portal
            .clone()
            .unwrap_or_else(|| self.default_endpoint(AwsService::Portal, &self.region))
    }

    /// Whether `url` may be a sign-in page of this session's IAM Identity Center (the device
    /// verification page the service names): https on the start URL's host, the OIDC
    /// endpoint's host or the partition's AWS domains; http only on a loopback address when
    /// the OIDC endpoint is overridden (the simulator).
    pub fn is_sign_in_page(&self, url: &url::Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let host_of = |raw: &str| {
            url::Url::parse(raw)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        };
        let ours = host_of(&self.start_url).as_deref() == Some(host.as_str())
            || host_of(&self.oidc_url()).as_deref() == Some(host.as_str());
        match url.scheme() {
            "https" => {
                let suffix = self.region.partition().dns_suffix();
                ours || host.ends_with(&format!(".{suffix}"))
                    || host.ends_with(".awsapps.com")
                    || host.ends_with(".awsapps.cn")
            }
            "http" => self.endpoints.oidc.is_some() && is_loopback(url) && ours,
            _ => false,
        }
    }

    /// `None`: the regional endpoint of the region in use (`rolecall_aws::sts_endpoint`).
    pub fn sts_url(&self) -> Option<String> {
        self.endpoints.sts.clone()
    }

    /// `None`: the partition's federation endpoint for the console region.
    pub fn federation_url(&self) -> Option<url::Url> {
        self.endpoints
            .federation
            .as_deref()
            .and_then(|u| check_endpoint(u).ok())
    }
}

/// Checks a start URL and a region as a person typed them, and guesses the region from the URL
/// where it can. Returns the cleaned start URL.
pub fn validate_start_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let url = url::Url::parse(trimmed)
        .map_err(|_| format!("{trimmed:?} is not a URL. A start URL looks like https://d-1234567890.awsapps.com/start"))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err("A start URL must use https://".into());
    }
    if url.host_str().is_none() {
        return Err("A start URL needs a host, such as d-1234567890.awsapps.com".into());
    }
    let mut clean = url.clone();
    clean.set_fragment(None);
    clean.set_query(None);
    Ok(clean.as_str().trim_end_matches('/').to_owned())
}

/// Region guess: `https://<id>.<region>.awsapps.com/start`-style hosts, and
/// `start.<region>.us-gov-home.awsapps.com`; `None` for the usual `d-xxxx.awsapps.com`.
pub fn guess_region(start_url: &str) -> Option<String> {
    let host = url::Url::parse(start_url).ok()?.host_str()?.to_owned();
    host.split('.')
        .find(|part| is_region(part))
        .map(str::to_owned)
}

pub use crate::partition::is_region;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_and_dual_stack_endpoints_follow_the_sdks_rules() {
        let session = |region: &str, fips: bool, dual: bool| SsoSession {
            name: "s".into(),
            start_url: "https://d-1.awsapps.com/start".into(),
            region: region.parse().expect("region"),
            endpoints: Endpoints::default(),
            session_duration_seconds: None,
            use_fips_endpoint: Some(fips),
            use_dualstack_endpoint: Some(dual),
        };
        let s = session("eu-west-1", true, false);
        assert_eq!(s.oidc_url(), "https://oidc-fips.eu-west-1.amazonaws.com");
        assert_eq!(
            s.portal_url(),
            "https://portal.sso-fips.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            s.sts_endpoint(&s.region),
            "https://sts-fips.eu-west-1.amazonaws.com"
        );
        let s = session("eu-west-1", false, true);
        assert_eq!(s.oidc_url(), "https://oidc.eu-west-1.api.aws");
        let s = session("eu-west-1", true, true);
        assert_eq!(s.portal_url(), "https://portal.sso-fips.eu-west-1.api.aws");
        // GovCloud's regular STS host is its FIPS one.
        let s = session("us-gov-west-1", true, false);
        assert_eq!(
            s.oidc_url(),
            "https://oidc-fips.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            s.sts_endpoint(&s.region),
            "https://sts.us-gov-west-1.amazonaws.com"
        );
        let s = session("cn-north-1", true, false);
        assert_eq!(
            s.sts_endpoint(&s.region),
            "https://sts-fips.cn-north-1.amazonaws.com.cn"
        );
        // An override is not changed by either choice.
        let s = SsoSession {
            endpoints: Endpoints {
                oidc: Some("http://127.0.0.1:9/oidc".into()),
                ..Endpoints::default()
            },
            ..session("eu-west-1", true, true)
        };
        assert_eq!(s.oidc_url(), "http://127.0.0.1:9/oidc");
        // The environment fills what the config leaves unset, never what it sets.
        let env = |k: &str| (k == "AWS_USE_FIPS_ENDPOINT").then(|| "TRUE".to_owned());
        let unset = SsoSession {
            use_fips_endpoint: None,
            ..session("eu-west-1", false, false)
        };
        assert_eq!(unset.with_env(env).use_fips_endpoint, Some(true));
        assert_eq!(
            session("eu-west-1", false, false)
                .with_env(env)
                .use_fips_endpoint,
            Some(false)
        );
    }

    #[test]
    fn start_urls_and_regions() {
        assert_eq!(
            validate_start_url(" https://d-1234567890.awsapps.com/start/#/ ").as_deref(),
            Ok("https://d-1234567890.awsapps.com/start")
        );
        assert!(validate_start_url("d-123.awsapps.com").is_err());
        assert!(validate_start_url("http://d-123.awsapps.com/start").is_err());
        assert!(validate_start_url("http://127.0.0.1:4000/start").is_ok());
        assert_eq!(
            guess_region("https://start.us-gov-home.awsapps.com/directory/d-1"),
            None
        );
        assert_eq!(
            guess_region("https://ssoins-1.eu-central-1.portal.amazonaws.com/start").as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(guess_region("https://d-1234567890.awsapps.com/start"), None);
        assert!(is_region("us-gov-west-1") && is_region("ap-southeast-3") && !is_region("awsapps"));
    }

    #[test]
    fn endpoints_from_env_when_unset() {
        let env = |name: &str| {
            (name == "AWS_ENDPOINT_URL_SSO").then(|| "http://127.0.0.1:9/portal".to_owned())
        };
        let e = Endpoints {
            oidc: Some("http://x/oidc".into()),
            ..Default::default()
        }
        .with_env(env);
        assert_eq!(e.oidc.as_deref(), Some("http://x/oidc"));
        assert_eq!(e.portal.as_deref(), Some("http://127.0.0.1:9/portal"));
        let s = SsoSession {
            name: "n".into(),
            start_url: "u".into(),
            region: "eu-west-1".parse().expect("region"),
            endpoints: Endpoints::default(),
            session_duration_seconds: None,
            use_fips_endpoint: None,
            use_dualstack_endpoint: None,
        };
        assert_eq!(s.oidc_url(), "https://oidc.eu-west-1.amazonaws.com");
        assert_eq!(s.portal_url(), "https://portal.sso.eu-west-1.amazonaws.com");
        assert!(check_endpoint("https://oidc.example/").is_ok());
        assert!(check_endpoint("http://127.0.0.1:9/oidc").is_ok());
        assert!(check_endpoint("http://evil.example/oidc").is_err());
        assert!(check_endpoint("file:///etc/passwd").is_err());
        let page = |u: &str| s.is_sign_in_page(&url::Url::parse(u).expect("url"));
        assert!(page("https://device.sso.eu-west-1.amazonaws.com/"));
        assert!(page("https://d-1234567890.awsapps.com/start/#/device"));
        assert!(!page("https://evil.example/device"));
        assert!(!page("https://amazonaws.com.evil.example/"));
        assert!(
            !page("http://127.0.0.1:4000/oidc/device"),
            "no override: no http"
        );
        assert!(!page("file:///etc/passwd") && !page("javascript:alert(1)"));
        let sim = SsoSession {
            endpoints: Endpoints {
                oidc: Some("http://127.0.0.1:4000/oidc".into()),
                ..Default::default()
            },
            ..s.clone()
        };
        assert!(
            sim.is_sign_in_page(
                &url::Url::parse("http://127.0.0.1:4000/oidc/device").expect("url")
            )
        );
    }
}
