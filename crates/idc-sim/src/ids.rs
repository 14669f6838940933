//! Random identifiers in the shapes AWS uses: access key ids, user codes, opaque tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// RFC 8628 recommends a user-code alphabet without look-alikes (no vowels, no 0/O, 1/I).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

fn pick(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A URL-safe random token of `bytes` random bytes, with a prefix naming what it is.
pub fn token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf))
}

/// `ASIA` + 16 characters: the shape of temporary access key ids.
pub fn access_key_id() -> String {
    format!("ASIA{}", pick(KEY_ALPHABET, 16))
}

/// `AKIA` + 16 characters: the shape of an IAM user's long-term access key id.
pub fn long_term_access_key_id() -> String {
    format!("AKIA{}", pick(KEY_ALPHABET, 16))
}

/// `AIDA` + 17 characters derived from `seed`: the shape of an IAM user's unique id.
pub fn user_unique_id(seed: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(seed);
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| KEY_ALPHABET[usize::from(*b) % KEY_ALPHABET.len()] as char)
        .collect();
    format!("AIDA{tail}")
}

/// 40 characters, as secret access keys are.
pub fn secret_access_key() -> String {
    let mut buf = [0u8; 30];
    rand::rng().fill(&mut buf);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// `ABCD-EFGH`.
pub fn user_code() -> String {
    format!(
        "{}-{}",
        pick(USER_CODE_ALPHABET, 4),
        pick(USER_CODE_ALPHABET, 4)
    )
}

/// A request id in the UUID shape.
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let akid = super::access_key_id();
        assert!(akid.starts_with("ASIA") && akid.len() == 20);
        assert_eq!(super::secret_access_key().len(), 40);
        let long = super::long_term_access_key_id();
        assert!(long.starts_with("AKIA") && long.len() == 20);
        assert_eq!(super::user_unique_id(b"a"), super::user_unique_id(b"a"));
        assert_eq!(super::user_unique_id(b"a").len(), 21);
        let code = super::user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
    }
}
