//! Password hashing with argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1, the crate's
//! defaults), always off the async runtime: one hash takes tens of milliseconds of a core.
//! At most one hash per core runs at once, each on a thread that keeps its 19 MiB of argon2
//! memory; the rest wait their turn. Run all at once, 64 sign-ins would each hold 19 MiB and
//! fight over the caches: slower, and far more memory.

use std::{
    cell::RefCell,
    sync::{Arc, LazyLock, Mutex},
};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{PasswordHasher, phc::Output},
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

type Job = Box<dyn FnOnce() + Send>;

/// One thread per core that does nothing but argon2, taking jobs in turn. Threads of their
/// own, not the blocking pool: each keeps one 19 MiB block in its own allocator arena and
/// reuses it, where hundreds of pool threads would each keep one.
static WORKERS: LazyLock<Mutex<std::sync::mpsc::Sender<Job>>> = LazyLock::new(|| {
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start a password hashing thread");
        }
    }
    Mutex::new(jobs)
});

/// Runs `work` on a password hashing thread once one is free.
async fn on_a_free_core<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    WORKERS
        .lock()
        .map_err(|_| anyhow::anyhow!("password hashing threads stopped"))?
        .send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| anyhow::anyhow!("password hashing threads stopped"))?;
    answered.await.context("password hashing thread")
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("hashing a password: {err}"))
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    on_a_free_core(move || hash_blocking(&password)).await?
}

/// True when `password` matches `stored`. With no stored hash (unknown person, or one who has
/// not set a password yet) a dummy hash is checked instead, and the answer is false.
pub async fn verify(stored: Option<String>, password: String) -> anyhow::Result<bool> {
    on_a_free_core(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        matches(password.as_bytes(), &hash) && known
    })
    .await
}

thread_local! {
    /// This thread's argon2 memory, kept from one check to the next rather than 19 MiB
    /// allocated and freed each time.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` gives the hash in the PHC string `stored`: what argon2's own verifier
/// does, computed in this thread's kept memory. The comparison is constant-time (`Output`).
fn matches(password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&phc),
        Algorithm::try_from(phc.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let computed = MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            &mut out,
            &mut memory[..blocks],
        )
    });
    computed.is_ok() && Output::new(&out).is_ok_and(|computed| &computed == expected)
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
        // The list is what SECURITY.md says: 20,000 of them, each 8 characters or more.
        assert_eq!(COMMON.len(), 20_000);
        assert!(COMMON.iter().all(|p| p.chars().count() >= MIN_LENGTH));
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
