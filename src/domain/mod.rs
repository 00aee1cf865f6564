//! The domain: validated identifiers, plates, certificate numbers and free
//! text; who is calling; certificate statuses with their state machines; the
//! stable public codes; and the pure rules of registration, qualification and
//! scans. Raw request strings become these types at the edge; nothing here
//! does I/O.

use std::fmt;

/// A public enum whose variants are written as snake_case strings on the
/// wire and in the database (serde and strum agree on the spelling).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            strum::EnumString, strum::IntoStaticStr, strum::Display, strum::EnumIter,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl TryFrom<String> for $name {
            type Error = strum::ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }
    };
}
pub(crate) use wire_enum;

pub mod anomaly;
pub mod campaign;
pub mod certificate;
pub mod claims;
pub mod codes;
pub mod event;
pub mod hold;
pub mod id_number;
pub mod jurisdiction;
pub mod log_leaf;
pub mod lookup;
pub mod owner;
pub mod plate;
pub mod principal;
pub mod qualification;
pub mod registration;
pub mod status;
pub mod status_list;
pub mod text;
pub mod uscc;
pub mod vehicle;
pub mod verdict;
pub mod vin;
pub mod workdays;

pub use certificate::{QcNumber, RcNumber, parse_date};
pub use id_number::ResidentId;
pub use owner::{IdType, OwnerIdentity};
pub use plate::{Plate, PlateType};
pub use principal::{AccessDenied, Disclosure, Principal, Role};
pub use status::{
    CertKind, QcAction, QcPublicStatus, QcStatus, RcAction, RcStatus, RevocationKind,
    SupervisionKind,
};
pub use uscc::Uscc;
pub use vehicle::{FuelType, VehicleType, parse_battery_code, requires_supervised_dismantling};
pub use vin::Vin;

/// The `errors[].code` values of a field-level validation failure, by
/// their old constant names.
pub mod code {
    pub use super::codes::FieldCode;
    pub const REQUIRED: FieldCode = FieldCode::Required;
    pub const INVALID_FORMAT: FieldCode = FieldCode::InvalidFormat;
    pub const INVALID_CHECK_DIGIT: FieldCode = FieldCode::InvalidCheckDigit;
    pub const TOO_LONG: FieldCode = FieldCode::TooLong;
    pub const IN_FUTURE: FieldCode = FieldCode::InFuture;
    pub const OUT_OF_ORDER: FieldCode = FieldCode::OutOfOrder;
    pub const UNKNOWN_VALUE: FieldCode = FieldCode::UnknownValue;
}

pub use codes::{FieldCode, ProblemCode};

/// A field-level validation failure; the caller attaches the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: FieldCode,
    /// A short English sentence meant for the API client.
    pub message: String,
}

impl FieldError {
    pub fn new(code: FieldCode, message: impl Into<String>) -> Self {
        FieldError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn required(what: &str) -> Self {
        FieldError::new(code::REQUIRED, format!("{what} is required."))
    }

    pub(crate) fn invalid_format(message: impl Into<String>) -> Self {
        FieldError::new(code::INVALID_FORMAT, message)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for FieldError {}
