//! Vehicle registration plate (号牌号码, GA 36) and its type.

use std::fmt;

use crate::domain::text::to_half_width;
use crate::domain::{FieldError, code};

/// The 31 provincial abbreviations that open an ordinary plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
/// Separators people type between the authority letter and the serial
/// (湘H·12345); they are not part of the number.
const SEPARATORS: [char; 5] = ['\u{B7}', '\u{2022}', '\u{30FB}', '\u{2027}', '\u{FF65}'];
/// Last characters of ordinary plates with a 4-character serial.
const SUFFIXES: &str = "挂学警港澳";
const OTHER_MIN_CHARS: usize = 2;
const OTHER_MAX_CHARS: usize = 12;

/// The plate type (号牌种类) as named in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlateType {
    /// 小型汽车号牌 (blue)
    Small,
    /// 大型汽车号牌 (yellow)
    Large,
    NewEnergySmall,
    NewEnergyLarge,
    /// 挂车号牌
    Trailer,
    /// 教练汽车号牌
    Coach,
    /// 警用汽车号牌
    Police,
    Motorcycle,
    /// Anything else: cross-border (港/澳), embassy and consulate (使/领),
    /// military, temporary.
    Other,
}

impl PlateType {
    pub const ALL: [PlateType; 9] = [
        PlateType::Small,
        PlateType::Large,
        PlateType::NewEnergySmall,
        PlateType::NewEnergyLarge,
        PlateType::Trailer,
        PlateType::Coach,
        PlateType::Police,
        PlateType::Motorcycle,
        PlateType::Other,
    ];

    pub fn parse(s: &str) -> Option<PlateType> {
        PlateType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlateType::Small => "small",
            PlateType::Large => "large",
            PlateType::NewEnergySmall => "new_energy_small",
            PlateType::NewEnergyLarge => "new_energy_large",
            PlateType::Trailer => "trailer",
            PlateType::Coach => "coach",
            PlateType::Police => "police",
            PlateType::Motorcycle => "motorcycle",
            PlateType::Other => "other",
        }
    }
}

/// The recognised GA 36 shapes, after the province abbreviation and the
/// issuing-authority letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// 5 letters or digits.
    Ordinary,
    /// 4 letters or digits and one of [`SUFFIXES`].
    Suffixed(char),
    /// A letter A–K (no I), a letter or digit, 4 digits.
    NewEnergySmall,
    /// 5 digits, a letter A–K (no I).
    NewEnergyLarge,
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// An issuing-authority letter or serial letter: A–Z without I and O.
fn is_plate_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

fn is_serial_char(c: char) -> bool {
    is_digit(c) || is_plate_letter(c)
}

/// The letters that mark a new-energy plate: A–H, J, K.
fn is_nev_letter(c: char) -> bool {
    matches!(c, 'A'..='H' | 'J' | 'K')
}

fn is_cjk(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF
    )
}

fn has_prefix(chars: &[char]) -> bool {
    chars.len() >= 2 && PROVINCES.contains(chars[0]) && is_plate_letter(chars[1])
}

fn shape(chars: &[char]) -> Option<Shape> {
    if !has_prefix(chars) {
        return None;
    }
    let serial = &chars[2..];
    match serial {
        [a, b, c, d, e] if [a, b, c, d, e].iter().all(|x| is_serial_char(**x)) => {
            Some(Shape::Ordinary)
        }
        [a, b, c, d, s]
            if [a, b, c, d].iter().all(|x| is_serial_char(**x)) && SUFFIXES.contains(*s) =>
        {
            Some(Shape::Suffixed(*s))
        }
        [a, b, rest @ ..]
            if rest.len() == 4
                && is_nev_letter(*a)
                && is_serial_char(*b)
                && rest.iter().all(|x| is_digit(*x)) =>
        {
            Some(Shape::NewEnergySmall)
        }
        [digits @ .., z]
            if digits.len() == 5 && digits.iter().all(|x| is_digit(*x)) && is_nev_letter(*z) =>
        {
            Some(Shape::NewEnergyLarge)
        }
        _ => None,
    }
}

