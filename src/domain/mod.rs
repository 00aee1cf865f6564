//! Validated domain types: identifiers, plates, certificate numbers and free
//! text. Raw request strings become these types at the edge; nothing here does I/O.

use std::fmt;

pub mod certificate;
pub mod claims;
pub mod id_number;
pub mod owner;
pub mod plate;
pub mod text;
pub mod uscc;
pub mod vehicle;
pub mod verdict;
pub mod vin;

pub use certificate::{QcNumber, RcNumber, parse_date};
pub use id_number::ResidentId;
pub use owner::{IdType, OwnerIdentity};
pub use plate::{Plate, PlateType};
pub use uscc::Uscc;
pub use vehicle::{FuelType, VehicleType, parse_battery_code, requires_supervised_dismantling};
pub use vin::Vin;

/// The `errors[].code` values of a field-level validation failure. They are a
/// public contract: never rename one.
pub mod code {
    pub const REQUIRED: &str = "required";
    pub const INVALID_FORMAT: &str = "invalid_format";
    pub const INVALID_CHECK_DIGIT: &str = "invalid_check_digit";
    pub const TOO_LONG: &str = "too_long";
    pub const IN_FUTURE: &str = "in_future";
    pub const OUT_OF_ORDER: &str = "out_of_order";
    pub const UNKNOWN_VALUE: &str = "unknown_value";
}

/// A field-level validation failure; the caller attaches the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// One of the values in [`code`].
    pub code: &'static str,
    /// A short English sentence meant for the API client.
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
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
