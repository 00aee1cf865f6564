//! Who may act where (SPEC §15): administrative divisions (GB/T 2260),
//! the levels of authority tokens, and the one table of what each level may
//! do to what. No I/O: the service layer finds a target's division and
//! issuing organisation and asks [`check`] or [`may_mint`].

use super::{FieldCode, FieldError, Principal, Role};

crate::domain::wire_enum!(
    /// An authority token's level, lowest first (the order compares).
    Level {
        County,
        City,
        Province,
        National,
    }
);

impl Level {
    /// How many digits of a division code a token of this level governs.
    pub fn division_digits(self) -> Option<usize> {
        match self {
            Level::National => None,
            Level::Province => Some(2),
            Level::City => Some(4),
            Level::County => Some(6),
        }
    }

    /// The level whose division has `digits` digits.
    pub fn of_digits(digits: usize) -> Option<Level> {
        match digits {
            2 => Some(Level::Province),
            4 => Some(Level::City),
            6 => Some(Level::County),
            _ => None,
        }
    }
}

/// The province codes of GB/T 2260 (the first two digits of every code).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// A division code or prefix: 2 digits (province), 4 (city) or 6 (county),
/// beginning with a GB/T 2260 province code.
pub fn parse_division(s: &str) -> Result<String, FieldError> {
    let code = s.trim();
    if !matches!(code.len(), 2 | 4 | 6) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            FieldCode::InvalidFormat,
            "a division is a GB/T 2260 code of 2, 4 or 6 digits (43, 4309, 430903)",
        ));
    }
    if !PROVINCES.contains(&&code[..2]) {
        return Err(FieldError::new(
            FieldCode::UnknownValue,
            format!("{} is not a GB/T 2260 province code", &code[..2]),
        ));
    }
    Ok(code.to_string())
}

/// A county-level division: exactly 6 digits (an enterprise's, a township
/// token's).
pub fn parse_county(s: &str) -> Result<String, FieldError> {
    let code = parse_division(s)?;
    if code.len() != 6 {
        return Err(FieldError::new(
            FieldCode::InvalidFormat,
            "this division must be a 6-digit county code (e.g. 430903)",
        ));
    }
    Ok(code)
}

/// Does the prefix `scope` (none = the whole country) cover `code`?
pub fn covers(scope: Option<&str>, code: Option<&str>) -> bool {
    match (scope, code) {
        (None, _) => true,
        (Some(scope), Some(code)) => code.starts_with(scope),
        // A record with no division is inside no division but the nation.
        (Some(_), None) => false,
    }
}

crate::domain::wire_enum!(
    /// What a caller asks to do (the rows of SPEC §15's table).
    Action {
        RegisterEnterprise,
        FileBranch,
        RegisterQc,
        ReissueQc,
        RevokeQc,
        /// Re-signing a QC's QR after its key's compromise: the issuer's act.
        ResignQc,
        SuspendQc,
        ReinstateQc,
        VoidRc,
        /// Re-signing an RC's QR after its key's compromise: like voiding,
        /// the city's.
        ResignRc,
        /// Reading a certificate's scans or events, and the desk's survey
        /// entries and cases.
        ReadRecords,
        /// Entering a 摸排表 row (SPEC §17): any authority level, or a
        /// township token in its own township.
        RecordSurvey,
        /// Opening and moving the ledger's cases (SPEC §17).
        ManageCases,
    }
);

impl Action {
    /// The lowest authority level that may do this.
    pub fn min_level(self) -> Level {
        match self {
            Action::RegisterEnterprise
            | Action::FileBranch
            | Action::RegisterQc
            | Action::ReissueQc
            | Action::RevokeQc
            | Action::ResignQc => Level::Province,
            Action::SuspendQc | Action::ReinstateQc => Level::County,
            Action::VoidRc | Action::ResignRc => Level::City,
            Action::ReadRecords | Action::RecordSurvey | Action::ManageCases => Level::County,
        }
    }

    /// Only the QC's issuing organisation (原发证机关) may do this.
    pub fn issuer_only(self) -> bool {
        matches!(
            self,
            Action::ReissueQc | Action::RevokeQc | Action::ResignQc
        )
    }
}

/// What is known of the thing acted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The division of the enterprise concerned (none for a record made
    /// before divisions, which only a national token reaches).
    pub division: Option<&'a str>,
    /// A QC's issuing organisation.
    pub issuing_org: Option<&'a str>,
}

