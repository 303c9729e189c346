//! How the portal shows a school: its header colour and its crest. Every school page reads
//! it, so each instance keeps it for a minute rather than ask the database each time; the
//! instance that saves a change forgets its copy at once, the others within the minute.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use sqlx::PgPool;
use uuid::Uuid;

/// The largest crest a school may upload.
pub const MAX_CREST_BYTES: usize = 256 * 1024;

/// How long an instance keeps a school's look before reading it again.
const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Default, PartialEq)]
pub struct Look {
    /// "#1d70b8": white text reads on it.
    pub colour: Option<String>,
    /// The crest's SHA-256, which its address carries: a new crest has a new address.
    pub crest_sha256: Option<String>,
}

static LOOKS: LazyLock<Cache<Uuid, (Instant, Arc<Look>)>> = LazyLock::new(|| Cache::new(4096));

/// The school's look, from this instance's copy if it is fresh.
pub async fn of(pool: &PgPool, school_id: Uuid) -> sqlx::Result<Arc<Look>> {
    if let Some((read_at, look)) = LOOKS.get(&school_id)
        && read_at.elapsed() < FRESH_FOR
    {
        return Ok(look);
    }
    let look = sqlx::query_as!(
        Look,
        r#"select s.colour, c.sha256 as "crest_sha256?"
           from schools s left join school_crests c on c.school_id = s.id
           where s.id = $1"#,
        school_id
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or_default();
    let look = Arc::new(look);
    LOOKS.insert(school_id, (Instant::now(), look.clone()));
    Ok(look)
}

/// After a change: this instance reads the school's look again on its next page.
pub fn forget(school_id: Uuid) {
    LOOKS.remove(&school_id);
}

/// The image type of `bytes`, by their first bytes: PNG, JPEG or WebP, never SVG (which can
/// carry script) nor anything else, whatever the file's name says.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A school's crest, as stored.
pub struct Crest {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// The school's crest with this hash, if it is still the school's crest.
pub async fn crest(pool: &PgPool, school_id: Uuid, sha256: &str) -> sqlx::Result<Option<Crest>> {
    sqlx::query_as!(
        Crest,
        "select media_type, bytes from school_crests where school_id = $1 and sha256 = $2",
        school_id,
        sha256
    )
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::sniff_image;

    #[test]
    fn a_crest_is_known_by_its_first_bytes_and_svg_never_passes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(
            sniff_image(&[0xff, 0xd8, 0xff, 0xe0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            sniff_image(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            None
        );
        assert_eq!(sniff_image(b"<?xml version=\"1.0\"?><svg/>"), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
        assert_eq!(sniff_image(b""), None);
    }
}
