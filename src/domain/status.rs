//! Certificate kinds and statuses, and the two state machines. The names are
//! the SPEC's wire strings; every transition is an exhaustive `match`, so a
//! new status cannot be added without deciding each of its moves.

use serde::{Deserialize, Serialize};

/// The kind of a certificate as written in the `cert` claim and in scans.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
pub enum CertKind {
    /// 报废机动车回收拆解企业资质认定证书.
    #[serde(rename = "QC")]
    #[strum(serialize = "QC")]
    Qc,
    /// 报废机动车回收证明.
    #[serde(rename = "RC")]
    #[strum(serialize = "RC")]
    Rc,
}

impl CertKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

wire_enum!(
    /// The stored status of a qualification certificate.
    QcStatus { Active, Suspended, Revoked }
);

wire_enum!(
    /// The status a reader sees: expiry is derived from `valid_until`, and an
    /// older revision reads as superseded.
    QcPublicStatus { Active, Suspended, Revoked, Expired, Superseded }
);

wire_enum!(
    /// Why a qualification was revoked: 撤销 (withdrawn), 吊销 (penalty), 注销 (cancelled).
    RevocationKind { Withdrawn, Penalty, Cancelled }
);

wire_enum!(
    /// The status of a recycling certificate.
    RcStatus { Active, Deregistered, Voided }
);

wire_enum!(
    /// How police supervised a dismantling.
    SupervisionKind { OnSite, Video }
);

impl RevocationKind {
    /// The zh-CN verb: 撤销, 吊销, 注销.
    pub fn zh(self) -> &'static str {
        match self {
            RevocationKind::Withdrawn => "撤销",
            RevocationKind::Penalty => "吊销",
            RevocationKind::Cancelled => "注销",
        }
    }
}

/// A status change an authority asks for on a QC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QcAction {
    Suspend,
    Reinstate,
    Revoke(RevocationKind),
}

/// The move is not allowed from the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this action is not allowed on a {from} certificate")]
pub struct InvalidTransition<S: std::fmt::Display> {
    pub from: S,
}

impl QcStatus {
    /// The status after `action`, or why it is refused.
    pub fn apply(self, action: QcAction) -> Result<QcStatus, InvalidTransition<QcStatus>> {
        use QcAction::*;
        use QcStatus::*;
        match (self, action) {
            (Active, Suspend) => Ok(Suspended),
            (Suspended, Reinstate) => Ok(Active),
            (Active | Suspended, Revoke(_)) => Ok(Revoked),
            (Active, Reinstate) | (Suspended, Suspend) | (Revoked, _) => {
                Err(InvalidTransition { from: self })
            }
        }
    }

    /// A revoked QC cannot be reissued (换发); a suspended one can.
    pub fn may_reissue(self) -> bool {
        match self {
            QcStatus::Active | QcStatus::Suspended => true,
            QcStatus::Revoked => false,
        }
    }
}

/// What can happen to an RC after registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcAction {
    /// A dismantling record is added (the status stays).
    Dismantle,
    Void,
    Deregister,
}

impl RcStatus {
    /// The status after `action`, or why it is refused.
    pub fn apply(self, action: RcAction) -> Result<RcStatus, InvalidTransition<RcStatus>> {
        use RcAction::*;
        use RcStatus::*;
        match (self, action) {
            (Active, Dismantle) => Ok(Active),
            // A vehicle may be dismantled after its deregistration.
            (Deregistered, Dismantle) => Ok(Deregistered),
            (Active, Void) => Ok(Voided),
            (Active, Deregister) => Ok(Deregistered),
            (Voided, _) | (Deregistered, Void | Deregister) => {
                Err(InvalidTransition { from: self })
            }
        }
    }

    /// A voided RC does not count for the one-live-RC-per-VIN rule.
    pub fn is_live(self) -> bool {
        match self {
            RcStatus::Active | RcStatus::Deregistered => true,
            RcStatus::Voided => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn qc_state_machine_table() {
        use QcAction::*;
        use QcStatus::*;
        let revoke = Revoke(RevocationKind::Penalty);
        let table = [
            (Active, Suspend, Some(Suspended)),
            (Active, Reinstate, None),
            (Active, revoke, Some(Revoked)),
            (Suspended, Suspend, None),
            (Suspended, Reinstate, Some(Active)),
            (Suspended, revoke, Some(Revoked)),
            (Revoked, Suspend, None),
            (Revoked, Reinstate, None),
            (Revoked, revoke, None),
        ];
        for (from, action, to) in table {
            assert_eq!(from.apply(action).ok(), to, "{from} {action:?}");
        }
        assert!(Active.may_reissue() && Suspended.may_reissue() && !Revoked.may_reissue());
    }

    #[test]
    fn rc_state_machine_table() {
        use RcAction::*;
        use RcStatus::*;
        let table = [
            (Active, Dismantle, Some(Active)),
            (Active, Void, Some(Voided)),
            (Active, Deregister, Some(Deregistered)),
            (Deregistered, Dismantle, Some(Deregistered)),
            (Deregistered, Void, None),
            (Deregistered, Deregister, None),
            (Voided, Dismantle, None),
            (Voided, Void, None),
            (Voided, Deregister, None),
        ];
        for (from, action, to) in table {
            assert_eq!(from.apply(action).ok(), to, "{from} {action:?}");
        }
        let refused = Voided.apply(Void).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "this action is not allowed on a voided certificate"
        );
    }

    #[test]
    fn wire_names_are_the_spec_names() {
        let qc: Vec<&str> = QcPublicStatus::iter().map(QcPublicStatus::as_str).collect();
        assert_eq!(
            qc,
            ["active", "suspended", "revoked", "expired", "superseded"]
        );
        let rc: Vec<&str> = RcStatus::iter().map(RcStatus::as_str).collect();
        assert_eq!(rc, ["active", "deregistered", "voided"]);
        assert_eq!(SupervisionKind::OnSite.as_str(), "on_site");
        assert_eq!(CertKind::Qc.as_str(), "QC");
        assert_eq!("RC".parse::<CertKind>(), Ok(CertKind::Rc));
        assert_eq!(serde_json::to_string(&CertKind::Rc).unwrap(), "\"RC\"");
        assert!("voided ".parse::<RcStatus>().is_err());
        for kind in RevocationKind::iter() {
            assert_eq!(
                RevocationKind::try_from(kind.as_str().to_string()),
                Ok(kind)
            );
        }
    }
}
