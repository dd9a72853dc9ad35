//! Phone numbers: the identity of a contact (rule 1). Pure, no I/O.

pub use phonenumber::country::Id as Region;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};

/// A region given as text (`ID`, `SG`, …), checked against phone metadata.
pub fn parse_region(text: &str) -> Option<Region> {
    let region: Region = text.trim().to_ascii_uppercase().parse().ok()?;
    DATABASE.by_id(region.as_ref())?;
    Some(region)
}

/// Normalises any common way of writing a number to E.164 (`+6281234567890`).
///
/// A number is accepted when its length is possible for its country, even
/// where the metadata does not know its range: losing a real customer's chat
/// is worse than storing an unusual number (rule 1). Text that is not a phone
/// number is refused.
pub fn normalize(text: &str, region: Region) -> Result<String, &'static str> {
    let plain = plain(text);
    let text = plain.trim();
    if text.is_empty() {
        return Err("is empty");
    }
    // A number a spreadsheet or a script wrote as a float (`6281234567890.0`)
    // would read as another person's with the `0` kept: the `.0` goes.
    let text = match text.strip_suffix(".0") {
        Some(n) if n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit() || b == b'+') => n,
        _ => text,
    };
    // Only what people type around digits; letters (vanity numbers, words) are refused.
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c))
    {
        return Err("is not a phone number");
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 || digits.len() > 17 {
        return Err("is not a phone number (wrong length)");
    }
    let candidates: Vec<String> = if text.starts_with('+') {
        vec![format!("+{digits}")]
    } else if let Some(rest) = digits.strip_prefix("00") {
        vec![format!("+{rest}")]
    } else {
        // National form first (`0812…`), then the habit of writing the
        // country code without a plus (`62812…`).
        vec![digits.clone(), format!("+{digits}")]
    };
    candidates
        .iter()
        .filter_map(|c| phonenumber::parse(Some(region), c).ok())
        .find(is_possible)
        .map(|n| e164(&n))
        .ok_or("is not a possible phone number for its country")
}

/// The number as people's tools write it, in plain ASCII: a number copied
/// from WhatsApp or a phone's contacts comes wrapped in direction marks
/// (U+202A … U+202C), with non-breaking hyphens and narrow spaces; others
/// type en dashes, full-width digits or a full-width plus. Invisible marks
/// go, every kind of space becomes a space and of dash a hyphen, and
/// full-width digits their ASCII digits (other scripts' digits stay
/// refused: no one writes an Indonesian number in them).
fn plain(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' => None,
            '\u{feff}' | '\u{00ad}' => None,
            '\u{00a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => {
                Some(' ')
            }
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe63}' | '\u{ff0d}' => Some('-'),
            '\u{ff0b}' => Some('+'),
            '\u{ff08}' => Some('('),
            '\u{ff09}' => Some(')'),
            '\u{ff0e}' => Some('.'),
            '\u{ff0f}' => Some('/'),
            '\u{ff10}'..='\u{ff19}' => char::from_u32(c as u32 - 0xff10 + '0' as u32),
            c => Some(c),
        })
        .collect()
}

fn e164(n: &PhoneNumber) -> String {
    n.format().mode(Mode::E164).to_string()
}

/// Right length for its country (libphonenumber's "possible number"). The
/// metadata keeps lengths per number type, so any type's length counts.
fn is_possible(n: &PhoneNumber) -> bool {
    let Some(metas) = DATABASE.by_code(&n.code().value()) else {
        return false;
    };
    let len = national_digits(n).len() as u16;
    metas.iter().any(|m| {
        let d = m.descriptors();
        std::iter::once(Some(d.general()))
            .chain([
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ])
            .flatten()
            .any(|desc| desc.possible_length().contains(&len))
    })
}

fn national_digits(n: &PhoneNumber) -> String {
    let nat = n.national();
    format!("{}{}", "0".repeat(nat.zeros() as usize), nat.value())
}

/// The readable form shown on the page: `+62 812-3456-7890`.
pub fn display(e164_text: &str) -> String {
    match phonenumber::parse(None, e164_text) {
        Ok(n) => n.format().mode(Mode::International).to_string(),
        Err(_) => e164_text.to_owned(),
    }
}

/// The digit strings a phone search may match: the E.164 digits and the
/// national form with a trunk `0` (`0812…`), so `0812`, `62812` and `812`
/// all find `+62812…`. Cheap (no full parse): the lead index computes it for
/// every lead at start.
pub fn search_forms(e164_text: &str) -> String {
    let digits: String = e164_text.chars().filter(char::is_ascii_digit).collect();
    match country_code_len(&digits) {
        Some(cc) => format!("{digits} 0{}", &digits[cc..]),
        None => digits,
    }
}

