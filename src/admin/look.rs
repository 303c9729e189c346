//! How the portal shows a school: the name it goes by, the name its emails come from, the
//! colour of its header (the page refuses one white text cannot be read on) and its crest
//! (PNG, JPEG or WebP, known by its first bytes: never SVG). The crest and the colour's
//! stylesheet are served from addresses that change when they do, so browsers keep them.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::settings::{LookFields, page};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{Admins, RequireRole},
    domain::colour,
    error::{AppError, Result},
    page::FieldErrors,
    state::AppState,
    store::look::{self, MAX_CREST_BYTES, sniff_image},
};

/// Saving the look: under the admin router's limits.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        paths::SchoolLook::PATH,
        post(save).layer(DefaultBodyLimit::max(MAX_CREST_BYTES + 64 * 1024)),
    )
}

/// The crest and the colour's stylesheet, for anyone: a school's crest and colour are public.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route(paths::Crest::PATH, get(crest))
        .route(paths::ColourCss::PATH, get(colour_css))
}

const KEEP_A_YEAR: &str = "public, max-age=31536000, immutable";

async fn crest(
    State(state): State<AppState>,
    Path((school_id, sha256)): Path<(Uuid, String)>,
) -> Result<Response> {
    let crest = look::crest(&state.pool, school_id, &sha256)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, crest.media_type),
            (header::CACHE_CONTROL, KEEP_A_YEAR.to_owned()),
            (header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        crest.bytes,
    )
        .into_response())
}

async fn colour_css(Path(hex): Path<String>) -> Result<Response> {
    // Only a colour the settings page would take: nothing else is written into the sheet.
    let colour = colour::checked(&hex).map_err(|_| AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, KEEP_A_YEAR),
        ],
        format!(".site-header {{ background: {colour}; }}\n"),
    )
        .into_response())
}

/// The form as sent: the text fields, the crest's bytes if a file was chosen.
#[derive(Default)]
struct LookForm {
    fields: LookFields,
    crest: Option<Vec<u8>>,
    remove_crest: bool,
}

async fn read(mut multipart: Multipart) -> std::result::Result<LookForm, String> {
    let too_big = || format!("The crest must be {} KB or smaller", MAX_CREST_BYTES / 1024);
    let mut form = LookForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| too_big())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "crest" {
            let bytes = field.bytes().await.map_err(|_| too_big())?;
            if bytes.len() > MAX_CREST_BYTES {
                return Err(too_big());
            }
            if !bytes.is_empty() {
                form.crest = Some(bytes.to_vec());
            }
            continue;
        }
        let text = field.text().await.map_err(|_| too_big())?;
        match name.as_str() {
            "name" => form.fields.name = text,
            "sender_name" => form.fields.sender_name = text,
            "colour" => form.fields.colour = text,
            "remove_crest" => form.remove_crest = true,
            _ => {}
        }
    }
    Ok(form)
}

/// What changed, for the audit log: "the name", "the crest"…
fn changed(before: &[(&'static str, Option<String>)], after: &[Option<String>]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|((_, old), new)| old != *new)
        .map(|((what, _), _)| (*what).to_owned())
        .collect()
}

async fn save(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    multipart: Multipart,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let form = match read(multipart).await {
        Ok(form) => form,
        Err(message) => {
            errors.add("crest", message);
            let page = page(&state, &admin, None, false, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let name = form
        .fields
        .name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match name.chars().count() {
        0 => errors.add("name", "Enter the school's name"),
        201.. => errors.add("name", "The school's name must be 200 characters or fewer"),
        _ => {}
    }
    let sender_name = form.fields.sender_name.trim().to_owned();
    if sender_name.chars().count() > 100 {
        errors.add(
            "sender_name",
            "The name emails come from must be 100 characters or fewer",
        );
    } else if sender_name.contains(['<', '>', '"', '@']) {
        errors.add(
            "sender_name",
            "The name emails come from cannot have < > \" or @ in it",
        );
    }
    let colour = match form.fields.colour.trim() {
        "" => None,
        typed => colour::checked(typed)
            .map_err(|message| errors.add("colour", message))
            .ok(),
    };
    let crest = match &form.crest {
        Some(bytes) => match sniff_image(bytes) {
            Some(media_type) => Some((media_type, bytes)),
            None => {
                errors.add("crest", "The crest must be a PNG, JPEG or WebP image");
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        if form.crest.is_some() && errors.get("crest").is_none() {
            errors.add(
                "crest",
                "Choose the crest again: a file is not kept when another answer needs changing",
            );
        }
        let page = page(&state, &admin, Some(form.fields), false, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let mut tx = state.pool.begin().await?;
    let before = sqlx::query!(
        r#"select s.name, s.sender_name, s.colour, c.sha256 as "crest?"
           from schools s left join school_crests c on c.school_id = s.id
           where s.id = $1 for update of s"#,
        admin.school.id
    )
    .fetch_one(&mut *tx)
    .await?;
    let sender_name = (!sender_name.is_empty()).then_some(sender_name);
    sqlx::query!(
        "update schools set name = $2, sender_name = $3, colour = $4 where id = $1",
        admin.school.id,
        name,
        sender_name,
        colour
    )
    .execute(&mut *tx)
    .await?;
    let mut crest_sha256 = before.crest.clone();
    if let Some((media_type, bytes)) = crest {
        let sha256 = hex::encode(Sha256::digest(bytes));
        sqlx::query!(
            "insert into school_crests (school_id, media_type, bytes, sha256, uploaded_by)
             values ($1, $2, $3, $4, $5)
             on conflict (school_id) do update set media_type = excluded.media_type,
                 bytes = excluded.bytes, sha256 = excluded.sha256,
                 uploaded_by = excluded.uploaded_by, uploaded_at = now()",
            admin.school.id,
            media_type,
            bytes,
            sha256,
            admin.user.id
        )
        .execute(&mut *tx)
        .await?;
        crest_sha256 = Some(sha256);
    } else if form.remove_crest {
        sqlx::query!(
            "delete from school_crests where school_id = $1",
            admin.school.id
        )
        .execute(&mut *tx)
        .await?;
        crest_sha256 = None;
    }
    let what = changed(
        &[
            ("the name", Some(before.name)),
            ("the name emails come from", before.sender_name),
            ("the colour", before.colour),
            ("the crest", before.crest),
        ],
        &[Some(name), sender_name, colour, crest_sha256],
    );
    if !what.is_empty() {
        audit::record(
            &mut *tx,
            Some(admin.school.id),
            Some(admin.user.id),
            &Event::SchoolLookChanged { changed: what },
        )
        .await?;
    }
    tx.commit().await?;
    look::forget(admin.school.id);
    Ok(Redirect::to(&format!(
        "{}?saved=look",
        paths::Settings::new(&admin.school.slug)
    ))
    .into_response())
}