/// The plate type a shape implies when the client gave none.
fn default_type(shape: Shape) -> PlateType {
    match shape {
        Shape::Ordinary => PlateType::Small,
        Shape::Suffixed('挂') => PlateType::Trailer,
        Shape::Suffixed('学') => PlateType::Coach,
        Shape::Suffixed('警') => PlateType::Police,
        Shape::Suffixed(_) => PlateType::Other,
        Shape::NewEnergySmall => PlateType::NewEnergySmall,
        Shape::NewEnergyLarge => PlateType::NewEnergyLarge,
    }
}

/// Whether a plate of this shape may carry the given type.
fn fits(plate_type: PlateType, shape: Shape) -> bool {
    match plate_type {
        PlateType::Small | PlateType::Large | PlateType::Motorcycle => shape == Shape::Ordinary,
        PlateType::Trailer => shape == Shape::Suffixed('挂'),
        PlateType::Coach => shape == Shape::Suffixed('学'),
        PlateType::Police => shape == Shape::Suffixed('警'),
        PlateType::NewEnergySmall => shape == Shape::NewEnergySmall,
        PlateType::NewEnergyLarge => shape == Shape::NewEnergyLarge,
        PlateType::Other => true,
    }
}

/// A specific defect in a plate that fits no known shape, if one stands out.
fn specific_defect(chars: &[char]) -> Option<String> {
    match chars.first() {
        Some(c) if PROVINCES.contains(*c) => {}
        _ => {
            return Some(
                "Plate must start with a province abbreviation such as 湘 or 粤.".to_owned(),
            );
        }
    }
    match chars.get(1) {
        Some(c) if is_plate_letter(*c) => {}
        Some(c) => {
            return Some(format!(
                "Plate character 2 is '{c}': it must be a letter other than I and O."
            ));
        }
        None => return None,
    }
    chars
        .iter()
        .enumerate()
        .skip(2)
        .find(|(_, c)| matches!(c, 'I' | 'O'))
        .map(|(i, c)| {
            format!(
                "Plate character {} is '{c}': the letters I and O are never used.",
                i + 1
            )
        })
}

/// The shape a plate type requires, for error messages.
fn expected_shape(plate_type: Option<PlateType>) -> String {
    let prefix = "a province abbreviation, a letter other than I and O";
    match plate_type {
        None | Some(PlateType::Other) => format!(
            "Plate must be {prefix} and 5 letters or digits (e.g. 湘H12345), 4 letters or digits \
             and one of 挂学警港澳, or a new-energy serial of 6 (e.g. 粤BD12345, 粤B12345D); \
             use plate_type \"other\" for embassy, military or temporary plates."
        ),
        Some(t @ (PlateType::Small | PlateType::Large | PlateType::Motorcycle)) => format!(
            "A {} plate must be {prefix} and 5 letters or digits, e.g. 湘H12345.",
            t.as_str()
        ),
        Some(PlateType::Trailer) => {
            format!("A trailer plate must be {prefix}, 4 letters or digits and 挂, e.g. 湘H1234挂.")
        }
        Some(PlateType::Coach) => {
            format!("A coach plate must be {prefix}, 4 letters or digits and 学, e.g. 湘H1234学.")
        }
        Some(PlateType::Police) => {
            format!("A police plate must be {prefix}, 4 letters or digits and 警, e.g. 湘A1234警.")
        }
        Some(PlateType::NewEnergySmall) => format!(
            "A new_energy_small plate must be {prefix}, one of A-H, J, K, a letter or digit \
             and 4 digits, e.g. 粤BD12345."
        ),
        Some(PlateType::NewEnergyLarge) => format!(
            "A new_energy_large plate must be {prefix}, 5 digits and one of A-H, J, K, \
             e.g. 粤B12345D."
        ),
    }
}

