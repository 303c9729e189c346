//! Page chrome every page shares: the navigation bar and a rejected form's messages.

/// The top bar of every page.
#[derive(Default, Clone)]
pub struct Nav {
    pub user_name: Option<String>,
    pub school_slug: Option<String>,
    pub school_name: Option<String>,
    /// The sections this person's roles open: (address, name).
    pub links: Vec<(String, &'static str)>,
    /// No mail server is set, and this person's work sends email (the SBM, DPO, head and
    /// admin): every page says so.
    pub mail_waits: bool,
}

/// Messages for a rejected form, in the order of its fields.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// For a problem found after the others, that belongs before them on the page.
    pub fn add_first(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.insert(0, (field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message next to one field, if it was rejected.
    pub fn get(&self, field: impl AsRef<str>) -> Option<&str> {
        let field = field.as_ref();
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }
}
