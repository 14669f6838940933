//! AWS console sign-in URLs through the federation endpoint.
//!
//! Every URL is built with a URL type, every parameter encoded (a tool in this field is known to
//! insert `Destination` raw). `SessionDuration` is left out for role-chained credentials, where
//! the endpoint refuses it. The finished login URL carries a sign-in token that opens a console
//! session, so it is a [`Secret`].

use std::time::Duration;

use url::Url;

use crate::api::{ApiError, FederationApi, RoleCredentials};
use crate::partition::{Region, is_console_service};
use crate::secret::Secret;

/// The federation endpoint of the partition of `region`.
pub fn federation_url(region: &Region) -> Result<Url, ApiError> {
    let host = region.partition().signin_host(region);
    Url::parse(&format!("https://{host}/federation"))
        .map_err(|e| ApiError::InvalidRequest(format!("federation URL for {region}: {e}")))
}

/// A console destination as a person writes it (config `destination`, the tray's recent
/// pages, "Other page…"): a path when it starts with `/`, else a service name. The one place
/// that rule lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Path(String),
    Service(String),
}

impl Destination {
    pub fn parse(written: &str) -> Self {
        if written.starts_with('/') {
            Self::Path(written.to_owned())
        } else {
            Self::Service(written.to_owned())
        }
    }

    /// The console URL in `region` (checked: a path stays on the console host, a service is
    /// a console service name).
    pub fn url(&self, region: &Region) -> Result<Url, ApiError> {
        match self {
            Self::Path(p) => destination_path(region, p),
            Self::Service(s) => destination(region, Some(s)),
        }
    }
}

