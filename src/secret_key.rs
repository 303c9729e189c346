//! The portal's secret key: one 256-bit key in a file of its own, never in the database or
//! its backups. It seals the secrets the portal keeps (authenticator secrets, with AEAD), and
//! keys the hashes of what must not be stored in clear (recovery codes, addresses that fail
//! to sign in). The database keeps only the key's id, so a portal started with the wrong
//! key file stops at once instead of failing sign-ins one by one.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use ring::{aead, hmac};

/// What the first line of a key file says, before the version and the key.
const HEADER: &str = "aup-secret-key v1";

#[derive(Clone)]
pub struct SecretKey {
    /// Goes up by one at each rotation; every ciphertext says which version sealed it.
    pub version: u32,
    bytes: [u8; 32],
}

/// Never printed, even in a debug log.
impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(v{}, {})", self.version, self.id())
    }
}

impl SecretKey {
    pub fn generate(version: u32) -> Self {
        SecretKey {
            version,
            bytes: rand::random(),
        }
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let line = text.lines().next().unwrap_or_default();
        let rest = line
            .strip_prefix(HEADER)
            .context("it does not start with 'aup-secret-key v1'")?;
        let mut words = rest.split_whitespace();
        let (Some(version), Some(hex), None) = (words.next(), words.next(), words.next()) else {
            bail!("its line should read 'aup-secret-key v1 <version> <64 hex digits>'");
        };
        let version = version.parse().context("its version is not a number")?;
        let bytes = decode_hex(hex).context("its key is not 64 hex digits")?;
        Ok(SecretKey { version, bytes })
    }

    fn to_text(&self) -> String {
        format!("{HEADER} {} {}\n", self.version, hex(&self.bytes))
    }

    /// Reads the key at `path`, creating it (readable by this user only) if there is none.
    /// Of several portals creating it at once, one wins and the others read its key.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                Self::parse(&text).with_context(|| {
                    format!("the secret key file {} cannot be read", path.display())
                })
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(1);
                match key.write_new(path) {
                    Ok(()) => Ok(key),
                    Err(err) if path.exists() => {
                        tracing::debug!(error = %err, "another portal wrote the key first");
                        Self::load_or_create(path)
                    }
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err)
                .with_context(|| format!("cannot read the secret key file {}", path.display())),
        }
    }

    /// Writes the key to `path`, which must not exist yet: written beside it, then linked
    /// into place, so nobody ever reads half a key.
    pub fn write_new(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let scratch = scratch_path(path);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&scratch)
            .with_context(|| format!("cannot write {}", scratch.display()))?;
        file.write_all(self.to_text().as_bytes())?;
        file.sync_all()?;
        let linked = fs::hard_link(&scratch, path);
        let _ = fs::remove_file(&scratch);
        linked.with_context(|| format!("cannot create the secret key file {}", path.display()))
    }

    /// Replaces the key file at `path` with this key, atomically.
    pub fn replace(&self, path: &Path) -> anyhow::Result<()> {
        let scratch = scratch_path(path);
        self.write_new(&scratch)?;
        fs::rename(&scratch, path)
            .with_context(|| format!("cannot replace the secret key file {}", path.display()))
    }

    /// The key's public name, kept in the database: HMAC of a fixed label, 16 hex digits.
    pub fn id(&self) -> String {
        hex(&self.mac("key id", b"")[..8])
    }

    /// HMAC-SHA256 under a key derived for `purpose`, so no two uses share a key.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &self.bytes),
            purpose.as_bytes(),
        );
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()), data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// `mac` as lower-case hex, for a column.
    pub fn mac_hex(&self, purpose: &str, data: &[u8]) -> String {
        hex(&self.mac(purpose, data))
    }

    fn aead_key(&self) -> aead::LessSafeKey {
        let derived = self.mac("aead", b"");
        // CHACHA20_POLY1305 takes exactly 32 bytes, which `derived` is.
        let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &derived)
            .unwrap_or_else(|_| unreachable!("a 32-byte key fits ChaCha20-Poly1305"));
        aead::LessSafeKey::new(unbound)
    }

    /// Seals `plaintext`, bound to `context` (who and what it is for: a secret copied to
    /// another row or purpose does not open): "v<version>.<nonce hex>.<ciphertext hex>".
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let mut sealed = plaintext.to_vec();
        let nonce = aead::Nonce::assume_unique_for_key(nonce_bytes);
        // Only fails for a message longer than ChaCha20 can count, gigabytes.
        let _ = self.aead_key().seal_in_place_append_tag(
            nonce,
            aead::Aad::from(context.as_bytes()),
            &mut sealed,
        );
        format!("v{}.{}.{}", self.version, hex(&nonce_bytes), hex(&sealed))
    }

    /// The plaintext of what `seal` made with this key and `context`; None if either differs
    /// or it was changed.
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let mut parts = sealed.split('.');
        let version = parts.next()?.strip_prefix('v')?.parse::<u32>().ok()?;
        if version != self.version {
            return None;
        }
        let nonce: [u8; 12] = decode_hex_vec(parts.next()?)?.try_into().ok()?;
        let mut data = decode_hex_vec(parts.next()?)?;
        let plain = self
            .aead_key()
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(context.as_bytes()),
                &mut data,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Whether `text` is what `seal` makes (as against a secret stored before sealing began).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with('v') && text.matches('.').count() == 2
}

fn scratch_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".new-{}", std::process::id()));
    path.with_file_name(name)
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the secret key file can be read by other users: chmod 600 it"
        );
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn decode_hex_vec(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    decode_hex_vec(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = SecretKey::generate(1);
        let sealed = key.seal("totp:alice", b"JBSWY3DPEHPK3PXP");
        assert!(is_sealed(&sealed));
        assert_eq!(
            key.open("totp:alice", &sealed).as_deref(),
            Some(&b"JBSWY3DPEHPK3PXP"[..])
        );
        assert_eq!(key.open("totp:bob", &sealed), None, "bound to its user");
        assert_eq!(SecretKey::generate(1).open("totp:alice", &sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('0') { '1' } else { '0' });
        assert_eq!(key.open("totp:alice", &tampered), None);
        assert_ne!(key.mac_hex("a", b"x"), key.mac_hex("b", b"x"));
    }

    #[test]
    fn a_key_file_is_created_once_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("aup-key-test-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let again = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.id(), again.id());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let next = SecretKey::generate(2);
        next.replace(&path).unwrap();
        assert_eq!(SecretKey::load_or_create(&path).unwrap().version, 2);
        fs::remove_dir_all(dir).unwrap();
    }
}
