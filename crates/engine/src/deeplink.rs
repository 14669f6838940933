//! `rolecall://` links: a console for a role, written in a runbook or a chat, opened through
//! the running app (or `rolecall open`). A link holds no secret: it names a role, and the app
//! asks before opening one the person has not used.
//!
//! `rolecall://console?account=<id or name>&role=<name>[&session=<name>][&path=<console path>
//! | &service=<service>][&region=<region>]`. Anything else in a link (another action, an
//! unknown parameter, a parameter twice, a path that leaves the console) is refused.

use crate::partition::{Region, is_role_name};
use crate::text::{has_hidden, printable};

pub const SCHEME: &str = "rolecall";

/// A console link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsoleLink {
    pub account: String,
    pub role: String,
    pub session: Option<String>,
    pub path: Option<String>,
    pub service: Option<String>,
    pub region: Option<String>,
}

fn word(name: &str, value: &str, max: usize) -> Result<String, String> {
    if value.trim().is_empty() || value.chars().count() > max || has_hidden(value) {
        return Err(format!(
            "the link's {name} {:?} must be 1 to {max} printable characters",
            printable(value)
        ));
    }
    Ok(value.to_owned())
}

impl ConsoleLink {
    pub fn parse(link: &str) -> Result<Self, String> {
        let refuse = |why: String| format!("{:?} is not a Rolecall link: {why}", printable(link));
        let url = url::Url::parse(link.trim()).map_err(|e| refuse(e.to_string()))?;
        if url.scheme() != SCHEME {
            return Err(refuse(format!("it must start with {SCHEME}://")));
        }
        if url.host_str() != Some("console") || !matches!(url.path(), "" | "/") {
            return Err(refuse("the only kind is rolecall://console?...".into()));
        }
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it has parts a Rolecall link does not have".into()));
        }
        let mut out = ConsoleLink::default();
        let mut seen = std::collections::HashSet::new();
        for (k, v) in url.query_pairs() {
            if !seen.insert(k.to_string()) {
                return Err(refuse(format!("{k} is given twice")));
            }
            match k.as_ref() {
                "account" => out.account = word("account", &v, 64).map_err(&refuse)?,
                "role" => out.role = word("role", &v, 64).map_err(&refuse)?,
                "session" => out.session = Some(word("session", &v, 64).map_err(&refuse)?),
                "path" => {
                    crate::config::check_destination(&v).map_err(&refuse)?;
                    if !v.starts_with('/') {
                        return Err(refuse("path must start with /".into()));
                    }
                    out.path = Some(v.into_owned());
                }
                "service" => {
                    if v.starts_with('/') {
                        return Err(refuse("service is a name such as ec2".into()));
                    }
                    crate::config::check_destination(&v).map_err(&refuse)?;
                    out.service = Some(v.into_owned());
                }
                "region" => {
                    Region::parse(&v).map_err(&refuse)?;
                    out.region = Some(v.into_owned());
                }
                other => {
                    return Err(refuse(format!(
                        "{:?} is not a parameter of a console link",
                        printable(other)
                    )));
                }
            }
        }
        if out.account.is_empty() || out.role.is_empty() {
            return Err(refuse("it must name an account and a role".into()));
        }
        if !is_role_name(&out.role) {
            return Err(refuse(format!(
                "{:?} is not a role name",
                printable(&out.role)
            )));
        }
        if out.path.is_some() && out.service.is_some() {
            return Err(refuse("give a path or a service, not both".into()));
        }
        Ok(out)
    }

    /// The link, every value encoded.
    pub fn to_link(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("account", &self.account);
        q.append_pair("role", &self.role);
        for (k, v) in [
            ("session", &self.session),
            ("path", &self.path),
            ("service", &self.service),
            ("region", &self.region),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        format!("{SCHEME}://console?{}", q.finish())
    }

    /// What it opens, in words, before it is resolved: the names as the link gives them.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "the AWS console as {} in account {}",
            printable(&self.role),
            printable(&self.account)
        );
        if let Some(session) = &self.session {
            s.push_str(&format!(" of session {}", printable(session)));
        }
        s.push_str(&self.place_words());
        s
    }

    /// What it opens once resolved, for the question asked before opening it (the CLI's and
    /// the app's): the role, the account's name and id, and the session it is in, so links
    /// into two organisations whose accounts share a name never read alike.
    pub fn describe_resolved(
        &self,
        role: &str,
        account_name: &str,
        account_id: &str,
        session: &str,
    ) -> String {
        format!(
            "the AWS console as {} in {} ({}) of session {}{}",
            printable(role),
            printable(account_name),
            printable(account_id),
            printable(session),
            self.place_words()
        )
    }

    /// ` at PATH-OR-SERVICE in REGION`, as much of it as the link names.
    fn place_words(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.path.as_ref().or(self.service.as_ref()) {
            s.push_str(&format!(" at {}", printable(p)));
        }
        if let Some(r) = &self.region {
            s.push_str(&format!(" in {}", printable(r)));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_round_trips_with_every_value_encoded() {
        let link = ConsoleLink {
            account: "payments prod".into(),
            role: "ReadOnlyAccess".into(),
            session: Some("work".into()),
            path: Some("/ec2/home#Instances:".into()),
            service: None,
            region: Some("eu-west-1".into()),
        };
        let text = link.to_link();
        assert!(
            text.starts_with("rolecall://console?account=payments+prod&role=ReadOnlyAccess"),
            "{text}"
        );
        assert_eq!(ConsoleLink::parse(&text).expect("parses"), link);
        assert!(
            link.describe()
                .contains("ReadOnlyAccess in account payments prod of session work at /ec2/home")
        );
    }

    /// Two organisations whose accounts share a name: the question names the account id and
    /// the session, so the two links never read alike.
    #[test]
    fn a_link_question_names_the_account_id_and_the_session() {
        let link = |session: &str| ConsoleLink {
            account: "payments-prod".into(),
            role: "ReadOnlyAccess".into(),
            session: Some(session.into()),
            path: None,
            service: None,
            region: None,
        };
        let corp = link("corp").describe_resolved(
            "ReadOnlyAccess",
            "payments-prod",
            "111111111111",
            "corp",
        );
        let lab =
            link("lab").describe_resolved("ReadOnlyAccess", "payments-prod", "999999999999", "lab");
        assert_eq!(
            corp,
            "the AWS console as ReadOnlyAccess in payments-prod (111111111111) of session corp"
        );
        assert!(lab.contains("(999999999999) of session lab"), "{lab}");
        assert_ne!(corp, lab);
    }

    #[test]
    fn hostile_links_are_refused() {
        for bad in [
            "https://console?account=1&role=Admin",
            "rolecall://credentials?account=1&role=Admin",
            "rolecall://console/x?account=1&role=Admin",
            "rolecall://console?account=1",
            "rolecall://console?account=1&role=Admin&role=Other",
            "rolecall://console?account=1&role=Admin&SigninToken=abc",
            "rolecall://console?account=1&role=Admin&path=//evil.example/",
            "rolecall://console?account=1&role=Admin&path=https://evil.example/",
            "rolecall://console?account=1&role=Admin&service=/ec2",
            "rolecall://console?account=1&role=Admin&region=mars-1",
            "rolecall://console?account=%E2%80%AEx&role=Admin",
            "rolecall://console?account=1&role=Ad%0Amin",
            "rolecall://console?account=1&role=Admin&path=/ec2/home&service=s3",
            "rolecall://console?account=1&role=Admin#frag",
        ] {
            let err = ConsoleLink::parse(bad).expect_err(bad);
            assert!(err.contains("not a Rolecall link"), "{bad}: {err}");
        }
    }
}
