//! Who must sign a version and whether they have, as the dashboard, the evidence pages and
//! the exports read it; and the cell rule every CSV export follows.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{
    clock,
    domain::{groups::Group, statuses::AgreementMethod},
};

/// One person who must sign a version, and whether (and how) they have.
#[derive(Clone, Debug)]
pub struct Signer {
    pub membership_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub grp: Group,
    pub job_title: String,
    pub joined: OffsetDateTime,
    pub signed_at: Option<OffsetDateTime>,
    pub method: Option<AgreementMethod>,
    /// The hash on the agreement itself: the content that was on screen.
    pub content_sha256: Option<String>,
    pub last_reminded: Option<OffsetDateTime>,
}

impl Signer {
    /// Days since they first owed this signature: since publishing, or since they joined.
    pub fn days_outstanding(&self, published_at: OffsetDateTime, today: Date) -> i64 {
        let since = clock::uk(published_at.max(self.joined)).date();
        (today - since).whole_days().max(0)
    }
}

/// Everyone who must sign the version (`must_sign`), with their agreement to it if any.
pub async fn signers(
    db: &sqlx::PgPool,
    school_id: Uuid,
    version_id: Uuid,
) -> sqlx::Result<Vec<Signer>> {
    // In a file of its own so that the dashboard benchmark explains this very query.
    sqlx::query_file_as!(Signer, "src/compliance/signers.sql", school_id, version_id)
        .fetch_all(db)
        .await
}
