//! The access line (SPEC §16): one log line per read of personal data,
//! naming the token, its role and what was read (a certificate number or
//! a VIN), never the data itself, the token's secret or an identity
//! number. It goes to the service's log at the default level, with the
//! request's id.

use crate::domain::Principal;

/// What personal data was read.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// An RC in full (its owner's identity document).
    Certificate,
    /// An RC's events (they carry what was registered).
    Events,
    /// An RC's owner in a verdict, by API or page.
    Verdict,
    /// The certificates and holds of a vehicle, as officers see them.
    Vehicle,
}

impl Read {
    fn as_str(self) -> &'static str {
        match self {
            Read::Certificate => "certificate",
            Read::Events => "events",
            Read::Verdict => "verdict",
            Read::Vehicle => "vehicle",
        }
    }
}

/// Writes the access line of one read of personal data: `subject` is a
/// certificate number or a VIN (identifiers of things, not of persons).
pub fn personal_data_read(principal: &Principal, read: Read, subject: &str) {
    tracing::info!(
        target: "scrapcert::access",
        token_id = principal.token_id.as_deref().unwrap_or("-"),
        role = principal.role.as_str(),
        read = read.as_str(),
        subject,
        "personal data read"
    );
}
