//! What a checked ID token says, read into the portal's words.

use serde::{Deserialize, Serialize};

/// What a checked ID token says, in the words the portal's rules use.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// Entra: the tenant, the object ID, 1 for a guest, the guest's home issuer, and whether
    /// the email's domain is verified by the tenant (`xms_edov`).
    pub tid: Option<String>,
    pub oid: Option<String>,
    pub acct: Option<i64>,
    pub idp: Option<String>,
    pub xms_edov: Option<bool>,
    /// Google: the Workspace domain.
    pub hd: Option<String>,
    /// How the provider says the person signed in, where it says.
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// Every claim, for the settings page's test sign-in.
    pub all: serde_json::Map<String, serde_json::Value>,
}
