//! AWS partitions and the grammar of what names things in them: regions, account ids, role
//! names and ARNs, console services.
//!
//! Hosts that receive secrets (the federation endpoint gets the secret key and session token)
//! are built only from [`Partition`]'s table and a [`Region`] that matched the partition's
//! grammar, so no input (`--region 'localhost:PORT/#'`, a config value) can choose where a
//! secret goes. The one way to another host is an explicit endpoint override.

use std::fmt;

/// An AWS partition Rolecall can sign in to the console of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    Aws,
    AwsUsGov,
    AwsCn,
    AwsEusc,
}

impl Partition {
    pub const ALL: [Partition; 4] = [Self::Aws, Self::AwsUsGov, Self::AwsCn, Self::AwsEusc];

    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsUsGov => "aws-us-gov",
            Self::AwsCn => "aws-cn",
            Self::AwsEusc => "aws-eusc",
        }
    }

    /// The partition whose region grammar `region` matches (the regular expressions of the
    /// SDKs' partition table, with lower-case letters where they allow `\w`).
    fn of(region: &str) -> Option<Self> {
        let parts: Vec<&str> = region.split('-').collect();
        let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
        let number = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        match parts.as_slice() {
            ["us", "gov", w, n] if word(w) && number(n) => Some(Self::AwsUsGov),
            ["cn", w, n] if word(w) && number(n) => Some(Self::AwsCn),
            ["eusc", "de", w, n] if word(w) && number(n) => Some(Self::AwsEusc),
            [p, w, n]
                if ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"].contains(p)
                    && word(w)
                    && number(n) =>
            {
                Some(Self::Aws)
            }
            _ => None,
        }
    }

    /// The partition's DNS suffix for service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Self::Aws | Self::AwsUsGov => "amazonaws.com",
            Self::AwsCn => "amazonaws.com.cn",
            Self::AwsEusc => "amazonaws.eu",
        }
    }

    /// The partition's DNS suffix for dual-stack (IPv4 and IPv6) endpoints.
    pub fn dual_stack_dns_suffix(self) -> &'static str {
        match self {
            Self::Aws | Self::AwsUsGov => "api.aws",
            Self::AwsCn => "api.amazonwebservices.com.cn",
            Self::AwsEusc => "api.amazonwebservices.eu",
        }
    }

    /// The console sign-in (federation) host for `region`.
    pub fn signin_host(self, region: &Region) -> String {
        let r = region.as_str();
        match self {
            Self::Aws if r == "us-east-1" => "signin.aws.amazon.com".into(),
            Self::Aws => format!("{r}.signin.aws.amazon.com"),
            Self::AwsUsGov if r == "us-gov-west-1" => "signin.amazonaws-us-gov.com".into(),
            Self::AwsUsGov => format!("{r}.signin.amazonaws-us-gov.com"),
            Self::AwsCn => "signin.amazonaws.cn".into(),
            Self::AwsEusc => format!("{r}.signin.amazonaws-eusc.eu"),
        }
    }

    /// The console host for `region`.
    pub fn console_host(self, region: &Region) -> String {
        let r = region.as_str();
        match self {
            Self::Aws if r == "us-east-1" => "console.aws.amazon.com".into(),
            Self::Aws => format!("{r}.console.aws.amazon.com"),
            Self::AwsUsGov => "console.amazonaws-us-gov.com".into(),
            Self::AwsCn => "console.amazonaws.cn".into(),
            Self::AwsEusc => "console.amazonaws-eusc.eu".into(),
        }
    }

    /// Whether `host` is one of this partition's console or sign-in hosts (for any region).
    pub fn owns_console_host(self, host: &str) -> bool {
        let suffixes: &[&str] = match self {
            Self::Aws => &["signin.aws.amazon.com", "console.aws.amazon.com"],
            Self::AwsUsGov => &[
                "signin.amazonaws-us-gov.com",
                "console.amazonaws-us-gov.com",
            ],
            Self::AwsCn => &["signin.amazonaws.cn", "console.amazonaws.cn"],
            Self::AwsEusc => &["signin.amazonaws-eusc.eu", "console.amazonaws-eusc.eu"],
        };
        suffixes.iter().any(|s| {
            host == *s
                || host
                    .strip_suffix(s)
                    .and_then(|p| p.strip_suffix('.'))
                    .is_some_and(|region| Partition::of(region) == Some(self))
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A region name that matched its partition's grammar (`eu-west-1`, `us-gov-east-1`,
/// `cn-north-1`, `eusc-de-east-1`). The only way to make one is [`Region::parse`] (which
/// deserialising goes through too).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region {
    name: String,
    partition: Partition,
}

impl Region {
    pub fn parse(s: &str) -> Result<Self, String> {
        match Partition::of(s) {
            Some(partition) => Ok(Self {
                name: s.to_owned(),
                partition,
            }),
            None => Err(format!(
                "{:?} is not an AWS region (such as eu-west-1, us-gov-west-1, cn-north-1)",
                crate::text::printable(s)
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn partition(&self) -> Partition {
        self.partition
    }
}

impl std::str::FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.name
    }
}

impl PartialEq<str> for Region {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `eu-west-1`, `us-gov-east-1`, `cn-north-1`, `eusc-de-east-1`, ...
pub fn is_region(s: &str) -> bool {
    Partition::of(s).is_some()
}

/// Twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn iam_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b)
}

/// An IAM role name (and so a permission set's): 1 to 64 of `A-Za-z0-9_+=,.@-`.
pub fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(iam_name_char)
}

/// `arn:<partition>:iam::<account id>:role/<path/>name`.
pub fn is_role_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return false;
    };
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    Partition::ALL.iter().any(|p| p.name() == partition)
        && is_account_id(account)
        && is_role_name(name)
        && path_and_name.len() <= 512
        && path_and_name.bytes().all(|b| b == b'/' || iam_name_char(b))
}

/// A console service's path segment: `ec2`, `s3`, `cloudwatch`, `iam`, `billing`, ...
pub fn is_console_service(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_match_their_partitions_grammar() {
        for (r, p) in [
            ("us-east-1", Partition::Aws),
            ("ap-southeast-3", Partition::Aws),
            ("il-central-1", Partition::Aws),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("cn-northwest-1", Partition::AwsCn),
            ("eusc-de-east-1", Partition::AwsEusc),
        ] {
            assert_eq!(Region::parse(r).map(|r| r.partition()), Ok(p), "{r}");
        }
        for bad in [
            "a b",
            "localhost:8080/#",
            "eu-west-1.evil.example",
            "eu-west-1/",
            "EU-WEST-1",
            "xx-west-1",
            "eu--1",
            "eu-west-123",
            "",
            "us-iso-east-1",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn names_arns_and_services() {
        assert!(is_account_id("111111111111") && !is_account_id("11111111111a"));
        assert!(is_role_name("AdministratorAccess") && is_role_name("a+b=c,d.e@f-g_h"));
        assert!(!is_role_name("Admin\n[profile default]") && !is_role_name("a b"));
        assert!(is_role_arn("arn:aws:iam::222222222222:role/Deployer"));
        assert!(is_role_arn(
            "arn:aws-cn:iam::222222222222:role/team/Deployer"
        ));
        assert!(!is_role_arn("arn:aws:iam::222222222222:user/bob"));
        assert!(!is_role_arn("arn:evil:iam::222222222222:role/x"));
        assert!(is_console_service("ec2") && is_console_service("cloudwatch"));
        assert!(!is_console_service("ec2/../../x") && !is_console_service("a b"));
    }

    #[test]
    fn console_hosts_are_recognised_per_partition() {
        let r = Region::parse("eu-west-1").expect("region");
        let host = Partition::Aws.signin_host(&r);
        assert!(Partition::Aws.owns_console_host(&host));
        assert!(Partition::Aws.owns_console_host("console.aws.amazon.com"));
        assert!(!Partition::Aws.owns_console_host("evil.signin.aws.amazon.com"));
        assert!(!Partition::Aws.owns_console_host("signin.aws.amazon.com.evil.example"));
        assert!(!Partition::AwsCn.owns_console_host(&host));
    }
}
