//! Vehicle identification number (车辆识别代号, GB 16735 / ISO 3779).

use std::fmt;

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

const LEN: usize = 17;
/// Position 9 (index 8) holds the check digit.
const CHECK_INDEX: usize = 8;
const WEIGHTS: [u32; LEN] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// A vehicle identification number: 17 characters of `[A-HJ-NPR-Z0-9]`.
///
/// The check digit at position 9 is verified on parse; an old or re-stamped
/// vehicle whose VIN fails it may still be accepted with an explicit override
/// (see [`Vin::parse`]), and [`Vin::check_digit_ok`] then reports `false`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vin(String);

/// The transliteration value of a VIN character, or `None` for a character a
/// VIN may not contain (including I, O and Q).
fn value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A'..='H' => Some(u32::from(c) - u32::from('A') + 1),
        'J'..='N' => Some(u32::from(c) - u32::from('J') + 1),
        'P' => Some(7),
        'R' => Some(9),
        'S'..='Z' => Some(u32::from(c) - u32::from('S') + 2),
        _ => None,
    }
}

/// The check character for 17 valid VIN characters (position 9 is ignored).
fn compute_check(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| value(c).unwrap_or(0) * w)
        .sum();
    match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

impl Vin {
    /// Parses a VIN. Surrounding whitespace is trimmed, full-width characters are
    /// converted and letters uppercased. A wrong check digit is an
    /// `invalid_check_digit` error unless `allow_bad_check_digit` is set; any
    /// other defect is always `invalid_format` (or `required` when empty).
    pub fn parse(s: &str, allow_bad_check_digit: bool) -> Result<Vin, FieldError> {
        let normalized = to_half_width(s).trim().to_ascii_uppercase();
        if normalized.is_empty() {
            return Err(FieldError::required("VIN"));
        }
        let chars: Vec<char> = normalized.chars().collect();
        if chars.len() != LEN {
            return Err(FieldError::invalid_format(format!(
                "VIN must be {LEN} characters, got {}.",
                chars.len()
            )));
        }
        for (i, &c) in chars.iter().enumerate() {
            if value(c).is_none() {
                let why = if matches!(c, 'I' | 'O' | 'Q') {
                    "the letters I, O and Q are never used"
                } else {
                    "only digits and letters other than I, O and Q are allowed"
                };
                return Err(FieldError::invalid_format(format!(
                    "VIN position {} has '{c}': {why}.",
                    i + 1
                )));
            }
        }
        let expected = compute_check(&chars);
        if chars[CHECK_INDEX] != expected && !allow_bad_check_digit {
            return Err(FieldError::new(
                code::INVALID_CHECK_DIGIT,
                format!("VIN check digit (position 9) should be {expected}."),
            ));
        }
        Ok(Vin(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether position 9 holds the check digit computed from the others.
    pub fn check_digit_ok(&self) -> bool {
        self.0.chars().nth(CHECK_INDEX) == Some(self.expected_check_digit())
    }

    /// The check digit computed from the other 16 characters (`0`–`9` or `X`).
    pub fn expected_check_digit(&self) -> char {
        let chars: Vec<char> = self.0.chars().collect();
        compute_check(&chars)
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Vin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;
    use proptest::prelude::*;

    #[test]
    fn spec_examples() {
        let vin = Vin::parse("LSJA24U62JG269225", false).unwrap();
        assert_eq!(vin.as_str(), "LSJA24U62JG269225");
        assert_eq!(vin.expected_check_digit(), '2');
        assert!(vin.check_digit_ok());

        let vin = Vin::parse("1M8GDM9AXKP042788", false).unwrap();
        assert_eq!(vin.expected_check_digit(), 'X');
        assert!(vin.check_digit_ok());
        assert_eq!(vin.to_string(), "1M8GDM9AXKP042788");
    }

    #[test]
    fn normalises_case_whitespace_and_full_width() {
        let vin = Vin::parse("  lsja24u62jg269225\u{3000}", false).unwrap();
        assert_eq!(vin.as_str(), "LSJA24U62JG269225");
        let vin = Vin::parse("ＬＳＪＡ２４Ｕ６２ＪＧ２６９２２５", false).unwrap();
        assert_eq!(vin.as_str(), "LSJA24U62JG269225");
        let vin = Vin::parse("1m8gdm9axkp042788", false).unwrap();
        assert_eq!(vin.as_str(), "1M8GDM9AXKP042788");
    }

    #[test]
    fn wrong_check_digit() {
        let err = Vin::parse("LSJA24U63JG269225", false).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
        assert_eq!(err.message, "VIN check digit (position 9) should be 2.");

        let vin = Vin::parse("LSJA24U63JG269225", true).unwrap();
        assert!(!vin.check_digit_ok());
        assert_eq!(vin.expected_check_digit(), '2');

        // A letter other than X at position 9 is a bad check digit, not a bad format.
        let err = Vin::parse("LSJA24U6AJG269225", false).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
    }

    #[test]
    fn forbidden_letters_are_rejected_even_with_override() {
        for (s, pos) in [
            ("ISJA24U62JG269225", 1),
            ("LSJA24U62JG2692O5", 16),
            ("LSJQ24U62JG269225", 4),
        ] {
            let err = Vin::parse(s, true).unwrap_err();
            assert_eq!(err.code, FieldCode::InvalidFormat, "{s}");
            assert!(
                err.message.contains(&format!("position {pos}")),
                "{}",
                err.message
            );
        }
        let err = Vin::parse("LSJA24U62JG26922-", true).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidFormat);
        assert!(err.message.contains("position 17"));
        assert_eq!(
            Vin::parse("LSJA24U62JG26922é", true).unwrap_err().code,
            FieldCode::InvalidFormat
        );
    }

    #[test]
    fn wrong_length() {
        let err = Vin::parse("LSJA24U62JG26922", false).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidFormat);
        assert!(err.message.contains("got 16"));
        let err = Vin::parse("LSJA24U62JG2692255", true).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidFormat);
        // Inner spaces are not removed.
        assert_eq!(
            Vin::parse("LSJA24U62 JG269225", true).unwrap_err().code,
            FieldCode::InvalidFormat
        );
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(Vin::parse("", false).unwrap_err().code, FieldCode::Required);
        assert_eq!(
            Vin::parse(" \u{3000} ", false).unwrap_err().code,
            FieldCode::Required
        );
    }

    const CHARSET: &str = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

    fn vin_body() -> impl Strategy<Value = Vec<char>> {
        let chars: Vec<char> = CHARSET.chars().collect();
        proptest::collection::vec(proptest::sample::select(chars), LEN)
    }

    proptest! {
        #[test]
        fn valid_vins_parse_and_round_trip(mut body in vin_body(), other in 0u32..11) {
            body[CHECK_INDEX] = compute_check(&body);
            let s: String = body.iter().collect();
            let vin = Vin::parse(&s, false).unwrap();
            prop_assert_eq!(vin.as_str(), s.as_str());
            prop_assert!(vin.check_digit_ok());
            prop_assert_eq!(Vin::parse(&s.to_ascii_lowercase(), false).unwrap(), vin.clone());

            let wrong = if other == 10 { 'X' } else { char::from_digit(other, 10).unwrap() };
            prop_assume!(wrong != body[CHECK_INDEX]);
            body[CHECK_INDEX] = wrong;
            let bad: String = body.iter().collect();
            let err = Vin::parse(&bad, false).unwrap_err();
            prop_assert_eq!(err.code, FieldCode::InvalidCheckDigit);
            let accepted = Vin::parse(&bad, true).unwrap();
            prop_assert!(!accepted.check_digit_ok());
            prop_assert_eq!(accepted.as_str(), bad.as_str());
        }
    }
}
