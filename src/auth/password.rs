//! Password hashing with argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1, the crate's
//! defaults), always off the async runtime: one hash takes tens of milliseconds of a core.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier},
};

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Verified against when the email is unknown, so that answer takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("not anyone's password").unwrap_or_else(|_| {
        // Only reachable if the system's random source fails; verification then fails fast.
        String::new()
    })
});

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing a password: {err}"))
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .context("password hashing task")?
}

/// True when `password` matches `stored`. With no stored hash (unknown person, or one who has
/// not set a password yet) a dummy hash is checked instead, and the answer is false.
pub async fn verify(stored: Option<String>, password: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = hasher()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && known
    })
    .await
    .context("password verification task")
}

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;
pub const RECOMMENDED_LENGTH: usize = 15;

/// The 20,000 most common passwords of 8 or more characters, lower-cased, from the
/// SecLists "10 million passwords" list (OWASP). Attackers try these first.
static COMMON: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
});

/// The samples' own rule: at least 8 characters (15 recommended), no composition rules,
/// and none of the passwords attackers try first.
pub fn check_new(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Err(format!(
            "Your password must be at least {MIN_LENGTH} characters long"
        ))
    } else if length > MAX_LENGTH {
        Err(format!(
            "Your password must be {MAX_LENGTH} characters or fewer"
        ))
    } else if COMMON.contains(password.to_lowercase().as_str()) {
        Err("This password is one of the most common, which attackers try first. Choose another: three or four random words are hard to guess".to_owned())
    } else {
        Ok(())
    }
}

/// Warm the dummy hash at start, so the first unknown-email sign-in is not the slow one.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert!(check_new("seven77").is_err());
        assert!(check_new(&"x".repeat(129)).is_err());
        assert!(check_new("Password").unwrap_err().contains("most common"));
        assert!(check_new("trustno1").is_err());
        assert!(check_new("correct horse battery staple").is_ok());
        assert!(
            check_new(&"long enough ".repeat(10)).is_ok(),
            "64 characters and more are allowed"
        );
        assert!(COMMON.len() >= 10_000);
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hash = hash("correct horse battery".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify(Some(hash.clone()), "correct horse battery".into())
                .await
                .unwrap()
        );
        assert!(
            !verify(Some(hash), "wrong horse battery".into())
                .await
                .unwrap()
        );
        assert!(!verify(None, "not anyone's password".into()).await.unwrap());
    }
}
