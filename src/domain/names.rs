//! A person's name as schools hold it: a legal forename, a preferred forename (Sam for
//! Samantha), a surname, and the name they type when they sign, which is their legal name
//! unless the school says otherwise. Pages show the preferred forename and the surname;
//! lists sort by surname.

/// The longest forename or surname kept; a whole name may be up to 200 characters.
pub const PART_MAX: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    pub legal_forename: String,
    /// Empty when the person goes by their legal forename.
    pub preferred_forename: String,
    pub surname: String,
    pub signing_name: String,
}

impl Name {
    /// From the parts; an empty signing name becomes the legal forename and surname.
    /// Parts are expected already normalised (trimmed, single spaces).
    pub fn from_parts(legal: &str, preferred: &str, surname: &str, signing: &str) -> Name {
        let preferred = if preferred.eq_ignore_ascii_case(legal) {
            ""
        } else {
            preferred
        };
        let signing = if signing.is_empty() {
            joined(legal, surname)
        } else {
            signing.to_owned()
        };
        Name {
            legal_forename: legal.to_owned(),
            preferred_forename: preferred.to_owned(),
            surname: surname.to_owned(),
            signing_name: signing,
        }
    }

    /// From one whole name, as older files and the first releases kept it: the last word
    /// is the best guess at the surname, and the whole name is the one to type. The
    /// migration that added the parts split existing names the same way.
    pub fn from_full(full: &str) -> Name {
        let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
        let (forename, surname) = match full.rsplit_once(' ') {
            Some((forename, surname)) => (forename, surname),
            None => (full.as_str(), ""),
        };
        Name {
            legal_forename: forename.to_owned(),
            preferred_forename: String::new(),
            surname: surname.to_owned(),
            signing_name: full.clone(),
        }
    }

    /// The forename the person goes by.
    pub fn forename(&self) -> &str {
        if self.preferred_forename.is_empty() {
            &self.legal_forename
        } else {
            &self.preferred_forename
        }
    }

    /// This name brought up to date from a list that carries no signing names (an MIS
    /// export, a CSV): a signing name the school set by hand is kept for as long as the
    /// legal name it was set beside is the same, and follows the new legal name otherwise.
    pub fn updated_to(&self, new: Name) -> Name {
        let set_by_hand = self.signing_name != joined(&self.legal_forename, &self.surname);
        if set_by_hand && self.legal_forename == new.legal_forename && self.surname == new.surname {
            Name {
                signing_name: self.signing_name.clone(),
                ..new
            }
        } else {
            new
        }
    }

    /// The name pages and emails show.
    pub fn shown(&self) -> String {
        joined(self.forename(), &self.surname)
    }
}

fn joined(forename: &str, surname: &str) -> String {
    match (forename.is_empty(), surname.is_empty()) {
        (false, false) => format!("{forename} {surname}"),
        (true, _) => surname.to_owned(),
        (false, true) => forename.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_name_splits_at_its_last_word_and_is_the_name_to_type() {
        let name = Name::from_full(" Mary  Ann de Souza ");
        assert_eq!(name.legal_forename, "Mary Ann de");
        assert_eq!(name.surname, "Souza");
        assert_eq!(name.signing_name, "Mary Ann de Souza");
        assert_eq!(name.shown(), "Mary Ann de Souza");
        let single = Name::from_full("Madonna");
        assert_eq!(
            (single.legal_forename.as_str(), single.surname.as_str()),
            ("Madonna", "")
        );
        assert_eq!(single.shown(), "Madonna");
    }

    #[test]
    fn pages_show_the_preferred_forename_and_signing_uses_the_legal_one() {
        let name = Name::from_parts("Samantha", "Sam", "Taylor", "");
        assert_eq!(name.shown(), "Sam Taylor");
        assert_eq!(name.signing_name, "Samantha Taylor");
        let same = Name::from_parts("Jo", "JO", "Bloggs", "Joanne Bloggs");
        assert_eq!(same.preferred_forename, "");
        assert_eq!(same.signing_name, "Joanne Bloggs");
        assert_eq!(Name::from_parts("", "", "Okafor", "").shown(), "Okafor");
    }
}