/// Where the console opens: a service (`ec2`, `s3`, ...) or the console home, in a region.
/// A service that is not a console service name is refused.
pub fn destination(region: &Region, service: Option<&str>) -> Result<Url, ApiError> {
    let host = region.partition().console_host(region);
    let service = service
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("console");
    if !is_console_service(service) {
        return Err(ApiError::InvalidRequest(format!(
            "{:?} is not a console service name (such as ec2, s3, iam)",
            crate::text::printable(service)
        )));
    }
    let mut url = Url::parse(&format!("https://{host}/"))
        .map_err(|e| ApiError::InvalidRequest(format!("console URL for {region}: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| ApiError::InvalidRequest("the console URL has no path".into()))?
        .push(service)
        .push("home");
    url.query_pairs_mut().append_pair("region", region.as_str());
    Ok(url)
}

/// A console page by its path (`/ec2/home?region=eu-west-1#Instances:`, as copied from the
/// address bar without the host), on the console host of `region`. The `region` parameter is
/// added when the path has none. A path that could leave the console host (`//evil.example`,
/// a backslash, a scheme) or hides characters is refused.
pub fn destination_path(region: &Region, path: &str) -> Result<Url, ApiError> {
    let refuse = |why: &str| {
        ApiError::InvalidRequest(format!(
            "{:?} is not a console path ({why}): give a path such as /ec2/home#Instances:",
            crate::text::printable(path)
        ))
    };
    if !path.starts_with('/') {
        return Err(refuse("it must start with /"));
    }
    if path.starts_with("//") || path.contains('\\') {
        return Err(refuse("it could lead to another site"));
    }
    if path.len() > 2048
        || path.chars().any(|c| c.is_whitespace() || c.is_control())
        || crate::text::has_hidden(path)
    {
        return Err(refuse("it holds spaces or hidden characters"));
    }
    let host = region.partition().console_host(region);
    let base = Url::parse(&format!("https://{host}/"))
        .map_err(|e| ApiError::InvalidRequest(format!("console URL for {region}: {e}")))?;
    let mut url = base.join(path).map_err(|_| refuse("it does not parse"))?;
    if url.host_str() != Some(host.as_str()) || url.scheme() != "https" {
        return Err(refuse("it leads to another site"));
    }
    if !url.query_pairs().any(|(k, _)| k == "region") {
        url.query_pairs_mut().append_pair("region", region.as_str());
    }
    Ok(url)
}

/// The final `Action=login` URL.
pub fn login_url(
    federation: &Url,
    issuer: &str,
    destination: &Url,
    signin_token: &Secret,
) -> Secret {
    let mut url = federation.clone();
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("Action", "login")
        .append_pair("Issuer", issuer)
        .append_pair("Destination", destination.as_str())
        .append_pair("SigninToken", signin_token.expose());
    Secret::new(String::from(url))
}

/// A URL that first signs the browser out of the console, then goes on to `then` (switching
/// identity in a browser that is already signed in).
pub fn logout_first(federation: &Url, then: &Secret) -> Secret {
    let mut url = federation.clone();
    url.set_path("/oauth");
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("Action", "logout")
        .append_pair("redirect_uri", then.expose());
    Secret::new(String::from(url))
}

/// Opens `url` in a named Firefox container (the `ext+container:` scheme of the Open URL in
/// Container extension).
pub fn firefox_container(container: &str, url: &Secret) -> Secret {
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("name", container)
        .append_pair("url", url.expose())
        .finish();
    Secret::new(format!("ext+container:{encoded}"))
}

/// What the person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleRequest {
    /// Console region (the destination's region, and the sign-in host's).
    pub region: Region,
    pub service: Option<String>,
    /// A console path (wins over `service`), see [`destination_path`].
    pub path: Option<String>,
    /// Shown by AWS when the console session ends; the start URL is a good choice.
    pub issuer: String,
    /// Console session length for non-chained credentials (900 s to 12 h; clamped).
    pub session_duration: Duration,
    /// The credentials came from role chaining: no `SessionDuration`.
    pub chained: bool,
    /// Sign the browser out of the console first.
    pub logout_first: bool,
    /// Open in this Firefox container.
    pub container: Option<String>,
    /// Overrides the partition's federation endpoint (the simulator's in tests and the demo).
    pub federation_url: Option<Url>,
}

impl ConsoleRequest {
    pub fn new(region: Region) -> Self {
        Self {
            region,
            service: None,
            path: None,
            issuer: "Rolecall".into(),
            session_duration: Duration::from_secs(12 * 3600),
            chained: false,
            logout_first: false,
            container: None,
            federation_url: None,
        }
    }
}

/// Gets a sign-in token for `creds` and builds the URL to open.
pub async fn console_url(
    federation: &dyn FederationApi,
    creds: &RoleCredentials,
    request: &ConsoleRequest,
) -> Result<Secret, ApiError> {
    let dest = match &request.path {
        Some(path) => destination_path(&request.region, path)?,
        None => destination(&request.region, request.service.as_deref())?,
    };
    let endpoint = match &request.federation_url {
        Some(url) => url.clone(),
        None => federation_url(&request.region)?,
    };
    let duration = (!request.chained).then(|| {
        request
            .session_duration
            .clamp(Duration::from_secs(900), Duration::from_secs(43_200))
    });
    let token = federation
        .get_signin_token(&endpoint, creds, duration)
        .await?;
    let mut url = login_url(&endpoint, &request.issuer, &dest, &token);
    if request.logout_first {
        url = logout_first(&endpoint, &url);
    }
    if let Some(container) = &request.container {
        url = firefox_container(container, &url);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str) -> Region {
        Region::parse(name).expect("region")
    }

    fn fed(name: &str) -> String {
        federation_url(&r(name)).expect("url").to_string()
    }

    #[test]
    fn a_console_path_stays_on_the_console_host_and_gets_its_region() {
        let url = destination_path(&r("eu-west-1"), "/ec2/home#Instances:").expect("path");
        assert_eq!(
            url.as_str(),
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:"
        );
        let kept = destination_path(&r("eu-west-1"), "/s3/buckets?region=us-east-2").expect("path");
        assert_eq!(
            kept.query(),
            Some("region=us-east-2"),
            "a region the path names stays"
        );
        for hostile in [
            "//evil.example/x",
            "/\\evil.example",
            "https://evil.example/",
            "ec2/home",
            "/ec2/home\u{202e}",
            "/ec2/ home",
            "/%0a",
            "",
        ] {
            match destination_path(&r("us-east-1"), hostile) {
                Err(e) => assert!(e.to_string().contains("not a console path"), "{e}"),
                Ok(url) => assert_eq!(
                    url.host_str(),
                    Some("console.aws.amazon.com"),
                    "{hostile:?} gave {url}"
                ),
            }
        }
    }

    #[test]
    fn hosts_per_partition() {
        assert_eq!(fed("us-east-1"), "https://signin.aws.amazon.com/federation");
        assert_eq!(
            fed("eu-west-1"),
            "https://eu-west-1.signin.aws.amazon.com/federation"
        );
        assert_eq!(
            fed("us-gov-west-1"),
            "https://signin.amazonaws-us-gov.com/federation"
        );
        assert_eq!(
            fed("us-gov-east-1"),
            "https://us-gov-east-1.signin.amazonaws-us-gov.com/federation"
        );
        assert_eq!(fed("cn-north-1"), "https://signin.amazonaws.cn/federation");
        assert_eq!(
            fed("eusc-de-east-1"),
            "https://eusc-de-east-1.signin.amazonaws-eusc.eu/federation"
        );
        assert_eq!(
            destination(&r("us-east-1"), None)
                .expect("dest")
                .to_string(),
            "https://console.aws.amazon.com/console/home?region=us-east-1"
        );
        assert_eq!(
            destination(&r("eu-west-1"), Some("ec2"))
                .expect("dest")
                .to_string(),
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
        );
        assert_eq!(
            destination(&r("cn-north-1"), Some("s3"))
                .expect("dest")
                .to_string(),
            "https://console.amazonaws.cn/s3/home?region=cn-north-1"
        );
        assert!(destination(&r("eu-west-1"), Some("ec2/../../evil")).is_err());
    }

    #[test]
    fn every_parameter_is_encoded() {
        let fed = federation_url(&r("eu-west-1")).expect("fed");
        let dest = destination(&r("eu-west-1"), Some("ec2")).expect("dest");
        let token = Secret::new("tok+en/=&x");
        let login = login_url(&fed, "https://d-123.awsapps.com/start", &dest, &token);
        let parsed = Url::parse(login.expose()).expect("valid url");
        let pairs: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["Action"], "login");
        assert_eq!(pairs["Destination"], dest.as_str());
        assert_eq!(pairs["SigninToken"], "tok+en/=&x");
        assert!(
            !login.expose().contains("Destination=https://"),
            "Destination must be encoded"
        );

        let out = logout_first(&fed, &login);
        let parsed = Url::parse(out.expose()).expect("valid");
        assert_eq!(parsed.path(), "/oauth");
        let back: String = parsed
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("r");
        assert_eq!(back, login.expose());

        let ff = firefox_container("prod admin", &login);
        assert!(
            ff.expose()
                .starts_with("ext+container:name=prod+admin&url=https%3A%2F%2F")
        );
    }

    #[test]
    fn a_destination_is_a_path_when_it_starts_with_a_slash_else_a_service() {
        let region = r("eu-west-1");
        let path = Destination::parse("/ec2/home#Instances:");
        assert_eq!(path, Destination::Path("/ec2/home#Instances:".into()));
        assert_eq!(
            path.url(&region).expect("path").as_str(),
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:"
        );
        let service = Destination::parse("s3");
        assert_eq!(service, Destination::Service("s3".into()));
        assert_eq!(
            service.url(&region).expect("service").as_str(),
            "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"
        );
        assert!(Destination::parse("//evil.example").url(&region).is_err());
        assert!(Destination::parse("ec2 x").url(&region).is_err());
    }
}
