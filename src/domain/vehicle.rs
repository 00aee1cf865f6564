//! Vehicle classification on a recycling certificate: vehicle type, fuel type,
//! NEV battery codes, and which vehicles need police-supervised dismantling.

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

const MAX_BATTERY_CODE: usize = 64;

/// The vehicle category, as far as the scrapping rules distinguish them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VehicleType {
    SmallPassenger,
    MediumPassenger,
    /// 大型客车
    LargePassenger,
    LightTruck,
    MediumTruck,
    /// 重型货车
    HeavyTruck,
    /// 校车
    SchoolBus,
    Motorcycle,
    Special,
    Other,
}

impl VehicleType {
    pub const ALL: [VehicleType; 10] = [
        VehicleType::SmallPassenger,
        VehicleType::MediumPassenger,
        VehicleType::LargePassenger,
        VehicleType::LightTruck,
        VehicleType::MediumTruck,
        VehicleType::HeavyTruck,
        VehicleType::SchoolBus,
        VehicleType::Motorcycle,
        VehicleType::Special,
        VehicleType::Other,
    ];

    pub fn parse(s: &str) -> Option<VehicleType> {
        VehicleType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VehicleType::SmallPassenger => "small_passenger",
            VehicleType::MediumPassenger => "medium_passenger",
            VehicleType::LargePassenger => "large_passenger",
            VehicleType::LightTruck => "light_truck",
            VehicleType::MediumTruck => "medium_truck",
            VehicleType::HeavyTruck => "heavy_truck",
            VehicleType::SchoolBus => "school_bus",
            VehicleType::Motorcycle => "motorcycle",
            VehicleType::Special => "special",
            VehicleType::Other => "other",
        }
    }
}

/// The fuel or power source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuelType {
    Gasoline,
    Diesel,
    Electric,
    PlugInHybrid,
    Hybrid,
    NaturalGas,
    Lpg,
    Hydrogen,
    Other,
}

impl FuelType {
    pub const ALL: [FuelType; 9] = [
        FuelType::Gasoline,
        FuelType::Diesel,
        FuelType::Electric,
        FuelType::PlugInHybrid,
        FuelType::Hybrid,
        FuelType::NaturalGas,
        FuelType::Lpg,
        FuelType::Hydrogen,
        FuelType::Other,
    ];

    pub fn parse(s: &str) -> Option<FuelType> {
        FuelType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FuelType::Gasoline => "gasoline",
            FuelType::Diesel => "diesel",
            FuelType::Electric => "electric",
            FuelType::PlugInHybrid => "plug_in_hybrid",
            FuelType::Hybrid => "hybrid",
            FuelType::NaturalGas => "natural_gas",
            FuelType::Lpg => "lpg",
            FuelType::Hydrogen => "hydrogen",
            FuelType::Other => "other",
        }
    }
}

/// Whether a recycling certificate may only be issued after dismantling under
/// police supervision: school buses, large passenger vehicles, heavy trucks and
/// any commercial (营运) vehicle.
pub fn requires_supervised_dismantling(vehicle_type: VehicleType, commercial: bool) -> bool {
    commercial
        || matches!(
            vehicle_type,
            VehicleType::LargePassenger | VehicleType::HeavyTruck | VehicleType::SchoolBus
        )
}

/// Parses an NEV battery traceability code: 1–64 ASCII letters and digits.
/// Surrounding whitespace is trimmed and full-width characters converted; case
/// is kept as given.
/// The default start of 车电一体报废 (《新能源汽车废旧动力电池回收和综合利用管理
/// 暂行办法》, in force 2026-04-01): from then on a new-energy vehicle handed
/// in without its traction battery counts as incomplete (车辆缺失).
pub const NEV_BATTERY_RULE_FROM: &str = "2026-04-01";

impl FuelType {
    /// Whether the vehicle carries a traction battery the 2026 rule covers.
    pub fn has_traction_battery(self) -> bool {
        matches!(
            self,
            FuelType::Electric | FuelType::PlugInHybrid | FuelType::Hydrogen
        )
    }
}

/// Whether a vehicle of `fuel` received on `received_on` must come with
/// its traction battery (the rule in force from `rule_from`).
pub fn battery_rule_applies(
    fuel: FuelType,
    received_on: chrono::NaiveDate,
    rule_from: chrono::NaiveDate,
) -> bool {
    fuel.has_traction_battery() && received_on >= rule_from
}

pub fn parse_battery_code(s: &str) -> Result<String, FieldError> {
    let normalized = to_half_width(s).trim().to_owned();
    if normalized.is_empty() {
        return Err(FieldError::required("Battery code"));
    }
    if !normalized.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::invalid_format(
            "Battery code may contain only ASCII letters and digits.",
        ));
    }
    if normalized.len() > MAX_BATTERY_CODE {
        return Err(FieldError::new(
            code::TOO_LONG,
            format!("Battery code must be at most {MAX_BATTERY_CODE} characters."),
        ));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;

    #[test]
    fn vehicle_type_names() {
        let names = [
            "small_passenger",
            "medium_passenger",
            "large_passenger",
            "light_truck",
            "medium_truck",
            "heavy_truck",
            "school_bus",
            "motorcycle",
            "special",
            "other",
        ];
        for (t, name) in VehicleType::ALL.into_iter().zip(names) {
            assert_eq!(t.as_str(), name);
            assert_eq!(VehicleType::parse(name), Some(t));
        }
        assert_eq!(VehicleType::parse("Small_Passenger"), None);
        assert_eq!(VehicleType::parse("tank"), None);
    }

    #[test]
    fn fuel_type_names() {
        let names = [
            "gasoline",
            "diesel",
            "electric",
            "plug_in_hybrid",
            "hybrid",
            "natural_gas",
            "lpg",
            "hydrogen",
            "other",
        ];
        for (t, name) in FuelType::ALL.into_iter().zip(names) {
            assert_eq!(t.as_str(), name);
            assert_eq!(FuelType::parse(name), Some(t));
        }
        assert_eq!(FuelType::parse("petrol"), None);
    }

    #[test]
    fn supervised_dismantling() {
        for t in VehicleType::ALL {
            let expected = matches!(
                t,
                VehicleType::LargePassenger | VehicleType::HeavyTruck | VehicleType::SchoolBus
            );
            assert_eq!(requires_supervised_dismantling(t, false), expected, "{t:?}");
            assert!(requires_supervised_dismantling(t, true), "{t:?}");
        }
    }

    #[test]
    fn battery_codes() {
        assert_eq!(
            parse_battery_code(" 03HPB0DA0001B1C8A0000001 ").unwrap(),
            "03HPB0DA0001B1C8A0000001"
        );
        assert_eq!(parse_battery_code("ａｂ１").unwrap(), "ab1");
        assert!(parse_battery_code(&"A".repeat(64)).is_ok());
        assert_eq!(
            parse_battery_code(&"A".repeat(65)).unwrap_err().code,
            FieldCode::TooLong
        );
        assert_eq!(
            parse_battery_code("").unwrap_err().code,
            FieldCode::Required
        );
        assert_eq!(
            parse_battery_code("AB-12").unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            parse_battery_code("电池1").unwrap_err().code,
            FieldCode::InvalidFormat
        );
    }
}