/// Why a caller is out of its jurisdiction (403 `out_of_jurisdiction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfJurisdiction {
    #[error("a {level} token may not {action}; it needs {needs} level or above")]
    Level {
        level: Level,
        action: Action,
        needs: Level,
    },
    #[error("the enterprise concerned lies outside this token's division")]
    Division,
    #[error("only the qualification certificate's issuing authority may {0}")]
    NotIssuer(Action),
    #[error("issuing_authority differs from this token's organisation")]
    OtherOrg,
    #[error("a token may be made only at or below its maker's level")]
    MintAbove,
    #[error("a token may be made only for a division inside its maker's")]
    MintOutside,
    /// Police and clerk tokens deregister vehicles and confirm holds
    /// anywhere: only a national token makes them.
    #[error("police and clerk tokens are made only by a national token")]
    MintOtherService,
}

/// May `actor` do `action` to `target`? The role was checked before this;
/// only an authority token's level, division and organisation, and the
/// division of a police or clerk token's reads, narrow it here.
pub fn check(
    actor: &Principal,
    action: Action,
    target: Target<'_>,
) -> Result<(), OutOfJurisdiction> {
    if actor.role != Role::Authority {
        return if matches!(action, Action::ReadRecords | Action::RecordSurvey)
            && !covers(actor.division.as_deref(), target.division)
        {
            Err(OutOfJurisdiction::Division)
        } else {
            Ok(())
        };
    }
    let level = actor.authority_level();
    if level == Level::National {
        return Ok(());
    }
    // A token below the nation without a division (only a row written
    // behind the service's back) reaches nothing.
    if actor.division.is_none() {
        return Err(OutOfJurisdiction::Division);
    }
    let needs = action.min_level();
    if level < needs {
        return Err(OutOfJurisdiction::Level {
            level,
            action,
            needs,
        });
    }
    if !covers(actor.division.as_deref(), target.division) {
        return Err(OutOfJurisdiction::Division);
    }
    if action.issuer_only() && (actor.org.is_none() || actor.org.as_deref() != target.issuing_org) {
        return Err(OutOfJurisdiction::NotIssuer(action));
    }
    Ok(())
}

/// The issuing authority of a QC `actor` registers: its token's `org`; a
/// body value that differs from it is out of its jurisdiction. `None`: the
/// token has no `org` (a national one) and the body named none.
pub fn issuing_authority(
    actor: &Principal,
    given: Option<&str>,
) -> Result<Option<String>, OutOfJurisdiction> {
    match (actor.org.as_deref(), given) {
        (Some(org), Some(given)) if org != given => Err(OutOfJurisdiction::OtherOrg),
        (Some(org), _) => Ok(Some(org.to_string())),
        (None, given) => Ok(given.map(str::to_string)),
    }
}

/// The reach of a token about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach<'a> {
    pub role: Role,
    /// An authority token's level.
    pub level: Option<Level>,
    /// Its division (none: the whole country).
    pub division: Option<&'a str>,
    /// An enterprise token's enterprise's division.
    pub enterprise_division: Option<&'a str>,
}

