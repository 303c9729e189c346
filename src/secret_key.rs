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

/// The portal's keys: the current one, which seals and keys everything new, and those it
/// replaced, kept so that what they sealed or keyed before a rotation still opens.
#[derive(Clone)]
pub struct SecretKey {
    /// The current key's version: it goes up by one at each rotation.
    pub version: u32,
    /// Every key by version, oldest first; the last is the current one.
    keys: Vec<(u32, [u8; 32])>,
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
            keys: vec![(version, rand::random())],
        }
    }

    /// These keys and a new current one, for a rotation.
    pub fn rotated(&self) -> Self {
        let version = self.version + 1;
        let mut keys = self.keys.clone();
        keys.push((version, rand::random()));
        SecretKey { version, keys }
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys = vec![];
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let rest = line
                .strip_prefix(HEADER)
                .context("a line does not start with 'aup-secret-key v1'")?;
            let mut words = rest.split_whitespace();
            let (Some(version), Some(hex), None) = (words.next(), words.next(), words.next())
            else {
                bail!("each line should read 'aup-secret-key v1 <version> <64 hex digits>'");
            };
            let version: u32 = version.parse().context("a version is not a number")?;
            let bytes = decode_hex(hex).context("a key is not 64 hex digits")?;
            keys.push((version, bytes));
        }
        keys.sort_by_key(|(version, _)| *version);
        let Some(&(version, _)) = keys.last() else {
            bail!("it holds no key");
        };
        Ok(SecretKey { version, keys })
    }

    fn to_text(&self) -> String {
        self.keys
            .iter()
            .map(|(version, bytes)| format!("{HEADER} {version} {}\n", hex::encode(bytes)))
            .collect()
    }

    fn bytes(&self, version: u32) -> Option<&[u8; 32]> {
        self.keys
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, bytes)| bytes)
    }

    fn current(&self) -> &[u8; 32] {
        // `parse`, `generate` and `rotated` never leave the list without the current version.
        self.bytes(self.version).unwrap_or(&[0; 32])
    }

    /// Reads the keys at `path`, creating the file (readable by this user only) with a new
    /// key if there is none. Of several portals creating it at once, one wins and the others
    /// read its key.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match Self::load(path)? {
            Some(key) => Ok(key),
            None => {
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
        }
    }

    /// The keys at `path`, or None if there is no such file.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        match fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                Self::parse(&text).map(Some).with_context(|| {
                    format!("the secret key file {} cannot be read", path.display())
                })
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err)
                .with_context(|| format!("cannot read the secret key file {}", path.display())),
        }
    }

    /// Writes the keys to `path`, which must not exist yet: written beside it, then linked
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

    /// The current key's public name, kept in the database: an HMAC of a fixed label.
    pub fn id(&self) -> String {
        hex::encode(&mac_with(self.current(), "key id", b"")[..8])
    }

    /// HMAC-SHA256 under the current key, derived for `purpose`, as lower-case hex: for a
    /// lookup column whose rows live shorter than a key (failed sign-ins, a day).
    pub fn mac_hex(&self, purpose: &str, data: &[u8]) -> String {
        hex::encode(mac_with(self.current(), purpose, data))
    }

    /// A keyed hash that outlives rotations: "v<version>:<hex>", checked by `verify_mac`.
    pub fn mac_versioned(&self, purpose: &str, data: &[u8]) -> String {
        format!("v{}:{}", self.version, self.mac_hex(purpose, data))
    }

    /// Whether `stored`, made by `mac_versioned` with any of these keys, is `data`'s.
    pub fn verify_mac(&self, purpose: &str, data: &[u8], stored: &str) -> bool {
        let Some((version, tag)) = stored
            .strip_prefix('v')
            .and_then(|rest| rest.split_once(':'))
        else {
            return false;
        };
        let (Ok(version), Some(tag)) = (version.parse::<u32>(), decode_hex(tag)) else {
            return false;
        };
        self.bytes(version)
            .is_some_and(|key| hmac::verify(&derived_key(key, purpose), data, &tag).is_ok())
    }

    /// Seals `plaintext` with the current key, bound to `context` (who and what it is for: a
    /// secret copied to another row or purpose does not open):
    /// "v<version>.<nonce hex>.<ciphertext hex>".
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let mut sealed = plaintext.to_vec();
        let nonce = aead::Nonce::assume_unique_for_key(nonce_bytes);
        // Only fails for a message longer than ChaCha20 can count, gigabytes.
        let _ = aead_key(self.current()).seal_in_place_append_tag(
            nonce,
            aead::Aad::from(context.as_bytes()),
            &mut sealed,
        );
        format!(
            "v{}.{}.{}",
            self.version,
            hex::encode(nonce_bytes),
            hex::encode(&sealed)
        )
    }

    /// The plaintext of what `seal` made with any of these keys and `context`; None if the
    /// key is not here, the context differs or the text was changed.
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let mut parts = sealed.split('.');
        let version = parts.next()?.strip_prefix('v')?.parse::<u32>().ok()?;
        let key = self.bytes(version)?;
        let nonce: [u8; 12] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        let mut data = hex::decode(parts.next()?).ok()?;
        let plain = aead_key(key)
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(context.as_bytes()),
                &mut data,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

/// The HMAC key for one purpose, derived from `key`: no two uses share a key.
fn derived_key(key: &[u8; 32], purpose: &str) -> hmac::Key {
    let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), purpose.as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

fn mac_with(key: &[u8; 32], purpose: &str, data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&derived_key(key, purpose), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn aead_key(key: &[u8; 32]) -> aead::LessSafeKey {
    let derived = mac_with(key, "aead", b"");
    // CHACHA20_POLY1305 takes exactly 32 bytes, which `derived` is.
    let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &derived)
        .unwrap_or_else(|_| unreachable!("a 32-byte key fits ChaCha20-Poly1305"));
    aead::LessSafeKey::new(unbound)
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

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
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
    fn a_rotated_key_still_opens_and_checks_what_the_old_one_made() {
        let old = SecretKey::generate(1);
        let sealed = old.seal("totp:alice", b"secret");
        let code = old.mac_versioned("recovery code", b"4f7k2mxq");
        let new = old.rotated();
        assert_eq!(new.version, 2);
        assert_ne!(new.id(), old.id());
        assert_eq!(
            new.open("totp:alice", &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert!(new.verify_mac("recovery code", b"4f7k2mxq", &code));
        assert!(!new.verify_mac("recovery code", b"4f7k2mxr", &code));
        assert!(new.seal("totp:alice", b"secret").starts_with("v2."));
        let reread = SecretKey::parse(&new.to_text()).unwrap();
        assert_eq!(reread.id(), new.id());
        assert_eq!(
            reread.open("totp:alice", &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(old.open("totp:alice", &new.seal("totp:alice", b"x")), None);
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
        fs::remove_dir_all(dir).unwrap();
    }
}
