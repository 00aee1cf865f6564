//! The owner's identity document on a recycling certificate: resident ID,
//! USCC for organisations, passport, or another document.

use chrono::NaiveDate;

use crate::domain::id_number::ResidentId;
use crate::domain::text::to_half_width;
use crate::domain::uscc::Uscc;
use crate::domain::{FieldError, code};

const MAX_OTHER_LEN: usize = 32;

/// The kind of identity document an owner presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdType {
    /// 居民身份证
    ResidentId,
    /// 统一社会信用代码, for organisations.
    Uscc,
    Passport,
    Other,
}

impl IdType {
    pub const ALL: [IdType; 4] = [
        IdType::ResidentId,
        IdType::Uscc,
        IdType::Passport,
        IdType::Other,
    ];

    pub fn parse(s: &str) -> Option<IdType> {
        IdType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdType::ResidentId => "resident_id",
            IdType::Uscc => "uscc",
            IdType::Passport => "passport",
            IdType::Other => "other",
        }
    }
}

/// An owner's identity document with its number in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerIdentity {
    pub id_type: IdType,
    pub number: String,
}

impl OwnerIdentity {
    /// Parses the pair `{id_type, id_number}`. The error names the offending
    /// field: `"id_type"` for an unknown type, `"id_number"` otherwise.
    ///
    /// Resident IDs follow [`ResidentId::parse`] (birth date not after `today`),
    /// USCCs follow [`Uscc::parse`] with the checksum required, and passport or
    /// other numbers are 1–32 ASCII letters and digits, uppercased.
    pub fn parse(
        id_type: &str,
        number: &str,
        today: NaiveDate,
    ) -> Result<OwnerIdentity, (&'static str, FieldError)> {
        Self::parse_with(id_type, number, today, false)
    }

    /// As [`OwnerIdentity::parse`]; `allow_bad_uscc_check` accepts a USCC
    /// whose check character is wrong (the owner's checksum override).
    pub fn parse_with(
        id_type: &str,
        number: &str,
        today: NaiveDate,
        allow_bad_uscc_check: bool,
    ) -> Result<OwnerIdentity, (&'static str, FieldError)> {
        let Some(id_type) = IdType::parse(id_type) else {
            return Err((
                "id_type",
                FieldError::new(
                    code::UNKNOWN_VALUE,
                    "id_type must be one of resident_id, uscc, passport, other.",
                ),
            ));
        };
        let number = match id_type {
            IdType::ResidentId => ResidentId::parse(number, today).map(|id| id.as_str().to_owned()),
            IdType::Uscc => {
                Uscc::parse(number, allow_bad_uscc_check).map(|u| u.as_str().to_owned())
            }
            IdType::Passport | IdType::Other => parse_document_number(number),
        }
        .map_err(|e| ("id_number", e))?;
        Ok(OwnerIdentity { id_type, number })
    }
}

fn parse_document_number(s: &str) -> Result<String, FieldError> {
    let normalized = to_half_width(s).trim().to_ascii_uppercase();
    if normalized.is_empty() {
        return Err(FieldError::required("ID number"));
    }
    if !normalized.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::invalid_format(
            "ID number may contain only ASCII letters and digits.",
        ));
    }
    if normalized.len() > MAX_OTHER_LEN {
        return Err(FieldError::new(
            code::TOO_LONG,
            format!("ID number must be at most {MAX_OTHER_LEN} characters."),
        ));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
    }

    #[test]
    fn id_type_names_round_trip() {
        for t in IdType::ALL {
            assert_eq!(IdType::parse(t.as_str()), Some(t));
        }
        assert_eq!(IdType::parse("resident_id"), Some(IdType::ResidentId));
        assert_eq!(IdType::parse("Passport"), None);
        assert_eq!(IdType::parse("driving_licence"), None);
    }

    #[test]
    fn resident_id() {
        let owner = OwnerIdentity::parse("resident_id", "11010519491231002x", today()).unwrap();
        assert_eq!(owner.id_type, IdType::ResidentId);
        assert_eq!(owner.number, "11010519491231002X");
        let (field, err) =
            OwnerIdentity::parse("resident_id", "110105194912310021", today()).unwrap_err();
        assert_eq!(field, "id_number");
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
    }

    #[test]
    fn uscc_checksum_is_required() {
        let owner = OwnerIdentity::parse("uscc", "9135052155323005XL", today()).unwrap();
        assert_eq!(owner.id_type, IdType::Uscc);
        assert_eq!(owner.number, "9135052155323005XL");
        let (field, err) = OwnerIdentity::parse("uscc", "9135052155323005XM", today()).unwrap_err();
        assert_eq!(field, "id_number");
        assert_eq!(err.code, FieldCode::InvalidCheckDigit);
    }

    #[test]
    fn passport_and_other() {
        let owner = OwnerIdentity::parse("passport", " e12345678 ", today()).unwrap();
        assert_eq!(owner.number, "E12345678");
        let owner = OwnerIdentity::parse("other", "Ｈ１２３４５", today()).unwrap();
        assert_eq!(owner.id_type, IdType::Other);
        assert_eq!(owner.number, "H12345");
        assert!(OwnerIdentity::parse("other", &"A".repeat(32), today()).is_ok());

        let cases = [
            ("", FieldCode::Required),
            ("E1234 5678", FieldCode::InvalidFormat),
            ("E-12345678", FieldCode::InvalidFormat),
            ("护照123", FieldCode::InvalidFormat),
            (&"A".repeat(33), FieldCode::TooLong),
        ];
        for (number, expected) in cases {
            let (field, err) = OwnerIdentity::parse("passport", number, today()).unwrap_err();
            assert_eq!(field, "id_number");
            assert_eq!(err.code, expected, "{number}");
        }
    }

    #[test]
    fn unknown_id_type() {
        let (field, err) = OwnerIdentity::parse("military", "123", today()).unwrap_err();
        assert_eq!(field, "id_type");
        assert_eq!(err.code, FieldCode::UnknownValue);
    }
}