/// May `maker` (an authority token) make a token of this reach? Only at or
/// below its own level, for divisions inside its own; enterprise tokens only
/// for enterprises in its division.
pub fn may_mint(maker: &Principal, new: Reach<'_>) -> Result<(), OutOfJurisdiction> {
    let level = maker.authority_level();
    if level == Level::National {
        return Ok(());
    }
    if maker.division.is_none() {
        return Err(OutOfJurisdiction::MintOutside);
    }
    if matches!(new.role, Role::Police | Role::Clerk) {
        return Err(OutOfJurisdiction::MintOtherService);
    }
    if new.role == Role::Authority && new.level.unwrap_or(Level::National) > level {
        return Err(OutOfJurisdiction::MintAbove);
    }
    let reaches = if new.role == Role::Enterprise {
        new.enterprise_division
    } else {
        new.division
    };
    if covers(maker.division.as_deref(), reaches) {
        Ok(())
    } else {
        Err(OutOfJurisdiction::MintOutside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn authority(level: Level, division: Option<&str>, org: Option<&str>) -> Principal {
        Principal {
            level: Some(level),
            division: division.map(str::to_string),
            org: org.map(str::to_string),
            ..Principal::token(Role::Authority, "t")
        }
    }

    const HESHAN: &str = "430903";
    const ZIYANG: &str = "430902";
    const CHANGSHA: &str = "430102";
    const HUNAN_ORG: &str = "湖南省商务厅";

    /// The token of each level whose division holds 赫山区.
    fn tokens() -> [(Level, Principal); 4] {
        [
            (Level::National, authority(Level::National, None, None)),
            (
                Level::Province,
                authority(Level::Province, Some("43"), Some(HUNAN_ORG)),
            ),
            (
                Level::City,
                authority(Level::City, Some("4309"), Some("益阳市商务局")),
            ),
            (
                Level::County,
                authority(Level::County, Some(HESHAN), Some("赫山区商务局")),
            ),
        ]
    }

    /// SPEC §15's table: for every level and action, in scope and out.
    #[test]
    fn the_table_of_level_action_and_scope() {
        for (level, actor) in tokens() {
            for action in Action::iter() {
                let inside = Target {
                    division: Some(HESHAN),
                    issuing_org: Some(HUNAN_ORG),
                };
                let may = level >= action.min_level();
                assert_eq!(
                    check(&actor, action, inside).is_ok(),
                    may,
                    "{level} {action} inside"
                );
                // Outside the division (a 长沙 enterprise, for a city or a
                // county token; another province's for the province token).
                let outside_code = match level {
                    Level::Province => "440305",
                    _ => CHANGSHA,
                };
                let outside = Target {
                    division: Some(outside_code),
                    ..inside
                };
                assert_eq!(
                    check(&actor, action, outside).is_ok(),
                    level == Level::National,
                    "{level} {action} outside"
                );
                // A QC another organisation issued.
                let other_org = Target {
                    issuing_org: Some("广东省商务厅"),
                    ..inside
                };
                assert_eq!(
                    check(&actor, action, other_org).is_ok(),
                    may && (level == Level::National || !action.issuer_only()),
                    "{level} {action} other org"
                );
            }
        }
    }

    #[test]
    fn the_done_when_cases() {
        let [_, province, city, county] = tokens().map(|(_, p)| p);
        let heshan = Target {
            division: Some(HESHAN),
            issuing_org: Some(HUNAN_ORG),
        };
        let ziyang = Target {
            division: Some(ZIYANG),
            ..heshan
        };
        assert_eq!(check(&county, Action::SuspendQc, heshan), Ok(()));
        assert!(matches!(
            check(&county, Action::RevokeQc, heshan),
            Err(OutOfJurisdiction::Level { .. })
        ));
        assert_eq!(
            check(&county, Action::SuspendQc, ziyang),
            Err(OutOfJurisdiction::Division)
        );
        assert_eq!(check(&city, Action::VoidRc, heshan), Ok(()));
        let changsha = Target {
            division: Some(CHANGSHA),
            issuing_org: None,
        };
        assert_eq!(
            check(&city, Action::VoidRc, changsha),
            Err(OutOfJurisdiction::Division)
        );
        let guangdong_qc = Target {
            issuing_org: Some("广东省商务厅"),
            ..heshan
        };
        assert_eq!(
            check(&province, Action::RevokeQc, guangdong_qc),
            Err(OutOfJurisdiction::NotIssuer(Action::RevokeQc))
        );
        // A record from before divisions: only the nation reaches it.
        let undivided = Target::default();
        assert_eq!(
            check(&province, Action::SuspendQc, undivided),
            Err(OutOfJurisdiction::Division)
        );
    }

    #[test]
    fn police_reads_are_limited_to_their_division_and_nothing_else_is() {
        let police = Principal {
            division: Some("4309".into()),
            ..Principal::token(Role::Police, "p")
        };
        let heshan = Target {
            division: Some(HESHAN),
            issuing_org: None,
        };
        let changsha = Target {
            division: Some(CHANGSHA),
            issuing_org: None,
        };
        assert_eq!(check(&police, Action::ReadRecords, heshan), Ok(()));
        assert_eq!(
            check(&police, Action::ReadRecords, changsha),
            Err(OutOfJurisdiction::Division)
        );
        let national_police = Principal::token(Role::Police, "q");
        assert_eq!(
            check(&national_police, Action::ReadRecords, changsha),
            Ok(())
        );
    }

    #[test]
    fn a_scoped_level_without_a_division_reaches_nothing() {
        let broken = authority(Level::County, None, Some("x"));
        let target = Target {
            division: Some(HESHAN),
            issuing_org: None,
        };
        assert_eq!(
            check(&broken, Action::SuspendQc, target),
            Err(OutOfJurisdiction::Division)
        );
        let reach = Reach {
            role: Role::Repairer,
            level: None,
            division: Some(HESHAN),
            enterprise_division: None,
        };
        assert_eq!(
            may_mint(&broken, reach),
            Err(OutOfJurisdiction::MintOutside)
        );
    }

    #[test]
    fn minting_only_at_or_below_and_inside() {
        let [_, province, city, county] = tokens().map(|(_, p)| p);
        let reach = |role, level, division| Reach {
            role,
            level,
            division,
            enterprise_division: None,
        };
        // (maker, new token, allowed)
        let cases = [
            (
                &county,
                reach(Role::Authority, Some(Level::County), Some(HESHAN)),
                Ok(()),
            ),
            (
                &county,
                reach(Role::Authority, Some(Level::City), Some("4309")),
                Err(OutOfJurisdiction::MintAbove),
            ),
            (
                &county,
                reach(Role::Authority, Some(Level::County), Some(ZIYANG)),
                Err(OutOfJurisdiction::MintOutside),
            ),
            (
                &city,
                reach(Role::Authority, Some(Level::County), Some(ZIYANG)),
                Ok(()),
            ),
            (
                &city,
                reach(Role::Authority, Some(Level::Province), Some("43")),
                Err(OutOfJurisdiction::MintAbove),
            ),
            (
                &province,
                reach(Role::Authority, Some(Level::National), None),
                Err(OutOfJurisdiction::MintAbove),
            ),
            // Police and clerk tokens act nationally: only the nation makes them.
            (
                &province,
                reach(Role::Police, None, Some("4309")),
                Err(OutOfJurisdiction::MintOtherService),
            ),
            (
                &city,
                reach(Role::Clerk, None, Some("4309")),
                Err(OutOfJurisdiction::MintOtherService),
            ),
            (&province, reach(Role::Repairer, None, Some("4309")), Ok(())),
            // A token without a division is national: above a province.
            (
                &province,
                reach(Role::Repairer, None, None),
                Err(OutOfJurisdiction::MintOutside),
            ),
            (
                &city,
                reach(Role::Repairer, None, Some("44")),
                Err(OutOfJurisdiction::MintOutside),
            ),
            (&county, reach(Role::Township, None, Some(HESHAN)), Ok(())),
        ];
        for (maker, new, want) in cases {
            assert_eq!(may_mint(maker, new), want, "{new:?}");
        }
        let enterprise = |division| Reach {
            role: Role::Enterprise,
            level: None,
            division: None,
            enterprise_division: division,
        };
        assert_eq!(may_mint(&county, enterprise(Some(HESHAN))), Ok(()));
        assert_eq!(
            may_mint(&county, enterprise(Some(ZIYANG))),
            Err(OutOfJurisdiction::MintOutside)
        );
        let national = Principal::operator();
        assert_eq!(
            may_mint(
                &national,
                reach(Role::Authority, Some(Level::National), None)
            ),
            Ok(())
        );
    }

    #[test]
    fn a_qcs_issuing_authority_is_the_tokens_org() {
        let [national, province, ..] = tokens().map(|(_, p)| p);
        assert_eq!(
            issuing_authority(&province, None),
            Ok(Some(HUNAN_ORG.into()))
        );
        assert_eq!(
            issuing_authority(&province, Some(HUNAN_ORG)),
            Ok(Some(HUNAN_ORG.into()))
        );
        assert_eq!(
            issuing_authority(&province, Some("广东省商务厅")),
            Err(OutOfJurisdiction::OtherOrg)
        );
        assert_eq!(issuing_authority(&national, None), Ok(None));
        assert_eq!(
            issuing_authority(&national, Some("广东省商务厅")),
            Ok(Some("广东省商务厅".into()))
        );
    }

    #[test]
    fn divisions_are_gb_t_2260_prefixes() {
        for ok in ["43", "4309", "430903", "11", "82"] {
            assert_eq!(parse_division(ok).as_deref(), Ok(ok));
        }
        for bad in ["", "4", "430", "43090", "4309031", "43a903", "４３"] {
            assert_eq!(
                parse_division(bad).unwrap_err().code,
                FieldCode::InvalidFormat,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_division("99").unwrap_err().code,
            FieldCode::UnknownValue
        );
        assert!(parse_county("4309").is_err());
        assert_eq!(parse_county("430903").as_deref(), Ok("430903"));
        assert!(covers(Some("4309"), Some("430903")));
        assert!(!covers(Some("4309"), Some("430102")));
        assert!(covers(None, None));
        assert!(!covers(Some("43"), None));
        for level in Level::iter() {
            assert_eq!(
                level.division_digits().and_then(Level::of_digits),
                (level != Level::National).then_some(level)
            );
        }
    }
}
