//! The verification verdict (SPEC §4): finding codes are a stable public
//! contract, messages are zh-CN sentences for the person checking a paper.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    Valid,
    Warning,
    Invalid,
    Indeterminate,
}

impl std::str::FromStr for VerdictKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        [
            VerdictKind::Valid,
            VerdictKind::Warning,
            VerdictKind::Invalid,
            VerdictKind::Indeterminate,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or(())
    }
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Valid => "valid",
            VerdictKind::Warning => "warning",
            VerdictKind::Invalid => "invalid",
            VerdictKind::Indeterminate => "indeterminate",
        }
    }

    /// The word on pages and in messages.
    pub fn zh(self) -> &'static str {
        match self {
            VerdictKind::Valid => "有效",
            VerdictKind::Warning => "注意",
            VerdictKind::Invalid => "无效",
            VerdictKind::Indeterminate => "无法确认",
        }
    }
}

wire_enum!(
    /// The finding codes of SPEC §4, a stable public contract.
    FindingCode {
        QrMalformed,
        QrUnsupportedAlg,
        QrUnknownKey,
        QrBadSignature,
        QrKeyCompromised,
        NotRegistered,
        RegistryMismatch,
        PresentedMismatch,
        Superseded,
        Suspended,
        Revoked,
        Expired,
        Voided,
        HolderMismatch,
        VehicleHeld,
        IssuerNotQualified,
        IssuerQualificationInactive,
        AlreadyDeregistered,
        DuplicateVehicle,
        DismantlingOverdue,
        HandoverOverdue,
        PresentedFieldIgnored,
        ScanAnomaly,
        RegistryUnavailable,
        // Offline verifier only (SPEC §13).
        StatusListStale,
        StatusUnknown,
    }
);

wire_enum!(
    /// The fields a checker may present (`presented.*`), as findings name them.
    PresentedField {
        Vin,
        Plate,
        Uscc,
        EnterpriseName,
        OwnerName,
        OwnerIdNumber,
    }
);

impl PresentedField {
    /// The zh-CN name of the field.
    pub fn zh(self) -> &'static str {
        match self {
            PresentedField::Vin => "车辆识别代号",
            PresentedField::Plate => "号牌号码",
            PresentedField::Uscc => "统一社会信用代码",
            PresentedField::EnterpriseName => "企业名称",
            PresentedField::OwnerName => "车主姓名",
            PresentedField::OwnerIdNumber => "车主证件号码",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<PresentedField>,
}

impl Finding {
    pub fn new(code: FindingCode, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity,
            message: message.into(),
            field: None,
        }
    }

    pub fn error(code: FindingCode, message: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Error, message)
    }

    pub fn warning(code: FindingCode, message: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Warning, message)
    }

    pub fn with_field(mut self, field: PresentedField) -> Finding {
        self.field = Some(field);
        self
    }

    /// A finding about the QR itself (forged, altered, unreadable).
    pub fn qr(code: FindingCode) -> Finding {
        let base = match code {
            FindingCode::QrUnsupportedAlg => "二维码使用了不被接受的签名算法，可能是伪造的。",
            FindingCode::QrUnknownKey => "二维码的签名密钥不属于本系统，可能是伪造的。",
            FindingCode::QrBadSignature => "二维码签名验证失败：内容被伪造或篡改。",
            FindingCode::QrKeyCompromised => "签发该二维码的密钥已被标记为泄露，二维码不可信。",
            _ => "二维码内容无法识别，不是本系统签发的证书二维码。",
        };
        Finding::error(code, base)
    }

    pub fn presented_mismatch(field: PresentedField) -> Finding {
        Finding::error(
            FindingCode::PresentedMismatch,
            format!("现场核对的{}与登记记录不一致。", field.zh()),
        )
        .with_field(field)
    }

    pub fn presented_field_ignored(field: PresentedField) -> Finding {
        Finding::new(
            FindingCode::PresentedFieldIgnored,
            Severity::Info,
            format!("您的身份无权核对{}，已忽略该项。", field.zh()),
        )
        .with_field(field)
    }

    pub fn registry_unavailable() -> Finding {
        Finding::warning(
            FindingCode::RegistryUnavailable,
            "暂时无法查询登记系统，无法确认证书状态，请稍后再试。",
        )
    }
}

/// `invalid` if any error; else `indeterminate` if the registry could not be
/// read; else `warning` if any warning; else `valid`.
pub fn decide(findings: &[Finding]) -> VerdictKind {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        VerdictKind::Invalid
    } else if findings
        .iter()
        .any(|f| f.code == FindingCode::RegistryUnavailable)
    {
        VerdictKind::Indeterminate
    } else if findings.iter().any(|f| f.severity == Severity::Warning) {
        VerdictKind::Warning
    } else {
        VerdictKind::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_win_then_outage_then_warnings() {
        let e = Finding::error(FindingCode::Revoked, "x");
        let w = Finding::warning(FindingCode::ScanAnomaly, "x");
        let u = Finding::registry_unavailable();
        let i = Finding::presented_field_ignored(PresentedField::OwnerName);
        assert_eq!(decide(&[]), VerdictKind::Valid);
        assert_eq!(decide(std::slice::from_ref(&i)), VerdictKind::Valid);
        assert_eq!(decide(std::slice::from_ref(&w)), VerdictKind::Warning);
        assert_eq!(decide(&[w.clone(), u.clone()]), VerdictKind::Indeterminate);
        assert_eq!(decide(&[w, u, e]), VerdictKind::Invalid);
    }

    #[test]
    fn words_are_the_spec_words() {
        let words: Vec<&str> = [
            VerdictKind::Valid,
            VerdictKind::Warning,
            VerdictKind::Invalid,
            VerdictKind::Indeterminate,
        ]
        .iter()
        .map(|v| v.zh())
        .collect();
        assert_eq!(words, ["有效", "注意", "无效", "无法确认"]);
    }
}