/// The length of the country calling code that `digits` starts with
/// (calling codes are prefix-free, 1–3 digits).
pub fn country_code_len(digits: &str) -> Option<usize> {
    (1..=3).find(|&n| {
        digits
            .get(..n)
            .and_then(|p| p.parse::<u16>().ok())
            .is_some_and(|code| DATABASE.by_code(&code).is_some())
    })
}

/// The digit strings a phone-like search text stands for. People type the
/// international prefix as `+` or `00` and often keep the trunk `0` after
/// the country code (`+62 0812…`, `0062812…`, `620812…`): those forms also
/// search for the number without it.
pub fn query_forms(q: &str) -> Vec<String> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let mut forms = vec![digits.clone()];
    let plus = q.trim_start().starts_with('+');
    let intl = if plus {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00")
    };
    // Indonesian habit: `62` then the trunk `0`, without a `+`.
    let intl = intl.or_else(|| digits.starts_with("620").then_some(digits.as_str()));
    if let Some(rest) = intl {
        forms.push(rest.to_owned());
        if let Some(cc) = country_code_len(rest) {
            if rest[cc..].starts_with('0') {
                forms.push(format!("{}{}", &rest[..cc], &rest[cc + 1..]));
            }
        }
    }
    forms.retain(|f| !f.is_empty());
    forms.sort_unstable();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Region {
        parse_region("ID").expect("ID is a region")
    }

    #[test]
    fn indonesian_habits_are_one_number() {
        for text in [
            "0812 3456 7890",
            "6281234567890",
            "+62 812-3456-7890",
            "0812-3456-7890",
            "(0812) 3456 7890",
            "+6281234567890",
            "006281234567890",
            // Written as a float by a spreadsheet or pandas.
            "6281234567890.0",
            "+6281234567890.0",
        ] {
            assert_eq!(
                normalize(text, id()).as_deref(),
                Ok("+6281234567890"),
                "{text}"
            );
        }
    }

    #[test]
    fn numbers_copied_from_apps_are_the_same_number() {
        for text in [
            // WhatsApp's "copy number": direction marks, non-breaking hyphens.
            "\u{202a}+62 812\u{2011}3456\u{2011}7890\u{202c}",
            "\u{200e}+62 812-3456-7890",
            "+62 812\u{2013}3456\u{2013}7890",
            "+62\u{202f}812\u{202f}3456\u{202f}7890",
            "\u{ff0b}62 812 3456 7890",
            "\u{ff10}\u{ff18}\u{ff11}\u{ff12} 3456 7890",
            "\u{feff}0812\u{00a0}3456\u{00a0}7890",
        ] {
            assert_eq!(
                normalize(text, id()).as_deref(),
                Ok("+6281234567890"),
                "{text:?}"
            );
        }
        // Still no words.
        assert!(normalize("\u{202a}call me\u{202c}", id()).is_err());
        assert!(normalize("\u{202a}\u{202c}", id()).is_err());
    }

    #[test]
    fn other_countries_keep_their_code() {
        assert_eq!(
            normalize("+65 9123 4567", id()).as_deref(),
            Ok("+6591234567")
        );
        assert_eq!(
            normalize("+1 415 555 2671", id()).as_deref(),
            Ok("+14155552671")
        );
    }

    #[test]
    fn text_is_not_a_phone() {
        assert!(normalize("hello", id()).is_err());
        assert!(normalize("0812-CALL-ME", id()).is_err());
        assert!(normalize("", id()).is_err());
        assert!(normalize("12", id()).is_err());
        assert!(normalize("+62 8", id()).is_err());
    }

    #[test]
    fn unknown_ranges_of_right_length_are_kept() {
        // 0899… is not an allocated Indonesian mobile range in all metadata
        // versions; its length is possible, so the contact is kept.
        assert!(normalize("0899 9999 9999", id()).is_ok());
    }

    #[test]
    fn queries_with_international_prefix_and_trunk_zero() {
        let f = query_forms("+62 0812-3456");
        assert!(f.contains(&"628123456".to_owned()), "{f:?}");
        let f = query_forms("0062812 3456");
        assert!(f.contains(&"628123456".to_owned()), "{f:?}");
        let f = query_forms("620812");
        assert!(f.contains(&"62812".to_owned()), "{f:?}");
        assert_eq!(query_forms("0812"), vec!["0812".to_owned()]);
        assert!(query_forms("+-").is_empty());
    }

    #[test]
    fn search_forms_include_national_form() {
        let forms = search_forms("+6281234567890");
        assert!(forms.contains("6281234567890"));
        assert!(forms.contains("081234567890"));
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(display("+6281234567890"), "+62 812-3456-7890");
    }
}