/// Full-width forms converted, whitespace and middle-dot separators removed,
/// ASCII letters uppercased.
fn normalize(s: &str) -> Result<String, FieldError> {
    let half = to_half_width(s);
    let trimmed = half.trim();
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(FieldError::invalid_format(format!(
            "Plate must not contain control characters (found U+{:04X}).",
            u32::from(c)
        )));
    }
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(c))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return Err(FieldError::required("Plate"));
    }
    Ok(cleaned)
}

/// The basic sanity check for plates of type `other`.
fn check_other(chars: &[char]) -> Result<(), FieldError> {
    if chars.len() < OTHER_MIN_CHARS || chars.len() > OTHER_MAX_CHARS {
        return Err(FieldError::invalid_format(format!(
            "Plate must be {OTHER_MIN_CHARS} to {OTHER_MAX_CHARS} characters, got {}.",
            chars.len()
        )));
    }
    if !chars
        .iter()
        .any(|c| c.is_ascii_alphanumeric() || is_cjk(*c))
    {
        return Err(FieldError::invalid_format(
            "Plate must contain at least one Chinese character, letter or digit.",
        ));
    }
    Ok(())
}

/// A registration plate number in canonical form, with its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plate {
    number: String,
    plate_type: PlateType,
}

impl Plate {
    /// Parses a plate number and its optional type. Without a type, the type is
    /// derived from the plate's shape; with one, the plate must fit it. The
    /// error names the offending field: `"plate_type"` for an unknown type,
    /// `"plate"` otherwise.
    pub fn parse(s: &str, plate_type: Option<&str>) -> Result<Plate, (&'static str, FieldError)> {
        let given = match plate_type {
            None => None,
            Some(name) => Some(PlateType::parse(name).ok_or_else(|| {
                (
                    "plate_type",
                    FieldError::new(
                        code::UNKNOWN_VALUE,
                        "plate_type must be one of small, large, new_energy_small, \
                         new_energy_large, trailer, coach, police, motorcycle, other.",
                    ),
                )
            })?),
        };
        let number = normalize(s).map_err(|e| ("plate", e))?;
        let chars: Vec<char> = number.chars().collect();
        let found = shape(&chars);

        let plate_type = match (given, found) {
            (Some(PlateType::Other), _) => {
                check_other(&chars).map_err(|e| ("plate", e))?;
                PlateType::Other
            }
            (Some(t), Some(sh)) if fits(t, sh) => t,
            (None, Some(sh)) => default_type(sh),
            (given, found) => {
                let message = match found {
                    None => specific_defect(&chars).unwrap_or_else(|| expected_shape(given)),
                    Some(_) => expected_shape(given),
                };
                return Err(("plate", FieldError::invalid_format(message)));
            }
        };
        Ok(Plate { number, plate_type })
    }

    pub fn number(&self) -> &str {
        &self.number
    }

