//! A school's colour for the header bar, as six hex digits, and whether white text reads on
//! it: WCAG 2.2 asks a contrast of at least 4.5:1 for text of normal size.

/// The least contrast WCAG 2.2 AA allows for normal text.
pub const LEAST_CONTRAST: f64 = 4.5;

/// "#1d70b8", "1D70B8" or " #1d70b8 " as "#1d70b8"; None if it is not six hex digits.
pub fn parse(typed: &str) -> Option<String> {
    let digits = typed.trim().trim_start_matches('#');
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("#{}", digits.to_ascii_lowercase()))
}

/// The contrast of white text on `colour` ("#1d70b8"), from 1 to 21.
pub fn contrast_with_white(colour: &str) -> f64 {
    let digits = colour.trim_start_matches('#');
    let channel = |i: usize| {
        let value =
            f64::from(u8::from_str_radix(digits.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0))
                / 255.0;
        if value <= 0.04045 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (luminance + 0.05)
}

/// The colour as typed, checked: six hex digits on which white text has enough contrast;
/// else the message for the field.
pub fn checked(typed: &str) -> Result<String, String> {
    let colour = parse(typed)
        .ok_or_else(|| "Enter the colour as 6 letters and numbers, like #1d70b8".to_owned())?;
    let contrast = contrast_with_white(&colour);
    if contrast < LEAST_CONTRAST {
        return Err(format!(
            "White text on {colour} has a contrast of only {:.1} to 1: choose a darker colour, with at least 4.5 to 1",
            (contrast * 10.0).floor() / 10.0
        ));
    }
    Ok(colour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_in_the_forms_people_type() {
        assert_eq!(parse(" #1D70B8 ").as_deref(), Some("#1d70b8"));
        assert_eq!(parse("0b0c0c").as_deref(), Some("#0b0c0c"));
        assert_eq!(parse("#fff"), None);
        assert_eq!(parse("blue"), None);
        assert_eq!(parse("#1d70b8; background: red"), None);
    }

    #[test]
    fn white_text_must_read_on_the_colour() {
        // The GOV.UK blue and black pass; their yellow and a light grey do not.
        assert!((contrast_with_white("#0b0c0c") - 19.6).abs() < 0.1);
        assert!((contrast_with_white("#1d70b8") - 5.2).abs() < 0.1);
        assert_eq!(checked("#1d70b8"), Ok("#1d70b8".to_owned()));
        assert_eq!(
            checked("#ffdd00"),
            Err("White text on #ffdd00 has a contrast of only 1.3 to 1: choose a darker colour, with at least 4.5 to 1".to_owned())
        );
        assert!(checked("#767676").is_ok(), "4.54 to 1 is enough");
        assert!(checked("#777777").is_err(), "4.48 to 1 is not");
    }
}
