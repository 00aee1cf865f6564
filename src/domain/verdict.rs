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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl Finding {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity,
            message: message.into(),
            field: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Error, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(code, Severity::Warning, message)
    }

    pub fn with_field(mut self, field: &'static str) -> Finding {
        self.field = Some(field);
        self
    }

    /// A finding about the QR itself (forged, altered, unreadable).
    pub fn qr(code: &'static str) -> Finding {
        let base = match code {
            "qr_unsupported_alg" => "二维码使用了不被接受的签名算法，可能是伪造的。",
            "qr_unknown_key" => "二维码的签名密钥不属于本系统，可能是伪造的。",
            "qr_bad_signature" => "二维码签名验证失败：内容被伪造或篡改。",
            "qr_key_compromised" => "签发该二维码的密钥已被标记为泄露，二维码不可信。",
            _ => "二维码内容无法识别，不是本系统签发的证书二维码。",
        };
        Finding::error(code, base)
    }

    pub fn presented_mismatch(field: &'static str) -> Finding {
        Finding::error(
            "presented_mismatch",
            format!("现场核对的{}与登记记录不一致。", field_zh(field)),
        )
        .with_field(field)
    }

    pub fn presented_field_ignored(field: &'static str) -> Finding {
        Finding::new(
            "presented_field_ignored",
            Severity::Info,
            format!("您的身份无权核对{}，已忽略该项。", field_zh(field)),
        )
        .with_field(field)
    }

    pub fn registry_unavailable() -> Finding {
        Finding::warning(
            "registry_unavailable",
            "暂时无法查询登记系统，无法确认证书状态，请稍后再试。",
        )
    }
}

/// The zh-CN name of a presented field.
pub fn field_zh(field: &str) -> &'static str {
    match field {
        "vin" => "车辆识别代号",
        "plate" => "号牌号码",
        "uscc" => "统一社会信用代码",
        "enterprise_name" => "企业名称",
        "owner_name" => "车主姓名",
        "owner_id_number" => "车主证件号码",
        _ => "信息",
    }
}

/// `invalid` if any error; else `indeterminate` if the registry could not be
/// read; else `warning` if any warning; else `valid`.
pub fn decide(findings: &[Finding]) -> VerdictKind {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        VerdictKind::Invalid
    } else if findings.iter().any(|f| f.code == "registry_unavailable") {
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
        let e = Finding::error("revoked", "x");
        let w = Finding::warning("scan_anomaly", "x");
        let u = Finding::registry_unavailable();
        let i = Finding::presented_field_ignored("owner_name");
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
