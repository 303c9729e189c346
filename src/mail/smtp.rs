//! Delivery over SMTP with lettre. `SMTP_URL` is smtp:// (STARTTLS, required), smtps://
//! (TLS from the start) or smtp://…?tls=none (plain, for a relay on the same host).

use std::time::Duration;

use anyhow::{Context, bail};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
};

/// One queued email, as the sender hands it over.
pub struct Envelope<'a> {
    pub id: uuid::Uuid,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The school's own name for its emails' sender, before the portal's address.
    pub from_name: Option<&'a str>,
    /// The school's crest, embedded in the HTML at the top: (media type, bytes).
    pub crest: Option<(&'a str, &'a [u8])>,
}

/// The Content-ID the HTML's crest is found by.
const CREST_CID: &str = "crest";

/// `html` with the crest as its first line, just inside its body.
fn with_crest(html: &str) -> String {
    let image = format!(r#"<p><img src="cid:{CREST_CID}" alt="" height="64"></p>"#);
    match html
        .find("<body")
        .and_then(|at| html[at..].find('>').map(|end| at + end + 1))
    {
        Some(inside) => format!("{}{image}{}", &html[..inside], &html[inside..]),
        None => format!("{image}{html}"),
    }
}

pub enum SendError {
    /// The server or the address refuses it for good: retrying will not help.
    Permanent(String),
    Transient(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    message_id_domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// The SMTP URL in lettre's terms: STARTTLS unless the URL says otherwise.
fn lettre_url(smtp_url: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(smtp_url).context("SMTP_URL is not a URL")?;
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    match (url.scheme(), tls.as_deref()) {
        ("smtps", _) => {}
        ("smtp", None) => {
            url.query_pairs_mut().append_pair("tls", "required");
        }
        ("smtp", Some("none")) => url.set_query(None),
        ("smtp", Some("required" | "opportunistic")) => {}
        (scheme, tls) => bail!(
            "SMTP_URL must start smtp:// (STARTTLS) or smtps://, with ?tls=none for a plain local relay; \
             got {scheme}:// with tls={tls:?}"
        ),
    }
    Ok(url.to_string())
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str, base_url: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(smtp_url)?)
            .context("SMTP_URL")?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("AUP_MAIL_FROM is not an email address: {from}"))?;
        let message_id_domain = url::Url::parse(base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "aup-portal.invalid".to_owned());
        Ok(Mailer {
            transport,
            from,
            message_id_domain,
        })
    }

    pub async fn send(&self, email: &Envelope<'_>) -> Result<(), SendError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| SendError::Permanent("not a valid email address".to_owned()))?;
        let from = match email.from_name {
            Some(name) => Mailbox::new(Some(name.to_owned()), self.from.email.clone()),
            None => self.from.clone(),
        };
        let body = match email.crest {
            None => MultiPart::alternative_plain_html(email.text.to_owned(), email.html.to_owned()),
            Some((media_type, bytes)) => {
                let content_type = ContentType::parse(media_type).map_err(|err| {
                    SendError::Permanent(format!("the crest's type cannot be sent: {err}"))
                })?;
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(email.text.to_owned()))
                    .multipart(
                        MultiPart::related()
                            .singlepart(SinglePart::html(with_crest(email.html)))
                            .singlepart(
                                Attachment::new_inline(CREST_CID.to_owned())
                                    .body(bytes.to_vec(), content_type),
                            ),
                    )
            }
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject)
            // The same outbox row always has the same Message-ID, so a resend is recognisable.
            .message_id(Some(format!("<{}@{}>", email.id, self.message_id_domain)))
            .multipart(body)
            .map_err(|err| SendError::Permanent(format!("cannot build the message: {err}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendError::Permanent(err.to_string())),
            Err(err) => Err(SendError::Transient(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lettre_url;

    #[test]
    fn smtp_urls_default_to_starttls() {
        assert_eq!(
            lettre_url("smtp://u:p@mail.example:587").unwrap(),
            "smtp://u:p@mail.example:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtp://127.0.0.1:25?tls=none").unwrap(),
            "smtp://127.0.0.1:25"
        );
        assert_eq!(
            lettre_url("smtps://mail.example").unwrap(),
            "smtps://mail.example"
        );
        assert!(lettre_url("http://mail.example").is_err());
    }
}
