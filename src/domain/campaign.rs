//! The campaign desk (SPEC §17): the 摸排表 survey's match against the
//! registry, the problem ledger's cases and their state machine, and the
//! exported tables' columns. No I/O.

use super::status::InvalidTransition;

crate::domain::wire_enum!(
    /// What a surveyed site is on the registry.
    SiteMatch {
        /// One of a qualified enterprise's registered dismantling sites.
        QualifiedSite,
        /// A filed branch's address: branches may not dismantle.
        FiledBranch,
        /// Neither: 未取得资质.
        None,
    }
);

impl SiteMatch {
    /// The match of a surveyed `address` (already NFC-normalised and
    /// trimmed, as every stored address is): the same exact comparison as a
    /// dismantling record's site.
    pub fn of<'a>(
        address: &str,
        dismantling_sites: impl IntoIterator<Item = &'a str>,
        branch_addresses: impl IntoIterator<Item = &'a str>,
    ) -> SiteMatch {
        if dismantling_sites.into_iter().any(|s| s == address) {
            SiteMatch::QualifiedSite
        } else if branch_addresses.into_iter().any(|b| b == address) {
            SiteMatch::FiledBranch
        } else {
            SiteMatch::None
        }
    }

    /// Its name in the exported table.
    pub fn zh(self) -> &'static str {
        match self {
            SiteMatch::QualifiedSite => "资质企业拆解场地",
            SiteMatch::FiledBranch => "已备案分支机构（不得拆解）",
            SiteMatch::None => "未取得资质",
        }
    }
}

crate::domain::wire_enum!(
    /// What a case is about.
    CaseSubjectKind {
        Site,
        Enterprise,
        Rc,
        Vehicle,
        Qc,
    }
);

crate::domain::wire_enum!(
    /// The offence a case records (the campaign plan's list).
    Offence {
        UnqualifiedDismantling,
        RcIrregular,
        RepairOfScrapped,
        QcFraud,
        RcFraud,
        Other,
    }
);

crate::domain::wire_enum!(
    /// Where a case came from.
    CaseSource {
        Survey,
        Complaint,
        Scan,
        Inspection,
        Worklist,
    }
);

crate::domain::wire_enum!(
    /// What a complaint (举报) is about.
    ComplaintKind {
        IllegalDismantling,
        CertificateFraud,
        RepairOfScrapped,
        Pollution,
        Other,
    }
);

impl CaseSubjectKind {
    pub fn zh(self) -> &'static str {
        match self {
            CaseSubjectKind::Site => "网点",
            CaseSubjectKind::Enterprise => "企业",
            CaseSubjectKind::Rc => "回收证明",
            CaseSubjectKind::Vehicle => "车辆",
            CaseSubjectKind::Qc => "资质认定书",
        }
    }
}

impl Offence {
    pub fn zh(self) -> &'static str {
        match self {
            Offence::UnqualifiedDismantling => "未取得资质回收拆解",
            Offence::RcIrregular => "回收证明出具不规范",
            Offence::RepairOfScrapped => "承修已报废机动车",
            Offence::QcFraud => "资质认定书出租、出借、转让或伪造",
            Offence::RcFraud => "回收证明伪造、变造或买卖",
            Offence::Other => "其他",
        }
    }
}

impl CaseSource {
    pub fn zh(self) -> &'static str {
        match self {
            CaseSource::Survey => "摸排",
            CaseSource::Complaint => "群众举报",
            CaseSource::Scan => "扫码核验",
            CaseSource::Inspection => "检查",
            CaseSource::Worklist => "工作清单",
        }
    }
}

impl ComplaintKind {
    /// The offence a complaint of this kind is opened as.
    pub fn offence(self) -> Offence {
        match self {
            ComplaintKind::IllegalDismantling => Offence::UnqualifiedDismantling,
            ComplaintKind::CertificateFraud => Offence::RcFraud,
            ComplaintKind::RepairOfScrapped => Offence::RepairOfScrapped,
            ComplaintKind::Pollution | ComplaintKind::Other => Offence::Other,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            ComplaintKind::IllegalDismantling => "非法回收拆解报废机动车",
            ComplaintKind::CertificateFraud => "伪造、变造、买卖证书",
            ComplaintKind::RepairOfScrapped => "承修已报废的机动车",
            ComplaintKind::Pollution => "拆解污染环境",
            ComplaintKind::Other => "其他",
        }
    }
}

