//! Free text (names, addresses, reasons): normalisation, length caps, and the
//! masking of personal names shown to roles that may not see them in full.

use unicode_normalization::UnicodeNormalization;

use crate::domain::{FieldError, code};

/// Cap for names of people, enterprises and branches, in characters.
pub const MAX_NAME: usize = 128;
/// Cap for addresses and dismantling sites, in characters.
pub const MAX_ADDRESS: usize = 256;
/// Cap for reasons (overrides, suspensions, revocations), in characters.
pub const MAX_REASON: usize = 500;

/// The format characters (Unicode general category Cf: zero-width
/// spaces and joiners, bidirectional controls, the byte order mark, tags,
/// …), as ranges from the Unicode Character Database
/// (`DerivedGeneralCategory.txt`, Unicode 15.1). Invisible in print and on
/// screen, they make two texts that read the same compare different (a
/// site name that fails to match, a name that evades a search), and bidi
/// controls reorder what a reader sees (SPEC §14).
const FORMAT_CHARACTERS: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is a format character (general category Cf).
pub fn is_format_character(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_CHARACTERS
        .iter()
        .any(|&(low, high)| (low..=high).contains(&c))
}

/// NFC-normalises, trims (any Unicode whitespace, including the ideographic
/// space U+3000) and checks a free-text field.
///
/// Errors: `invalid_format` for a control or format character (Cc, Cf)
/// anywhere, `required` when nothing is left after trimming, `too_long`
/// above `max_chars` characters.
pub fn clean(s: &str, max_chars: usize) -> Result<String, FieldError> {
    let normalized: String = s.nfc().collect();
    if let Some(c) = normalized.chars().find(|&c| is_format_character(c)) {
        return Err(FieldError::invalid_format(format!(
            "Text must not contain invisible format characters (found U+{:04X}).",
            u32::from(c)
        )));
    }
    let trimmed = normalized.trim();
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(FieldError::invalid_format(format!(
            "Text must not contain control characters (found U+{:04X}).",
            u32::from(c)
        )));
    }
    if trimmed.is_empty() {
        return Err(FieldError::new(code::REQUIRED, "A value is required."));
    }
    let count = trimmed.chars().count();
    if count > max_chars {
        return Err(FieldError::new(
            code::TOO_LONG,
            format!("Text must be at most {max_chars} characters, got {count}."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// [`clean`] with the cap for names.
pub fn name(s: &str) -> Result<String, FieldError> {
    clean(s, MAX_NAME)
}

/// [`clean`] with the cap for addresses and dismantling sites.
pub fn address(s: &str) -> Result<String, FieldError> {
    clean(s, MAX_ADDRESS)
}

/// [`clean`] with the cap for reasons.
pub fn reason(s: &str) -> Result<String, FieldError> {
    clean(s, MAX_REASON)
}

/// Maps full-width ASCII forms (U+FF01..U+FF5E) to ASCII and the ideographic
/// space U+3000 to a plain space; everything else is kept. Chinese input methods
/// produce full-width letters and digits, which identifiers must not depend on.
pub fn to_half_width(s: &str) -> String {
    s.chars()
        .map(|c| match u32::from(c) {
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

/// Two-character surnames (复姓), in simplified and traditional forms. A name
/// that starts with one of these keeps both characters when masked.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "独孤", "南宫", "西门", "端木", "澹台", "公冶", "宗政", "濮阳", "太史",
    "申屠", "闻人", "赫连", "钟离", "拓跋", "百里", "东郭", "呼延", "万俟", "羊舌", "微生", "梁丘",
    "左丘", "第五", "公羊", "谷梁", "单于", "闾丘", "乐正", "壤驷", "漆雕", "公西", "巫马", "颛孙",
    "亓官", "司寇", "子车", "鲜于", "段干", "司空", "东门", "即墨", "歐陽", "司馬", "諸葛", "長孫",
    "軒轅", "獨孤", "南宮", "西門", "澹臺", "濮陽", "聞人", "赫連", "鍾離", "尉遲", "公孫", "閭丘",
    "顓孫", "鮮于", "東方", "東郭", "東門", "萬俟", "樂正", "壤駟", "巫馬", "穀梁",
];

/// How many leading characters of `name` [`mask_name`] keeps: the surname, but
/// never the whole name.
fn visible_prefix_len(name: &str) -> usize {
    let total = name.chars().count();
    let surname = if COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) {
        2
    } else {
        1
    };
    surname.min(total.saturating_sub(1))
}

/// Masks a personal name for roles that may only see the surname: every
/// character after the surname becomes `*`, whitespace is kept so the shape of
/// the name stays readable. 张三 → 张*, 欧阳娜娜 → 欧阳**, John Smith →
/// J*** *****. A name that is only a surname (one character, or a compound
/// surname alone) keeps one character less, so a name is never shown in full.
pub fn mask_name(name: &str) -> String {
    let keep = visible_prefix_len(name);
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep || c.is_whitespace() {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldCode;
    use proptest::prelude::*;

    #[test]
    fn clean_trims_unicode_whitespace() {
        assert_eq!(clean("\u{3000} 张三\t\n", MAX_NAME).unwrap(), "张三");
        assert_eq!(
            clean("益阳市 赫山区", MAX_ADDRESS).unwrap(),
            "益阳市 赫山区"
        );
    }

    #[test]
    fn clean_normalises_to_nfc() {
        // "e" + combining acute accent becomes the precomposed "é".
        assert_eq!(clean("Rene\u{301}", MAX_NAME).unwrap(), "Ren\u{e9}");
    }

    #[test]
    fn clean_rejects_empty_and_blank() {
        assert_eq!(clean("", MAX_NAME).unwrap_err().code, FieldCode::Required);
        assert_eq!(
            clean(" \u{3000}\t", MAX_NAME).unwrap_err().code,
            FieldCode::Required
        );
    }

    #[test]
    fn clean_rejects_control_characters() {
        assert_eq!(
            clean("张\u{0}三", MAX_NAME).unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            clean("张\n三", MAX_NAME).unwrap_err().code,
            FieldCode::InvalidFormat
        );
        assert_eq!(
            clean("\u{7f}", MAX_NAME).unwrap_err().code,
            FieldCode::InvalidFormat
        );
    }

    #[test]
    fn clean_rejects_format_characters() {
        for c in [
            '\u{200B}',
            '\u{200D}',
            '\u{200E}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
            '\u{180E}',
        ] {
            for text in [format!("张{c}三"), format!("{c}张三"), format!("张三{c}")] {
                let err = clean(&text, MAX_NAME).unwrap_err();
                assert_eq!(err.code, FieldCode::InvalidFormat, "{text:?}");
            }
        }
        // Letters, marks, punctuation and the ideographic space are not
        // format characters.
        assert_eq!(
            clean("\u{3000}欧阳·娜娜\u{3000}", MAX_NAME).unwrap(),
            "欧阳·娜娜"
        );
        assert!(clean("é\u{301}", MAX_NAME).is_ok());
        assert!(!is_format_character('\u{3000}'));
        assert!(!is_format_character('\u{2065}'), "unassigned");
    }

    #[test]
    fn clean_caps_length_in_characters() {
        let at_cap = "张".repeat(MAX_NAME);
        assert_eq!(name(&at_cap).unwrap(), at_cap);
        let over = "张".repeat(MAX_NAME + 1);
        assert_eq!(name(&over).unwrap_err().code, FieldCode::TooLong);
        assert!(address(&"a".repeat(MAX_ADDRESS)).is_ok());
        assert_eq!(
            address(&"a".repeat(MAX_ADDRESS + 1)).unwrap_err().code,
            FieldCode::TooLong
        );
        assert!(reason(&"a".repeat(MAX_REASON)).is_ok());
        assert_eq!(
            reason(&"a".repeat(MAX_REASON + 1)).unwrap_err().code,
            FieldCode::TooLong
        );
    }

    #[test]
    fn half_width_conversion() {
        assert_eq!(to_half_width("湘Ｈ１２３４５"), "湘H12345");
        assert_eq!(to_half_width("ａ\u{3000}～！"), "a ~!");
        assert_eq!(to_half_width("〔2024〕"), "〔2024〕");
    }

    #[test]
    fn mask_examples() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("李小明"), "李**");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_name("司马相如"), "司马**");
        assert_eq!(mask_name("诸葛亮"), "诸葛*");
        assert_eq!(mask_name("欧阳"), "欧*");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name("John Smith"), "J*** *****");
        assert_eq!(mask_name("J"), "*");
        assert_eq!(mask_name(""), "");
    }

    fn clean_input() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \t\u{3000}\u{a0}]{0,3}[a-zA-Z张三é\u{301}\u{308} ]{0,20}[ \t\u{3000}]{0,3}",
        ]
    }

    proptest! {
        #[test]
        fn clean_output_is_trimmed_nfc_and_free_of_control(s in clean_input()) {
            if let Ok(out) = clean(&s, MAX_NAME) {
                prop_assert_eq!(out.trim(), out.as_str());
                prop_assert!(!out.is_empty());
                prop_assert!(!out.chars().any(char::is_control));
                prop_assert!(!out.chars().any(is_format_character));
                prop_assert!(unicode_normalization::is_nfc(&out));
                prop_assert!(out.chars().count() <= MAX_NAME);
                // Cleaning is idempotent.
                prop_assert_eq!(clean(&out, MAX_NAME).unwrap(), out.clone());
            }
        }

        #[test]
        fn mask_keeps_length_and_hides_everything_after_the_surname(
            s in prop_oneof![any::<String>(), "(欧阳|司马|张|李|J)[a-z 小明娜 ]{0,8}"]
        ) {
            let masked = mask_name(&s);
            prop_assert_eq!(masked.chars().count(), s.chars().count());
            let keep = visible_prefix_len(&s);
            prop_assert!(keep <= 2);
            if !s.is_empty() {
                prop_assert!(keep < s.chars().count());
            }
            for (i, (orig, shown)) in s.chars().zip(masked.chars()).enumerate() {
                if i < keep {
                    prop_assert_eq!(orig, shown);
                } else if orig.is_whitespace() {
                    prop_assert_eq!(orig, shown);
                } else {
                    prop_assert_eq!(shown, '*');
                }
            }
        }
    }
}