    pub fn plate_type(&self) -> PlateType {
        self.plate_type
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;
    use proptest::prelude::*;

    fn ok(s: &str, plate_type: Option<&str>) -> Plate {
        match Plate::parse(s, plate_type) {
            Ok(p) => p,
            Err((field, e)) => panic!("{s:?} {plate_type:?}: {field} {e:?}"),
        }
    }

    fn err(s: &str, plate_type: Option<&str>) -> (&'static str, FieldError) {
        match Plate::parse(s, plate_type) {
            Ok(p) => panic!("{s:?} {plate_type:?} parsed as {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn plate_type_names_round_trip() {
        let names = [
            "small",
            "large",
            "new_energy_small",
            "new_energy_large",
            "trailer",
            "coach",
            "police",
            "motorcycle",
            "other",
        ];
        for (t, name) in PlateType::ALL.into_iter().zip(names) {
            assert_eq!(t.as_str(), name);
            assert_eq!(PlateType::parse(name), Some(t));
        }
        assert_eq!(PlateType::parse("Small"), None);
    }

    #[test]
    fn there_are_31_provinces() {
        assert_eq!(PROVINCES.chars().count(), 31);
    }

    #[test]
    fn ordinary_plates() {
        let p = ok("湘H12345", None);
        assert_eq!(p.number(), "湘H12345");
        assert_eq!(p.plate_type(), PlateType::Small);
        assert_eq!(ok("湘H12345", Some("small")).plate_type(), PlateType::Small);
        assert_eq!(ok("湘H12345", Some("large")).plate_type(), PlateType::Large);
        assert_eq!(
            ok("湘H12345", Some("motorcycle")).plate_type(),
            PlateType::Motorcycle
        );
        assert_eq!(ok("京AB1C2D", None).number(), "京AB1C2D");
        assert_eq!(p.to_string(), "湘H12345");
    }

    #[test]
    fn separators_spaces_case_and_full_width() {
        for input in [
            "湘H·12345",
            "湘H•12345",
            "湘H 12345",
            " 湘 H 1 2 3 4 5 ",
            "湘h12345",
            "湘Ｈ１２３４５",
            "湘Ｈ\u{3000}１２３４５",
            "\u{3000}湘ｈ・12345\u{3000}",
        ] {
            let p = ok(input, None);
            assert_eq!(p.number(), "湘H12345", "{input:?}");
            assert_eq!(p.plate_type(), PlateType::Small);
        }
    }

    #[test]
    fn new_energy_plates() {
        let p = ok("粤BD12345", None);
        assert_eq!(p.number(), "粤BD12345");
        assert_eq!(p.plate_type(), PlateType::NewEnergySmall);
        assert_eq!(
            ok("粤BDF1234", Some("new_energy_small")).number(),
            "粤BDF1234"
        );
        let p = ok("粤B12345D", None);
        assert_eq!(p.plate_type(), PlateType::NewEnergyLarge);
        assert_eq!(
            ok("粤b12345d", Some("new_energy_large")).number(),
            "粤B12345D"
        );

        // Only A-H, J, K mark a new-energy plate.
        assert_eq!(err("粤BL12345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("粤B12345L", None).1.code, FieldCode::InvalidFormat);
        // Small: the last four must be digits.
        assert_eq!(err("粤BD1234A", None).1.code, FieldCode::InvalidFormat);
    }

    #[test]
    fn suffixed_plates() {
        let p = ok("湘H1234挂", None);
        assert_eq!(p.plate_type(), PlateType::Trailer);
        assert_eq!(
            ok("湘H1234挂", Some("trailer")).plate_type(),
            PlateType::Trailer
        );
        assert_eq!(ok("湘H1234学", None).plate_type(), PlateType::Coach);
        assert_eq!(ok("湘A1234警", None).plate_type(), PlateType::Police);
        assert_eq!(ok("粤Z1234港", None).plate_type(), PlateType::Other);
        assert_eq!(ok("粤Z1234澳", None).plate_type(), PlateType::Other);
        assert_eq!(
            ok("粤Z1234澳", Some("other")).plate_type(),
            PlateType::Other
        );
    }

    #[test]
    fn rejections() {
        let (field, e) = err("湘HI2345", None);
        assert_eq!(field, "plate");
        assert_eq!(e.code, FieldCode::InvalidFormat);
        assert!(e.message.contains("character 3"), "{}", e.message);
        assert_eq!(err("湘HO2345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘I12345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘H1234", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘H123456", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("港H12345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("H12345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘H1234使", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘H12\t345", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("湘H", None).1.code, FieldCode::InvalidFormat);
        assert_eq!(err("", None).1.code, FieldCode::Required);
        assert_eq!(err(" \u{3000}·", None).1.code, FieldCode::Required);
    }

    #[test]
    fn given_type_must_fit_the_shape() {
        let (field, e) = err("湘H12345", Some("new_energy_small"));
        assert_eq!(field, "plate");
        assert_eq!(e.code, FieldCode::InvalidFormat);
        assert!(e.message.contains("new_energy_small"), "{}", e.message);
        assert!(
            err("粤BD12345", Some("small"))
                .1
                .message
                .contains("small plate")
        );
        assert_eq!(
            err("湘H1234挂", Some("coach")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            err("湘H12345", Some("trailer")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            err("湘H1234警", Some("small")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            err("粤B12345D", Some("new_energy_small")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            err("粤BD12345", Some("new_energy_large")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            err("湘H1234港", Some("police")).1.code,
            FieldCode::InvalidFormat
        );
    }

    #[test]
    fn other_plates_need_only_a_sanity_check() {
        assert_eq!(ok("使014578", Some("other")).number(), "使014578");
        assert_eq!(ok("123456领", Some("other")).number(), "123456领");
        assert_eq!(ok("VA·12345", Some("other")).number(), "VA12345");
        assert_eq!(ok("wj湘12345", Some("other")).number(), "WJ湘12345");
        assert_eq!(ok("湘H12345", Some("other")).plate_type(), PlateType::Other);
        assert_eq!(err("使", Some("other")).1.code, FieldCode::InvalidFormat);
        assert_eq!(
            err("ABCDEFGHJKLMN", Some("other")).1.code,
            FieldCode::InvalidFormat
        );
        assert_eq!(err("--", Some("other")).1.code, FieldCode::InvalidFormat);
        assert_eq!(
            err("使0\u{1}", Some("other")).1.code,
            FieldCode::InvalidFormat
        );
        // Without a type, non-GA-36 shapes are refused.
        assert_eq!(err("使014578", None).1.code, FieldCode::InvalidFormat);
    }

    #[test]
    fn unknown_plate_type() {
        let (field, e) = err("湘H12345", Some("blue"));
        assert_eq!(field, "plate_type");
        assert_eq!(e.code, FieldCode::UnknownValue);
        assert_eq!(err("湘H12345", Some("")).0, "plate_type");
    }

    fn province() -> impl Strategy<Value = char> {
        proptest::sample::select(PROVINCES.chars().collect::<Vec<_>>())
    }

    fn plate() -> impl Strategy<Value = (String, PlateType)> {
        let serial = prop_oneof![
            "[A-HJ-NP-Z0-9]{5}".prop_map(|s| (s, PlateType::Small)),
            "[A-HJ-NP-Z0-9]{4}挂".prop_map(|s| (s, PlateType::Trailer)),
            "[A-HJ-NP-Z0-9]{4}学".prop_map(|s| (s, PlateType::Coach)),
            "[A-HJ-NP-Z0-9]{4}警".prop_map(|s| (s, PlateType::Police)),
            "[A-HJ-NP-Z0-9]{4}[港澳]".prop_map(|s| (s, PlateType::Other)),
            "[A-HJK][A-HJ-NP-Z0-9][0-9]{4}".prop_map(|s| (s, PlateType::NewEnergySmall)),
            "[0-9]{5}[A-HJK]".prop_map(|s| (s, PlateType::NewEnergyLarge)),
        ];
        (province(), "[A-HJ-NP-Z]", serial)
            .prop_map(|(p, letter, (serial, t))| (format!("{p}{letter}{serial}"), t))
    }

    proptest! {
        #[test]
        fn valid_plates_parse_and_round_trip((s, expected) in plate()) {
            let p = Plate::parse(&s, None).unwrap();
            prop_assert_eq!(p.number(), s.as_str());
            prop_assert_eq!(p.plate_type(), expected);

            let explicit = Plate::parse(&s, Some(expected.as_str())).unwrap();
            prop_assert_eq!(explicit, p.clone());

            let again = Plate::parse(p.number(), None).unwrap();
            prop_assert_eq!(&again, &p);

            // Lowercase, a middle dot after the authority letter and full-width
            // forms all come back to the same plate.
            let mut decorated: String = s.chars().take(2).collect();
            decorated.push('·');
            decorated.extend(s.chars().skip(2));
            let decorated = to_full_width(&decorated.to_ascii_lowercase());
            prop_assert_eq!(Plate::parse(&decorated, None).unwrap(), p.clone());

            prop_assert!(Plate::parse(&s, Some("other")).is_ok());
        }
    }

    fn to_full_width(s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_graphic() {
                    char::from_u32(u32::from(c) + 0xFEE0).unwrap()
                } else {
                    c
                }
            })
            .collect()
    }
}