crate::domain::wire_enum!(
    /// A case in the ledger (整治台账): open, being rectified (整改), closed
    /// (销号) or referred to the police (移送公安机关).
    CaseStatus {
        Open,
        Rectifying,
        Closed,
        ReferredToPolice,
    }
);

impl CaseStatus {
    /// `open → rectifying → closed`, `open | rectifying → referred_to_police`.
    pub fn to(self, next: CaseStatus) -> Result<CaseStatus, InvalidTransition<CaseStatus>> {
        use CaseStatus::*;
        match (self, next) {
            (Open, Rectifying) | (Rectifying, Closed) | (Open | Rectifying, ReferredToPolice) => {
                Ok(next)
            }
            _ => Err(InvalidTransition { from: self }),
        }
    }

    /// The moves open from this status, in the ledger's order.
    pub fn moves(self) -> Vec<CaseStatus> {
        use strum::IntoEnumIterator;
        CaseStatus::iter().filter(|n| self.to(*n).is_ok()).collect()
    }

    pub fn zh(self) -> &'static str {
        match self {
            CaseStatus::Open => "待整治",
            CaseStatus::Rectifying => "整改中",
            CaseStatus::Closed => "已销号",
            CaseStatus::ReferredToPolice => "已移送公安机关",
        }
    }

    /// The action that moves a case here, as a button says it.
    pub fn verb_zh(self) -> &'static str {
        match self {
            CaseStatus::Open => "重新打开",
            CaseStatus::Rectifying => "责令整改",
            CaseStatus::Closed => "盘点销号",
            CaseStatus::ReferredToPolice => "移送公安机关",
        }
    }
}

/// The header row of the 摸排表 (the campaign plan's attachment), exactly.
pub const SURVEY_COLUMNS: [&str; 7] = [
    "乡镇",
    "网点名称",
    "经营地址",
    "经营范围",
    "“五大总成”流向",
    "填报人",
    "联系电话",
];

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
/// line break, its quotes doubled. A field that a spreadsheet would read
/// as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A CSV table: the header row and the rows, CRLF line ends, with a UTF-8
/// byte-order mark so that spreadsheet programs read the Chinese.
pub fn csv<R: AsRef<str>>(header: &[&str], rows: impl IntoIterator<Item = Vec<R>>) -> String {
    let mut out = String::from("\u{feff}");
    let line = |fields: Vec<String>| fields.join(",") + "\r\n";
    out.push_str(&line(header.iter().map(|h| csv_field(h)).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(|f| csv_field(f.as_ref())).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn a_site_matches_a_dismantling_site_before_a_branch() {
        let sites = ["益阳市赫山区龙岭大道1号拆解场地"];
        let branches = ["益阳市赫山区会龙山街道1号"];
        let m = |a: &str| SiteMatch::of(a, sites, branches);
        assert_eq!(
            m("益阳市赫山区龙岭大道1号拆解场地"),
            SiteMatch::QualifiedSite
        );
        assert_eq!(m("益阳市赫山区会龙山街道1号"), SiteMatch::FiledBranch);
        assert_eq!(m("益阳市赫山区兰溪镇某村"), SiteMatch::None);
        assert_eq!(SiteMatch::of("x", ["x"], ["x"]), SiteMatch::QualifiedSite);
    }

    #[test]
    fn the_ledgers_state_machine() {
        use CaseStatus::*;
        let allowed = [
            (Open, Rectifying),
            (Rectifying, Closed),
            (Open, ReferredToPolice),
            (Rectifying, ReferredToPolice),
        ];
        for from in CaseStatus::iter() {
            for to in CaseStatus::iter() {
                assert_eq!(
                    from.to(to).is_ok(),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        assert_eq!(csv_field("兰溪镇"), "兰溪镇");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("说\"拆\""), "\"说\"\"拆\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1"), "'-1");
        let table = csv(
            &SURVEY_COLUMNS,
            [vec!["兰溪镇", "某回收点", "a\nb", "", "", "", ""]],
        );
        assert_eq!(
            table,
            "\u{feff}乡镇,网点名称,经营地址,经营范围,“五大总成”流向,填报人,联系电话\r\n\
             兰溪镇,某回收点,\"a\nb\",,,,\r\n"
        );
    }

    #[test]
    fn each_status_offers_exactly_its_ledger_moves() {
        use CaseStatus::*;
        assert_eq!(Open.moves(), [Rectifying, ReferredToPolice]);
        assert_eq!(Rectifying.moves(), [Closed, ReferredToPolice]);
        assert!(Closed.moves().is_empty());
        assert!(ReferredToPolice.moves().is_empty());
    }
}
