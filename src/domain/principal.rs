//! Who is calling: a role, the token it came with and, for an enterprise
//! token, the enterprise it is bound to. No I/O: the HTTP layer finds the
//! token, the service layer asks the questions below.

use super::jurisdiction::{Level, OutOfJurisdiction};

crate::domain::wire_enum!(
    /// The role of a caller. `public` is the caller without a token.
    Role {
        Public,
        Authority,
        Enterprise,
        Clerk,
        Police,
        /// 机动车维修经营者: asks whether a vehicle was handed in for
        /// scrapping (SPEC §14); sees nothing personal.
        Repairer,
        /// A township's campaign officer (乡镇, SPEC §15 and §17): bound to
        /// one township inside a county.
        Township,
    }
);

impl Role {
    /// Roles a token can carry (not `public`).
    pub fn parse_token_role(s: &str) -> Option<Role> {
        s.parse().ok().filter(|r| *r != Role::Public)
    }

    /// Officers: the roles whose scans are evidence and who may check an
    /// owner's identity.
    pub fn is_officer(self) -> bool {
        match self {
            Role::Clerk | Role::Police | Role::Authority => true,
            Role::Public | Role::Enterprise | Role::Repairer | Role::Township => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub token_id: Option<String>,
    pub enterprise: Option<String>,
    /// A clerk token's office (SPEC §14): what its deregistrations record.
    pub office: Option<String>,
    /// An authority token's level (SPEC §15); none on other roles.
    pub level: Option<Level>,
    /// The division prefix a token governs or is limited to; none is the
    /// whole country.
    pub division: Option<String>,
    /// An authority token's organisation (e.g. 湖南省商务厅).
    pub org: Option<String>,
    /// A township token's township.
    pub township: Option<String>,
    /// When the token stops working, if it does.
    pub expires_at: Option<chrono::NaiveDateTime>,
}

/// Why a caller may not do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// No token was presented (401).
    #[error("this endpoint needs a bearer token")]
    Unauthenticated,
    /// The token's role may not do this (403).
    #[error("this token's role may not do this")]
    Forbidden,
    /// The role may, but not here (403 `out_of_jurisdiction`, SPEC §15).
    #[error(transparent)]
    OutOfJurisdiction(#[from] OutOfJurisdiction),
}

impl Principal {
    pub fn public() -> Self {
        Principal {
            role: Role::Public,
            token_id: None,
            enterprise: None,
            office: None,
            level: None,
            division: None,
            org: None,
            township: None,
            expires_at: None,
        }
    }

    /// A token of `role` with nothing more on it (a national one).
    pub fn token(role: Role, id: &str) -> Self {
        Principal {
            role,
            token_id: Some(id.to_string()),
            ..Principal::public()
        }
    }

    /// The actor of work done from the command line on the server itself:
    /// a national authority.
    pub fn operator() -> Self {
        Principal {
            role: Role::Authority,
            level: Some(Level::National),
            ..Principal::public()
        }
    }

    /// An authority token's level: tokens made before levels are national.
    pub fn authority_level(&self) -> Level {
        self.level.unwrap_or(Level::National)
    }

    /// Is this caller narrowed by a jurisdiction (an authority below the
    /// nation, or a token limited to a division)? Others skip the checks.
    pub fn is_scoped(&self) -> bool {
        (self.role == Role::Authority && self.authority_level() != Level::National)
            || self.division.is_some()
    }

    /// Allows the call if the role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AccessDenied> {
        if roles.contains(&self.role) {
            Ok(())
        } else if self.role == Role::Public {
            Err(AccessDenied::Unauthenticated)
        } else {
            Err(AccessDenied::Forbidden)
        }
    }

    /// The enterprise of an enterprise token.
    pub fn enterprise_uscc(&self) -> Result<&str, AccessDenied> {
        match (self.role, self.enterprise.as_deref()) {
            (Role::Enterprise, Some(uscc)) => Ok(uscc),
            _ => Err(AccessDenied::Forbidden),
        }
    }

    /// May this caller see a record of `owner_uscc`'s? Enterprises see only
    /// their own; everyone else with a reading role sees all.
    pub fn sees_enterprise(&self, owner_uscc: &str) -> bool {
        self.role != Role::Enterprise || self.enterprise.as_deref() == Some(owner_uscc)
    }

    /// Officers and the issuing enterprise see an RC's owner in full.
    pub fn sees_owner_of(&self, issuer_uscc: &str) -> bool {
        self.disclosure(issuer_uscc) == Disclosure::Full
    }

    /// How much of a certificate held by `holder_uscc` this caller sees
    /// (SPEC §16): officers and the holder everything; anyone else the
    /// public allow-list.
    pub fn disclosure(&self, holder_uscc: &str) -> Disclosure {
        let full = match self.role {
            Role::Clerk | Role::Police | Role::Authority => true,
            Role::Enterprise => self.enterprise.as_deref() == Some(holder_uscc),
            Role::Public | Role::Repairer | Role::Township => false,
        };
        if full {
            Disclosure::Full
        } else {
            Disclosure::Public
        }
    }
}

/// What of a certificate a caller is shown. `Public` is an allow-list: the
/// certificate's identity, status and dates, the owner's masked name, and
/// none of the free text officers write (void, suspension, revocation,
/// revision and override reasons) and no officer's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    Full,
    Public,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn token(role: Role, enterprise: Option<&str>) -> Principal {
        Principal {
            enterprise: enterprise.map(str::to_string),
            ..Principal::token(role, "t")
        }
    }

    #[test]
    fn public_is_unauthenticated_and_wrong_role_forbidden() {
        assert_eq!(
            Principal::public().require(&[Role::Authority]),
            Err(AccessDenied::Unauthenticated)
        );
        let clerk = token(Role::Clerk, None);
        assert_eq!(
            clerk.require(&[Role::Authority]),
            Err(AccessDenied::Forbidden)
        );
        assert!(clerk.require(&[Role::Clerk, Role::Police]).is_ok());
    }

    #[test]
    fn role_names_round_trip_and_public_is_no_token_role() {
        for role in Role::iter() {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                Role::parse_token_role(role.as_str()),
                (role != Role::Public).then_some(role)
            );
        }
        assert_eq!(Role::parse_token_role("admin"), None);
    }

    #[test]
    fn who_sees_what() {
        let own = token(Role::Enterprise, Some("A"));
        let other = token(Role::Enterprise, Some("B"));
        let police = token(Role::Police, None);
        // (caller, sees enterprise A's records, sees the owner of A's RCs)
        let table = [
            (&own, true, true),
            (&other, false, false),
            (&police, true, true),
            (&Principal::public(), true, false),
        ];
        for (who, records, owner) in table {
            assert_eq!(who.sees_enterprise("A"), records, "{who:?}");
            assert_eq!(who.sees_owner_of("A"), owner, "{who:?}");
        }
        assert_eq!(own.enterprise_uscc(), Ok("A"));
        assert_eq!(police.enterprise_uscc(), Err(AccessDenied::Forbidden));
    }
}
