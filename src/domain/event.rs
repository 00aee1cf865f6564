//! The kinds of events in the append-only event log, and what an event is about.

use crate::domain::CertKind;

wire_enum!(
    /// The `type` of an event: a stable public name.
    EventType {
        EnterpriseRegistered,
        EnterpriseUpdated,
        BranchFiled,
        QualificationRegistered,
        QualificationReissued,
        QualificationSuspended,
        QualificationReinstated,
        QualificationRevoked,
        QualificationResigned,
        RcRegistered,
        RcDismantled,
        RcVoided,
        RcDeregistered,
        RcResigned,
        TokenCreated,
        TokenRevoked,
        KeyRotated,
        KeyCompromised,
        HoldPlaced,
        HoldReported,
        HoldConfirmed,
        HoldReleased,
        SurveyEntryRecorded,
        CaseOpened,
        CaseTransitioned,
        ComplaintReceived,
    }
);

/// What an event is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Enterprise(&'a str),
    Qualification(&'a str),
    RecyclingCertificate(&'a str),
    Token(&'a str),
    Key(&'a str),
    Hold(&'a str),
    /// A 摸排表 row (SPEC §17).
    SurveyEntry(&'a str),
    /// A case of the problem ledger (SPEC §17).
    Case(&'a str),
    /// A complaint from the public (SPEC §17).
    Complaint(&'a str),
}

impl<'a> Subject<'a> {
    /// The subject of a stored kind and id.
    pub fn from_parts(kind: &str, id: &'a str) -> Option<Subject<'a>> {
        Some(match kind {
            "enterprise" => Subject::Enterprise(id),
            "token" => Subject::Token(id),
            "key" => Subject::Key(id),
            "hold" => Subject::Hold(id),
            "survey_entry" => Subject::SurveyEntry(id),
            "case" => Subject::Case(id),
            "complaint" => Subject::Complaint(id),
            k if k == CertKind::Qc.as_str() => Subject::Qualification(id),
            k if k == CertKind::Rc.as_str() => Subject::RecyclingCertificate(id),
            _ => return None,
        })
    }
}

impl Subject<'_> {
    /// The stored kind and id.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Subject::Enterprise(id) => ("enterprise", id),
            Subject::Qualification(id) => (CertKind::Qc.as_str(), id),
            Subject::RecyclingCertificate(id) => (CertKind::Rc.as_str(), id),
            Subject::Token(id) => ("token", id),
            Subject::Key(id) => ("key", id),
            Subject::Hold(id) => ("hold", id),
            Subject::SurveyEntry(id) => ("survey_entry", id),
            Subject::Case(id) => ("case", id),
            Subject::Complaint(id) => ("complaint", id),
        }
    }
}
