//! Holds on vehicles (SPEC §14): a police or authority order that a vehicle
//! may not be certified or deregistered (被盗抢骗, 查封扣押, 识别代号被篡改),
//! or an enterprise's report of a suspicion, in force until police confirm
//! or release it.

use super::Role;

crate::domain::wire_enum!(
    /// Why a vehicle is held.
    HoldReason {
        /// 被盗抢骗
        Stolen,
        /// 查封、扣押
        Seized,
        /// 识别代号被篡改
        TamperedIdentifier,
        Other,
    }
);

crate::domain::wire_enum!(
    /// Where a hold stands. `active` and `reported` are in force.
    HoldStatus { Active, Reported, Released }
);

impl HoldStatus {
    /// The status a new hold placed by `role` starts in: police and the
    /// authority place it, an enterprise reports it; other roles may not.
    pub fn placed_by(role: Role) -> Option<HoldStatus> {
        match role {
            Role::Police | Role::Authority => Some(HoldStatus::Active),
            Role::Enterprise => Some(HoldStatus::Reported),
            Role::Public | Role::Clerk | Role::Repairer | Role::Township => None,
        }
    }

    pub fn in_force(self) -> bool {
        self != HoldStatus::Released
    }

    /// What the public is told of a vehicle held so (never the reason,
    /// note or case).
    pub fn public_message(self) -> &'static str {
        match self {
            HoldStatus::Active | HoldStatus::Released => "车辆被公安机关依法控制，请联系公安机关。",
            HoldStatus::Reported => "车辆存在待核实的疑点，请联系公安机关。",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_places_what() {
        assert_eq!(
            HoldStatus::placed_by(Role::Police),
            Some(HoldStatus::Active)
        );
        assert_eq!(
            HoldStatus::placed_by(Role::Authority),
            Some(HoldStatus::Active)
        );
        assert_eq!(
            HoldStatus::placed_by(Role::Enterprise),
            Some(HoldStatus::Reported)
        );
        assert_eq!(HoldStatus::placed_by(Role::Clerk), None);
        assert_eq!(HoldStatus::placed_by(Role::Public), None);
    }

    #[test]
    fn an_active_hold_outweighs_a_report_and_released_ones_do_not_count() {
        use HoldStatus::*;
        // The store picks the hold that speaks as `min(status)` over the
        // holds in force (`store::sql::HeldStatus`): an active hold must
        // sort before a reported one.
        assert!(Active.as_str() < Reported.as_str());
        assert_ne!(Active.public_message(), Reported.public_message());
    }
}
