//! Certificate numbers (opaque, never parsed for meaning) and calendar dates
//! as they appear in requests.

use std::fmt;

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

const MAX_QC_NUMBER: usize = 64;
const MAX_RC_NUMBER: usize = 32;
/// Characters that would break a QC number used as a URL path segment.
const QC_FORBIDDEN: [char; 4] = ['/', '?', '#', '%'];

/// The number of a qualification certificate (资质认定书编号): 1–64 Unicode
/// characters after NFC normalisation, with no whitespace, control characters
/// or `/ ? # %`. It may hold Chinese, e.g. `湘报废资字〔2024〕9号`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QcNumber(String);

impl QcNumber {
    pub fn parse(s: &str) -> Result<QcNumber, FieldError> {
        let normalized: String = s.nfc().collect();
        let trimmed = normalized.trim();
        if trimmed.is_empty() {
            return Err(FieldError::required("Qualification number"));
        }
        if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
            return Err(FieldError::invalid_format(format!(
                "Qualification number must not contain control characters (found U+{:04X}).",
                u32::from(c)
            )));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(FieldError::invalid_format(
                "Qualification number must not contain whitespace.",
            ));
        }
        if let Some(c) = trimmed.chars().find(|c| QC_FORBIDDEN.contains(c)) {
            return Err(FieldError::invalid_format(format!(
                "Qualification number must not contain '{c}'."
            )));
        }
        let count = trimmed.chars().count();
        if count > MAX_QC_NUMBER {
            return Err(FieldError::new(
                code::TOO_LONG,
                format!(
                    "Qualification number must be at most {MAX_QC_NUMBER} characters, got {count}."
                ),
            ));
        }
        Ok(QcNumber(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QcNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for QcNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The number of a recycling certificate (回收证明编号), printed by the national
/// system: 1–32 ASCII letters, digits and `-`. Case is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RcNumber(String);

impl RcNumber {
    pub fn parse(s: &str) -> Result<RcNumber, FieldError> {
        let normalized = to_half_width(s).trim().to_owned();
        if normalized.is_empty() {
            return Err(FieldError::required("Recycling certificate number"));
        }
        if !normalized
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(FieldError::invalid_format(
                "Recycling certificate number may contain only ASCII letters, digits and '-'.",
            ));
        }
        if normalized.len() > MAX_RC_NUMBER {
            return Err(FieldError::new(
                code::TOO_LONG,
                format!("Recycling certificate number must be at most {MAX_RC_NUMBER} characters."),
            ));
        }
        Ok(RcNumber(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RcNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RcNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Parses a calendar date written exactly as `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, FieldError> {
    let bytes = s.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(FieldError::invalid_format(
            "Date must be written as YYYY-MM-DD, e.g. 2024-03-01.",
        ));
    }
    let num = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let year = i32::try_from(num(0..4)).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, num(5..7), num(8..10))
        .ok_or_else(|| FieldError::invalid_format(format!("{s} is not a calendar date.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;

    #[test]
    fn qc_examples() {
        let qc = QcNumber::parse("湘报废资字〔2024〕9号").unwrap();
        assert_eq!(qc.as_str(), "湘报废资字〔2024〕9号");
        assert_eq!(qc.to_string(), "湘报废资字〔2024〕9号");
        assert_eq!(
            QcNumber::parse(" 湘报废资字2024001\u{3000}")
                .unwrap()
                .as_str(),
            "湘报废资字2024001"
        );
    }

    #[test]
    fn qc_is_nfc_normalised() {
        assert_eq!(QcNumber::parse("Ame\u{301}").unwrap().as_str(), "Am\u{e9}");
    }

    #[test]
    fn qc_rejections() {
        let cases = [
            ("", FieldCode::Required),
            ("  ", FieldCode::Required),
            ("湘报废资字 2024001", FieldCode::InvalidFormat),
            ("湘报废资字\u{3000}2024001", FieldCode::InvalidFormat),
            ("湘报废资字\t2024001", FieldCode::InvalidFormat),
            ("湘\u{7}2024", FieldCode::InvalidFormat),
            ("湘/2024", FieldCode::InvalidFormat),
            ("湘?2024", FieldCode::InvalidFormat),
            ("湘#2024", FieldCode::InvalidFormat),
            ("湘%2024", FieldCode::InvalidFormat),
        ];
        for (s, expected) in cases {
            assert_eq!(QcNumber::parse(s).unwrap_err().code, expected, "{s:?}");
        }
        assert!(QcNumber::parse(&"湘".repeat(64)).is_ok());
        assert_eq!(
            QcNumber::parse(&"湘".repeat(65)).unwrap_err().code,
            FieldCode::TooLong
        );
    }

    #[test]
    fn rc_numbers() {
        assert_eq!(
            RcNumber::parse("4309032024000123").unwrap().as_str(),
            "4309032024000123"
        );
        assert_eq!(
            RcNumber::parse(" HN-2024-0001 ").unwrap().as_str(),
            "HN-2024-0001"
        );
        assert_eq!(RcNumber::parse("４３０９").unwrap().as_str(), "4309");
        assert!(RcNumber::parse(&"1".repeat(32)).is_ok());
        assert_eq!(
            RcNumber::parse(&"1".repeat(33)).unwrap_err().code,
            FieldCode::TooLong
        );
        assert_eq!(RcNumber::parse("").unwrap_err().code, FieldCode::Required);
        assert_eq!(
            RcNumber::parse("4309 0320").unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            RcNumber::parse("湘4309").unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            RcNumber::parse("4309_0320").unwrap_err().code,
            FieldCode::InvalidFormat
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2024-03-01").unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        assert_eq!(
            parse_date("2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-3-1",
            "2024/03/01",
            "20240301",
            " 2024-03-01",
            "2024-03-01T00:00:00Z",
            "２０２４-03-01",
            "+2024-03-0",
            "",
        ] {
            assert_eq!(
                parse_date(bad).unwrap_err().code,
                FieldCode::InvalidFormat,
                "{bad:?}"
            );
        }
    }
}
