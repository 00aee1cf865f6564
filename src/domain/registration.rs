//! The refusals of RC registration and dismantling records that need no
//! database (细则 第18条, 第20条, 第21条, 第23条): the vehicle must be whole and
//! unencumbered, some vehicles are dismantled only under police supervision,
//! and only a registered dismantling site (not a branch) may dismantle.

use chrono::NaiveDate;

/// Why an RC may not be registered, or a dismantling not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the frame/body or the engine is missing; no certificate may be issued")]
    VehicleIncomplete,
    #[error(
        "vehicle.battery_present: a new-energy vehicle received since the battery rule took \
         effect must be handed in with its traction battery (车电一体报废); without it the \
         vehicle is incomplete"
    )]
    BatteryMissing,
    #[error("the vehicle is mortgaged, pledged, seized or detained; no certificate may be issued")]
    VehicleEncumbered,
    #[error(
        "school buses, large passenger vehicles, heavy freight vehicles and commercial vehicles \
         are dismantled under police supervision before the certificate is issued: \
         give `dismantling` with `supervision`"
    )]
    SupervisedDismantlingRequired,
    #[error("the site is a branch (collection point); branches may not dismantle vehicles")]
    BranchCannotDismantle,
    #[error("the site is not one of the enterprise's registered dismantling sites")]
    UnknownSite,
    #[error("a vehicle cannot be dismantled before it was received")]
    DismantledBeforeReceived,
}

/// What registration knows of the handed-in vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VehicleState {
    pub frame_present: bool,
    pub engine_present: bool,
    /// False only when the battery rule applies and the battery is missing.
    pub battery_present: bool,
    pub encumbered: bool,
    pub requires_supervision: bool,
}

/// The checks of a new RC that need no database.
pub fn check_vehicle(vehicle: VehicleState, supervised: Option<bool>) -> Result<(), Refusal> {
    if !vehicle.frame_present || !vehicle.engine_present {
        return Err(Refusal::VehicleIncomplete);
    }
    if !vehicle.battery_present {
        return Err(Refusal::BatteryMissing);
    }
    if vehicle.encumbered {
        return Err(Refusal::VehicleEncumbered);
    }
    check_supervision(vehicle.requires_supervision, supervised)
}

/// `supervised`: `None` when no dismantling record is given, else whether it
/// names a supervision.
pub fn check_supervision(requires: bool, supervised: Option<bool>) -> Result<(), Refusal> {
    if requires && supervised != Some(true) {
        return Err(Refusal::SupervisedDismantlingRequired);
    }
    Ok(())
}

/// A dismantling site must be one of the enterprise's registered sites
/// (exact match after normalisation); a branch's address is refused by name.
pub fn check_site<'a>(
    site: &str,
    dismantling_sites: impl IntoIterator<Item = &'a str>,
    branch_addresses: impl IntoIterator<Item = &'a str>,
) -> Result<(), Refusal> {
    if dismantling_sites.into_iter().any(|s| s == site) {
        return Ok(());
    }
    if branch_addresses.into_iter().any(|b| b == site) {
        return Err(Refusal::BranchCannotDismantle);
    }
    Err(Refusal::UnknownSite)
}

pub fn check_dismantling_date(
    received_on: NaiveDate,
    dismantled_on: NaiveDate,
) -> Result<(), Refusal> {
    if dismantled_on < received_on {
        return Err(Refusal::DismantledBeforeReceived);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOLE: VehicleState = VehicleState {
        frame_present: true,
        engine_present: true,
        battery_present: true,
        encumbered: false,
        requires_supervision: false,
    };

    #[test]
    fn vehicle_refusals_table() {
        let bus = VehicleState {
            requires_supervision: true,
            ..WHOLE
        };
        let table = [
            (WHOLE, None, Ok(())),
            (WHOLE, Some(false), Ok(())),
            (
                VehicleState {
                    battery_present: false,
                    ..WHOLE
                },
                None,
                Err(Refusal::BatteryMissing),
            ),
            (
                VehicleState {
                    engine_present: false,
                    battery_present: false,
                    ..WHOLE
                },
                None,
                Err(Refusal::VehicleIncomplete),
            ),
            (
                VehicleState {
                    frame_present: false,
                    ..WHOLE
                },
                None,
                Err(Refusal::VehicleIncomplete),
            ),
            (
                VehicleState {
                    engine_present: false,
                    encumbered: true,
                    ..WHOLE
                },
                None,
                Err(Refusal::VehicleIncomplete),
            ),
            (
                VehicleState {
                    encumbered: true,
                    ..WHOLE
                },
                None,
                Err(Refusal::VehicleEncumbered),
            ),
            (bus, None, Err(Refusal::SupervisedDismantlingRequired)),
            (
                bus,
                Some(false),
                Err(Refusal::SupervisedDismantlingRequired),
            ),
            (bus, Some(true), Ok(())),
        ];
        for (vehicle, supervised, expected) in table {
            assert_eq!(
                check_vehicle(vehicle, supervised),
                expected,
                "{vehicle:?} {supervised:?}"
            );
        }
    }

    #[test]
    fn sites_table() {
        let sites = ["赫山区龙岭工业园1号"];
        let branches = ["赫山区网点2号"];
        let table = [
            ("赫山区龙岭工业园1号", Ok(())),
            ("赫山区网点2号", Err(Refusal::BranchCannotDismantle)),
            ("赫山区龙岭工业园 1号", Err(Refusal::UnknownSite)),
            ("", Err(Refusal::UnknownSite)),
        ];
        for (site, expected) in table {
            assert_eq!(check_site(site, sites, branches), expected, "{site}");
        }
    }

    #[test]
    fn dismantling_cannot_precede_receipt() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            check_dismantling_date(d("2024-03-01"), d("2024-03-01")),
            Ok(())
        );
        assert_eq!(
            check_dismantling_date(d("2024-03-02"), d("2024-03-01")),
            Err(Refusal::DismantledBeforeReceived)
        );
    }
}
