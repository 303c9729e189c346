//! The one check of an email address's syntax, used by the people form, the CSV import,
//! `create-admin` and a person changing their own address: lettre's, which is the parser
//! that will send to it, plus a dot in the domain (no school mails a bare host).

/// Refuses what cannot be a person's address, with the message to show next to the field.
pub fn check(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("Enter an email address");
    }
    if crate::input::unusable(email, false).is_some() {
        return Err("Enter an email address without spaces, control or invisible characters");
    }
    let parsed = email.parse::<lettre::Address>();
    let dotted = email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
    if parsed.is_err() || !dotted || email.len() > 254 {
        return Err("Enter an email address in the right format, like name@school.example");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn addresses_people_have_pass_and_others_do_not() {
        for good in ["sam@school.example", "o'neil.j+aup@st-marys.sch.uk"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "not-an-email",
            "a@b",
            "two@@school.example",
            "sam @school.example",
            "sam@school.example, eve@evil.example",
            "sam@school.",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
