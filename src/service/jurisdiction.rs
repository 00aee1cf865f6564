//! The jurisdiction check (SPEC §15), in one place: finds what the table in
//! `domain::jurisdiction` needs to know of the thing acted on (its
//! enterprise's division, a QC's issuing organisation) and asks it. Every
//! service that changes or reads something a jurisdiction covers calls
//! [`authorize`] inside its own transaction; the HTTP layer calls it once
//! more before it reads a request's body, so that a request out of scope is
//! refused with 403 whatever its body holds.

use crate::domain::jurisdiction::{self, Action, Target};
use crate::domain::{AccessDenied, Principal};
use crate::store::{DbConnection, StoreError, enterprises, qualifications, recycling};

/// What an action is done to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum On {
    /// Something new in this division (an enterprise being registered).
    Division(String),
    /// An enterprise, by USCC.
    Enterprise(String),
    /// A QC, by number.
    Qc(String),
    /// An RC, by number (in any case).
    Rc(String),
}

/// May `actor` do `action` on `on`? A thing that does not exist passes (the
/// action itself answers 404); an unscoped caller passes without a read.
pub fn authorize<E>(
    conn: &mut DbConnection,
    actor: &Principal,
    action: Action,
    on: &On,
) -> Result<(), E>
where
    E: From<StoreError> + From<AccessDenied>,
{
    if !actor.is_scoped() {
        return Ok(());
    }
    let (division, org) = match on {
        On::Division(d) => (Some(d.clone()), None),
        On::Enterprise(uscc) => match enterprises::division_of(conn, uscc)? {
            Some(d) => (d, None),
            None => return Ok(()),
        },
        On::Qc(number) => match qualifications::scope_of(conn, number)? {
            Some((d, org)) => (d, Some(org)),
            None => return Ok(()),
        },
        On::Rc(number) => match recycling::division_of(conn, number)? {
            Some(d) => (d, None),
            None => return Ok(()),
        },
    };
    let target = Target {
        division: division.as_deref(),
        issuing_org: org.as_deref(),
    };
    jurisdiction::check(actor, action, target).map_err(|e| AccessDenied::from(e).into())
}
