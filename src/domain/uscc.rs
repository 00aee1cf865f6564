//! Unified social credit code (统一社会信用代码, GB 32100-2015), the identifier of
//! enterprises and other organisations.

use std::fmt;

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

const LEN: usize = 18;
const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// 3^(i−1) mod 31 for positions 1..=17.
const WEIGHTS: [u32; LEN - 1] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code: 18 characters of
/// `0123456789ABCDEFGHJKLMNPQRTUWXY`, the last one a checksum.
///
/// Some early pilot codes fail the checksum and are nevertheless real; they are
/// accepted only with an explicit override (see [`Uscc::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

fn value(c: char) -> Option<u32> {
    CHARSET
        .chars()
        .position(|x| x == c)
        .and_then(|i| u32::try_from(i).ok())
}

/// The check character for the first 17 characters (all in the charset).
fn compute_check(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| value(c).unwrap_or(0) * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    CHARSET.chars().nth(check as usize).unwrap_or('0')
}

impl Uscc {
    /// Parses a USCC. Surrounding whitespace is trimmed, full-width characters are
    /// converted and letters uppercased. Length and charset defects are always
    /// `invalid_format`; a checksum failure is `invalid_check_digit` unless
    /// `allow_bad_checksum` is set.
    pub fn parse(s: &str, allow_bad_checksum: bool) -> Result<Uscc, FieldError> {
        let normalized = to_half_width(s).trim().to_ascii_uppercase();
        if normalized.is_empty() {
            return Err(FieldError::required("USCC"));
        }
        let chars: Vec<char> = normalized.chars().collect();
        if chars.len() != LEN {
            return Err(FieldError::invalid_format(format!(
                "USCC must be {LEN} characters, got {}.",
                chars.len()
            )));
        }
        if let Some((i, c)) = chars.iter().enumerate().find(|(_, c)| value(**c).is_none()) {
            return Err(FieldError::invalid_format(format!(
                "USCC position {} has '{c}': only digits and the letters \
                 ABCDEFGHJKLMNPQRTUWXY are allowed.",
                i + 1
            )));
        }
        let expected = compute_check(&chars[..LEN - 1]);
        if chars[LEN - 1] != expected && !allow_bad_checksum {
            return Err(FieldError::new(
                code::INVALID_CHECK_DIGIT,
                format!("USCC check character (position 18) should be {expected}."),
            ));
        }
        Ok(Uscc(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the last character matches the checksum of the first 17.
    pub fn checksum_ok(&self) -> bool {
        let chars: Vec<char> = self.0.chars().collect();
        chars.len() == LEN && chars[LEN - 1] == compute_check(&chars[..LEN - 1])
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Uscc {
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
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn spec_example() {
        let uscc = Uscc::parse("9135052155323005XL", false).unwrap();
        assert_eq!(uscc.as_str(), "9135052155323005XL");
        assert!(uscc.checksum_ok());
        assert_eq!(uscc.to_string(), "9135052155323005XL");
    }

    /// The sample enterprise code in SPEC Appendix A has a correct checksum.
    #[test]
    fn appendix_a_sample_is_valid() {
        let uscc = Uscc::parse("91430903MA4L000004", false).unwrap();
        assert!(uscc.checksum_ok());
        let err = Uscc::parse("91430903MA4L000008", false).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
        assert_eq!(
            err.message,
            "USCC check character (position 18) should be 4."
        );
    }

    #[test]
    fn normalises_case_whitespace_and_full_width() {
        assert_eq!(
            Uscc::parse(" 9135052155323005xl ", false).unwrap().as_str(),
            "9135052155323005XL"
        );
        assert_eq!(
            Uscc::parse("９１３５０５２１５５３２３００５ＸＬ", false)
                .unwrap()
                .as_str(),
            "9135052155323005XL"
        );
    }

    #[test]
    fn wrong_checksum() {
        let err = Uscc::parse("9135052155323005XM", false).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
        assert!(err.message.contains("should be L"));
        let uscc = Uscc::parse("9135052155323005XM", true).unwrap();
        assert!(!uscc.checksum_ok());
    }

    #[test]
    fn charset_and_length_errors_are_never_overridden() {
        for bad in [
            "9135052155323005IL",
            "9135052155323005OL",
            "9135052155323005SL",
            "9135052155323005VL",
            "9135052155323005ZL",
            "913505215532300-XL",
        ] {
            let err = Uscc::parse(bad, true).unwrap_err();
            assert_eq!(err.code, FieldCode::InvalidFormat, "{bad}");
        }
        let err = Uscc::parse("9135052155323005IL", true).unwrap_err();
        assert!(err.message.contains("position 17"), "{}", err.message);
        assert_eq!(
            Uscc::parse("9135052155323005X", true).unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            Uscc::parse("9135052155323005XLL", true).unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(Uscc::parse("", true).unwrap_err().code, FieldCode::Required);
    }

    fn body() -> impl Strategy<Value = Vec<char>> {
        let chars: Vec<char> = CHARSET.chars().collect();
        proptest::collection::vec(proptest::sample::select(chars), LEN - 1)
    }

    proptest! {
        #[test]
        fn valid_codes_parse_and_round_trip(mut chars in body(), other in 0usize..31) {
            chars.push(compute_check(&chars));
            let s: String = chars.iter().collect();
            let uscc = Uscc::parse(&s, false).unwrap();
            prop_assert_eq!(uscc.as_str(), s.as_str());
            prop_assert!(uscc.checksum_ok());

            let wrong = CHARSET.chars().nth(other).unwrap();
            prop_assume!(wrong != chars[LEN - 1]);
            chars[LEN - 1] = wrong;
            let bad: String = chars.iter().collect();
            prop_assert_eq!(Uscc::parse(&bad, false).unwrap_err().code, FieldCode::InvalidCheckDigit);
            let accepted = Uscc::parse(&bad, true).unwrap();
            prop_assert!(!accepted.checksum_ok());
            prop_assert_eq!(accepted.as_str(), bad.as_str());
        }
    }
}
