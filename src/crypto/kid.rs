//! Key ids: a kid is the shortest prefix of the key's RFC 7638 thumbprint, at
//! least [`MIN_KID_LEN`] characters, at which every kid of the ring is
//! unique (SPEC §3).

use std::collections::{HashMap, HashSet};

/// SPEC §3: a kid is a prefix of the thumbprint of at least this length.
pub const MIN_KID_LEN: usize = 16;

/// The shortest kid length (at least [`MIN_KID_LEN`]) at which the
/// thumbprints' prefixes are all distinct.
pub(crate) fn kid_length(thumbprints: &[&str]) -> usize {
    let longest = thumbprints.iter().map(|t| t.len()).max().unwrap_or(0);
    (MIN_KID_LEN..longest)
        .find(|&len| {
            let prefixes: HashSet<&str> = thumbprints.iter().map(|t| prefix(t, len)).collect();
            prefixes.len() == thumbprints.len()
        })
        .unwrap_or(longest.max(MIN_KID_LEN))
}

/// Maps every prefix of at least [`MIN_KID_LEN`] characters that belongs to
/// exactly one thumbprint to that thumbprint's index. A few dozen short
/// strings per key buy an O(1) lookup that also resolves kids issued under an
/// older, shorter kid length.
pub(crate) fn prefix_index(thumbprints: &[&str]) -> HashMap<String, usize> {
    let mut owners: HashMap<&str, Option<usize>> = HashMap::new();
    for (i, t) in thumbprints.iter().enumerate() {
        for len in MIN_KID_LEN..=t.len() {
            owners
                .entry(prefix(t, len))
                .and_modify(|owner| *owner = None)
                .or_insert(Some(i));
        }
    }
    owners
        .into_iter()
        .filter_map(|(p, owner)| owner.map(|i| (p.to_owned(), i)))
        .collect()
}

/// Whether a new key with `thumbprint` would share its shortest kid with one
/// of `existing`: adding it would then lengthen the kids of older keys.
pub(crate) fn shortest_kid_taken<'a>(
    thumbprint: &str,
    mut existing: impl Iterator<Item = &'a str>,
) -> bool {
    let short = prefix(thumbprint, MIN_KID_LEN);
    existing.any(|t| prefix(t, MIN_KID_LEN) == short)
}

pub(crate) fn prefix(s: &str, len: usize) -> &str {
    s.get(..len).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_get_longer_only_when_prefixes_collide() {
        let a = "AAAAAAAAAAAAAAAAxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let b = "AAAAAAAAAAAAAAAAyxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let c = "AAAAAAAAAAAAAAAAyzxxxxxxxxxxxxxxxxxxxxxxxxx";
        let d = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        assert_eq!(kid_length(&[]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a, d]), MIN_KID_LEN);
        assert_eq!(kid_length(&[a, b, d]), 17);
        assert_eq!(kid_length(&[a, b, c, d]), 18);

        let index = prefix_index(&[a, b, c, d]);
        // The 16-character prefix of a, b and c is ambiguous: it names none.
        assert_eq!(index.get(&a[..16]), None);
        assert_eq!(index.get(&a[..17]), Some(&0));
        assert_eq!(index.get(&b[..17]), None);
        assert_eq!(index.get(&b[..18]), Some(&1));
        assert_eq!(index.get(c), Some(&2));
        assert_eq!(index.get(&d[..16]), Some(&3));
        assert_eq!(index.get(&d[..15]), None);
        assert_eq!(index.get(d), Some(&3));
    }
}
