//! Console URLs from arbitrary input (regions, services, issuers, sign-in tokens): building
//! them never panics, and every host in them is one of the partition's sign-in and console
//! hosts; whatever was put in a parameter comes back out of it unchanged.

use proptest::prelude::*;
use rolecall_engine::console::{destination, federation_url, login_url, logout_first};
use rolecall_engine::partition::Region;
use rolecall_engine::secret::Secret;

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "us-east-1",
            "eu-west-1",
            "ap-southeast-3",
            "us-gov-west-1",
            "us-gov-east-1",
            "cn-north-1",
            "cn-northwest-1",
            "eusc-de-east-1",
            "il-central-1",
        ])
        .prop_map(str::to_owned),
        "[a-z]{2,4}(-[a-z]{1,9}){1,2}-[0-9]{1,3}",
        "[a-z0-9:/#.@ -]{0,24}",
        any::<String>(),
        proptest::sample::select(vec![
            "localhost:8080/#",
            "eu-west-1.evil.example",
            "eu-west-1/",
            "eu-west-1#x",
            "eu-west-1@evil",
            "eu-west-1:443",
            "a b",
        ])
        .prop_map(str::to_owned),
    ]
}

fn hosts(url: &url::Url) -> Vec<String> {
    let mut out = vec![url.host_str().unwrap_or("<none>").to_owned()];
    for (_, v) in url.query_pairs() {
        if let Ok(inner) = url::Url::parse(&v)
            && inner.has_host()
        {
            out.extend(hosts(&inner));
        }
    }
    out
}

/// A fixed number of cases from a fixed seed, so every run tries the same values (set
/// `PROPTEST_RNG_SEED` to try others), and no persistence file.
fn fixed(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x5eed_2026);
    }
    config
}

proptest! {
    #![proptest_config(fixed(512))]

    #[test]
    fn console_urls_never_panic_and_never_leave_the_partition(
        raw_region in region(),
        service in proptest::option::of(prop_oneof!["[a-z0-9-]{0,12}", any::<String>()]),
        issuer in any::<String>(),
        token in any::<String>(),
    ) {
        let Ok(region) = Region::parse(&raw_region) else {
            return Ok(());
        };
        let partition = region.partition();
        let federation = federation_url(&region).expect("a region of the table makes a URL");
        prop_assert_eq!(federation.scheme(), "https");
        prop_assert!(partition.owns_console_host(federation.host_str().unwrap_or_default()));
        let Ok(dest) = destination(&region, service.as_deref()) else {
            return Ok(());
        };
        prop_assert!(partition.owns_console_host(dest.host_str().unwrap_or_default()));
        let login = login_url(&federation, &issuer, &dest, &Secret::new(token.clone()));
        let parsed = url::Url::parse(login.expose()).expect("the login URL parses");
        for host in hosts(&parsed) {
            prop_assert!(partition.owns_console_host(&host), "{} left the partition", host);
        }
        let params: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        prop_assert_eq!(&params["SigninToken"], &token);
        prop_assert_eq!(&params["Issuer"], &issuer);
        prop_assert_eq!(&params["Destination"], dest.as_str());
        let out = url::Url::parse(logout_first(&federation, &login).expose()).expect("parses");
        prop_assert!(partition.owns_console_host(out.host_str().unwrap_or_default()));
    }
}
