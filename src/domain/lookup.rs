//! The vehicle lookup's answer (SPEC §14; campaign plan 整治内容(三):
//! 机动车维修经营者承修已报废的机动车): has this vehicle been handed in for
//! scrapping?

use super::RcStatus;

crate::domain::wire_enum!(
    /// Where a vehicle stands in the registry.
    VehicleStatus {
        /// No RC that is not voided.
        None,
        /// Handed in: an active RC (回收中, not yet deregistered).
        InRecycling,
        /// Its RC was consumed at deregistration (已注销).
        Deregistered,
    }
);

impl VehicleStatus {
    /// The status of a vehicle from the statuses of its RCs, oldest first:
    /// the RC that is not voided decides (there is at most one).
    pub fn of(rcs: impl IntoIterator<Item = RcStatus>) -> VehicleStatus {
        rcs.into_iter()
            .filter_map(|s| match s {
                RcStatus::Active => Some(VehicleStatus::InRecycling),
                RcStatus::Deregistered => Some(VehicleStatus::Deregistered),
                RcStatus::Voided => None,
            })
            .last()
            .unwrap_or(VehicleStatus::None)
    }

    pub fn scrapped(self) -> bool {
        self != VehicleStatus::None
    }

    /// What a repairer, an inspector or a buyer is told.
    pub fn advice(self) -> &'static str {
        if self.scrapped() {
            "该车辆已交售报废，不得承修，请向交通运输主管部门报告"
        } else {
            "未查到该车辆的报废回收登记。"
        }
    }

    /// The status in a word, for the page.
    pub fn zh(self) -> &'static str {
        match self {
            VehicleStatus::None => "未查到报废登记",
            VehicleStatus::InRecycling => "已交售报废（回收拆解中）",
            VehicleStatus::Deregistered => "已报废注销",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RcStatus::*;

    #[test]
    fn the_rc_that_is_not_voided_decides() {
        assert_eq!(VehicleStatus::of([]), VehicleStatus::None);
        assert_eq!(VehicleStatus::of([Voided]), VehicleStatus::None);
        assert_eq!(
            VehicleStatus::of([Voided, Active]),
            VehicleStatus::InRecycling
        );
        assert_eq!(
            VehicleStatus::of([Deregistered]),
            VehicleStatus::Deregistered
        );
        assert!(VehicleStatus::InRecycling.scrapped());
        assert!(!VehicleStatus::None.scrapped());
        assert!(VehicleStatus::Deregistered.advice().contains("不得承修"));
    }
}
