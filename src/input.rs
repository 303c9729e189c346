//! What a person may type into the portal: no control characters (a NUL cannot even be
//! stored), no invisible direction marks or zero-width spaces that make one name look like
//! another, and names, emails and job titles in one Unicode form (NFC), so that the same
//! name typed on two keyboards is the same text.

use unicode_normalization::UnicodeNormalization;

/// What is wrong with `value`, if anything, as the end of a sentence that starts with the
/// field's name: "Full name {problem}". Multi-line fields may hold tabs and line breaks.
pub fn unusable(value: &str, multiline: bool) -> Option<&'static str> {
    let chars: Vec<char> = value.chars().collect();
    for (at, c) in chars.iter().enumerate() {
        let c = *c;
        if multiline && matches!(c, '\t' | '\n' | '\r') {
            continue;
        }
        if c.is_control() {
            return Some(if multiline {
                "must not contain control characters: remove them and try again"
            } else {
                "must not contain control characters, tabs or line breaks: remove them and try again"
            });
        }
        if is_bidi_control(c) || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{2060}') {
            return Some(
                "must not contain invisible characters such as direction marks or zero-width spaces: retype it and try again",
            );
        }
        // Zero-width joiners and non-joiners shape words in Persian, Urdu and Indic scripts:
        // allowed inside such a word, not at its edges or beside Latin letters.
        if matches!(c, '\u{200C}' | '\u{200D}') {
            let inside = |n: Option<&char>| {
                n.is_some_and(|n| !n.is_ascii() && !n.is_whitespace() && !n.is_control())
            };
            if !(at > 0 && inside(chars.get(at - 1)) && inside(chars.get(at + 1))) {
                return Some(
                    "must not contain invisible characters such as direction marks or zero-width spaces: retype it and try again",
                );
            }
        }
    }
    None
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The field checked, for a form: the message to show next to it, if any.
pub fn check(label: &str, value: &str, multiline: bool) -> Option<String> {
    unusable(value, multiline).map(|problem| format!("{label} {problem}"))
}

/// A name, email address, job title or stated role as the portal keeps it: trimmed, inner
/// runs of spaces made one, in Unicode's composed form (NFC).
pub fn normalise(value: &str) -> String {
    value
        .nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a signer typed, as evidence keeps it: trimmed and composed (NFC), spacing as typed.
pub fn composed(value: &str) -> String {
    value.trim().nfc().collect()
}

/// What an address looks like, by Unicode's confusables (UTS #39): "sam@school.example"
/// typed with a Cyrillic "а" has the same key as the real one.
pub fn lookalike_key(email: &str) -> String {
    unicode_security::skeleton(&email.to_lowercase()).collect()
}

/// The earliest and latest year a date in the portal may have: a review date, a leaving
/// date, a date on a paper form.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_refused_and_joiners_kept_inside_words() {
        assert_eq!(unusable("Sam Taylor", false), None);
        assert!(unusable("Sam\0Taylor", false).is_some());
        assert!(unusable("Sam\tTaylor", false).is_some());
        assert!(unusable("Sam\u{85}Taylor", false).is_some(), "C1");
        assert_eq!(unusable("line one\r\n\tline two", true), None);
        assert!(unusable("line\u{0}", true).is_some());
        for invisible in [
            '\u{202E}', '\u{2066}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}',
        ] {
            assert!(
                unusable(&format!("ab{invisible}cd"), false).is_some(),
                "{invisible:?}"
            );
        }
        // Persian "mi-khāham" and Hindi "kṣa" need the non-joiner and the joiner.
        assert_eq!(unusable("می\u{200C}خواهم", false), None);
        assert_eq!(unusable("क्\u{200D}ष", false), None);
        assert!(unusable("Sam\u{200D}", false).is_some(), "not at the end");
        assert!(
            unusable("Sa\u{200C}m", false).is_some(),
            "not in a Latin word"
        );
    }

    #[test]
    fn a_lookalike_address_has_the_same_key_as_the_real_one() {
        assert_eq!(
            lookalike_key("s\u{430}m@cranbrook.example"),
            lookalike_key("Sam@cranbrook.example")
        );
        assert_ne!(
            lookalike_key("pam@cranbrook.example"),
            lookalike_key("sam@cranbrook.example")
        );
    }

    #[test]
    fn names_are_composed_and_spaced_once() {
        // "é" typed as e + combining acute becomes the one character.
        assert_eq!(normalise("  Ame\u{301}lie   Dupont "), "Amélie Dupont");
    }
}
