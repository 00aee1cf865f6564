//! Resident identity card number (居民身份证号码, GB 11643).

use std::fmt;

use chrono::NaiveDate;

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

const LEN: usize = 18;
const WEIGHTS: [u32; LEN - 1] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
const MIN_BIRTH_YEAR: i32 = 1900;

/// An 18-character resident identity number: a 6-digit region code, the birth
/// date as `YYYYMMDD`, a 3-digit sequence number and a check character
/// (`0`–`9` or `X`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

/// The check character for the first 17 characters (all ASCII digits).
fn compute_check(digits: &[char]) -> char {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Reads `len` ASCII digits starting at `start` as a number.
fn number_at(chars: &[char], start: usize, len: usize) -> u32 {
    chars[start..start + len]
        .iter()
        .fold(0, |acc, c| acc * 10 + c.to_digit(10).unwrap_or(0))
}

impl ResidentId {
    /// Parses a resident identity number. Surrounding whitespace is trimmed,
    /// full-width characters are converted and a lowercase `x` is uppercased.
    /// The embedded birth date must be a real date from 1900 on and not after
    /// `today` (`in_future` otherwise).
    pub fn parse(s: &str, today: NaiveDate) -> Result<ResidentId, FieldError> {
        let normalized = to_half_width(s).trim().to_ascii_uppercase();
        if normalized.is_empty() {
            return Err(FieldError::required("ID number"));
        }
        let chars: Vec<char> = normalized.chars().collect();
        if chars.len() != LEN {
            return Err(FieldError::invalid_format(format!(
                "Resident ID number must be {LEN} characters, got {}.",
                chars.len()
            )));
        }
        if let Some(i) = chars[..LEN - 1].iter().position(|c| !c.is_ascii_digit()) {
            return Err(FieldError::invalid_format(format!(
                "Resident ID number position {} must be a digit.",
                i + 1
            )));
        }
        let last = chars[LEN - 1];
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(FieldError::invalid_format(
                "Resident ID number must end in a digit or X.",
            ));
        }

        let year = number_at(&chars, 6, 4);
        let month = number_at(&chars, 10, 2);
        let day = number_at(&chars, 12, 2);
        let birth_text: String = chars[6..14].iter().collect();
        let birth = i32::try_from(year)
            .ok()
            .filter(|y| *y >= MIN_BIRTH_YEAR)
            .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
            .ok_or_else(|| {
                FieldError::invalid_format(format!(
                    "Birth date {birth_text} in the resident ID number is not a valid date."
                ))
            })?;
        if birth > today {
            return Err(FieldError::new(
                code::IN_FUTURE,
                format!("Birth date {birth_text} in the resident ID number is in the future."),
            ));
        }

        let expected = compute_check(&chars[..LEN - 1]);
        if last != expected {
            return Err(FieldError::new(
                code::INVALID_CHECK_DIGIT,
                format!("Resident ID number check character (position 18) should be {expected}."),
            ));
        }
        Ok(ResidentId(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ResidentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
    }

    /// Builds a valid number from a region code, a birth date and a sequence.
    fn make(region: &str, birth: &str, seq: &str) -> String {
        let body: Vec<char> = format!("{region}{birth}{seq}").chars().collect();
        let mut s: String = body.iter().collect();
        s.push(compute_check(&body));
        s
    }

    #[test]
    fn spec_example() {
        let id = ResidentId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.to_string(), "11010519491231002X");
    }

    #[test]
    fn lowercase_x_whitespace_and_full_width() {
        let id = ResidentId::parse(" 11010519491231002x ", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        let id = ResidentId::parse("１１０１０５１９４９１２３１００２ｘ", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn wrong_check_character() {
        let err = ResidentId::parse("110105194912310021", today()).unwrap_err();
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
        assert!(err.message.contains("should be X"), "{}", err.message);
    }

    #[test]
    fn wrong_format() {
        for bad in [
            "11010519491231002",
            "11010519491231002XX",
            "1101051949123100AX",
            "11010519491231002Y",
            "110105-9491231002X",
        ] {
            assert_eq!(
                ResidentId::parse(bad, today()).unwrap_err().code,
                FieldCode::InvalidFormat,
                "{bad}"
            );
        }
        assert_eq!(
            ResidentId::parse("", today()).unwrap_err().code,
            FieldCode::Required
        );
    }

    #[test]
    fn bad_birth_dates() {
        for birth in ["19490230", "19491301", "19490000", "18991231", "20230229"] {
            let s = make("110105", birth, "002");
            let err = ResidentId::parse(&s, today()).unwrap_err();
            assert_eq!(err.code, FieldCode::InvalidFormat, "{s}");
            assert!(err.message.contains(birth), "{}", err.message);
        }
        // Leap days exist in leap years.
        assert!(ResidentId::parse(&make("110105", "20000229", "002"), today()).is_ok());
        assert!(ResidentId::parse(&make("110105", "19000101", "002"), today()).is_ok());
    }

    #[test]
    fn birth_date_in_the_future() {
        let s = make("430903", "20240302", "123");
        assert_eq!(
            ResidentId::parse(&s, today()).unwrap_err().code,
            FieldCode::InFuture
        );
        // Born today is fine.
        let s = make("430903", "20240301", "123");
        assert!(ResidentId::parse(&s, today()).is_ok());
    }

    proptest! {
        #[test]
        fn valid_numbers_parse_and_round_trip(
            region in "[1-9][0-9]{5}",
            days in 0i64..45_000,
            seq in "[0-9]{3}",
        ) {
            let birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
            prop_assume!(birth <= today());
            let s = make(&region, &birth.format("%Y%m%d").to_string(), &seq);
            let id = ResidentId::parse(&s, today()).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
