//! The paper's Table 1 as data: which region (whole, upper, middle, lower)
//! each attribute and each facial component belongs to. The PCT and FAR
//! heads have one branch per region, sized by these groups.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The four region branches of MSS and the four heads of PCT and FAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Whole,
    Upper,
    Middle,
    Lower,
}

impl Region {
    pub const ALL: [Region; 4] = [Region::Whole, Region::Upper, Region::Middle, Region::Lower];
    /// The three local regions, whose branches are fused by Eq. 5.
    pub const LOCAL: [Region; 3] = [Region::Upper, Region::Middle, Region::Lower];

    pub fn name(self) -> &'static str {
        match self {
            Region::Whole => "whole",
            Region::Upper => "upper",
            Region::Middle => "middle",
            Region::Lower => "lower",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A list of labels (attributes or components) in their on-disk order, each
/// with its Table 1 region.
#[derive(Debug, Clone, Copy)]
pub struct LabelSet {
    pub name: &'static str,
    pub labels: &'static [(&'static str, Region)],
}

impl LabelSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.labels.iter().map(|(name, _)| *name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.labels.iter().position(|(n, _)| *n == name)
    }

    pub fn region_of(&self, index: usize) -> Region {
        self.labels[index].1
    }

    /// Indices (in on-disk order) of the labels of `region`.
    pub fn indices(&self, region: Region) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&i| self.labels[i].1 == region)
            .collect()
    }

    /// Group sizes in [`Region::ALL`] order (the widths of the four heads).
    pub fn group_sizes(&self) -> [usize; 4] {
        Region::ALL.map(|r| self.indices(r).len())
    }
}

use Region::{Lower as L, Middle as M, Upper as U, Whole as W};

/// CelebA's 40 attributes in `list_attr_celeba.txt` order (LFWA uses the same).
pub const CELEBA: LabelSet = LabelSet {
    name: "celeba",
    labels: &[
        ("5_o_Clock_Shadow", W),
        ("Arched_Eyebrows", U),
        ("Attractive", W),
        ("Bags_Under_Eyes", U),
        ("Bald", U),
        ("Bangs", U),
        ("Big_Lips", L),
        ("Big_Nose", M),
        ("Black_Hair", U),
        ("Blond_Hair", U),
        ("Blurry", W),
        ("Brown_Hair", U),
        ("Bushy_Eyebrows", U),
        ("Chubby", W),
        ("Double_Chin", L),
        ("Eyeglasses", U),
        ("Goatee", L),
        ("Gray_Hair", U),
        ("Heavy_Makeup", W),
        ("High_Cheekbones", M),
        ("Male", W),
        ("Mouth_Slightly_Open", L),
        ("Mustache", L),
        ("Narrow_Eyes", U),
        ("No_Beard", L),
        ("Oval_Face", W),
        ("Pale_Skin", W),
        ("Pointy_Nose", M),
        ("Receding_Hairline", U),
        ("Rosy_Cheeks", M),
        ("Sideburns", M),
        ("Smiling", W),
        ("Straight_Hair", W),
        ("Wavy_Hair", W),
        ("Wearing_Earrings", M),
        ("Wearing_Hat", U),
        ("Wearing_Lipstick", L),
        ("Wearing_Necklace", L),
        ("Wearing_Necktie", L),
        ("Young", W),
    ],
};

/// MAAD-Face's 47 attributes in the order of its CSV columns.
pub const MAAD: LabelSet = LabelSet {
    name: "maad",
    labels: &[
        ("Male", W),
        ("Young", W),
        ("Middle_Aged", W),
        ("Senior", W),
        ("Asian", W),
        ("White", W),
        ("Black", W),
        ("Rosy_Cheeks", M),
        ("Shiny_Skin", W),
        ("Bald", U),
        ("Wavy_Hair", W),
        ("Receding_Hairline", U),
        ("Bangs", U),
        ("Sideburns", M),
        ("Black_Hair", U),
        ("Blond_Hair", U),
        ("Brown_Hair", U),
        ("Gray_Hair", U),
        ("No_Beard", L),
        ("Mustache", L),
        ("5_o_Clock_Shadow", W),
        ("Goatee", L),
        ("Oval_Face", W),
        ("Square_Face", W),
        ("Round_Face", W),
        ("Double_Chin", L),
        ("High_Cheekbones", M),
        ("Chubby", W),
        ("Obstructed_Forehead", U),
        ("Fully_Visible_Forehead", U),
        ("Brown_Eyes", U),
        ("Bags_Under_Eyes", U),
        ("Bushy_Eyebrows", U),
        ("Arched_Eyebrows", U),
        ("Mouth_Closed", L),
        ("Smiling", W),
        ("Big_Lips", L),
        ("Big_Nose", M),
        ("Pointy_Nose", M),
        ("Heavy_Makeup", W),
        ("Wearing_Hat", U),
        ("Wearing_Earrings", M),
        ("Wearing_Necktie", L),
        ("Wearing_Lipstick", L),
        ("No_Eyewear", U),
        ("Eyeglasses", U),
        ("Attractive", W),
    ],
};

/// The J = 19 face-parsing classes (CelebAMask-HQ order), the label values of
/// part masks and the components that PCT predicts.
pub const COMPONENTS: LabelSet = LabelSet {
    name: "components",
    labels: &[
        ("background", W),
        ("skin", W),
        ("l_brow", U),
        ("r_brow", U),
        ("l_eye", U),
        ("r_eye", U),
        ("eye_g", U),
        ("l_ear", M),
        ("r_ear", M),
        ("ear_r", M),
        ("nose", M),
        ("mouth", L),
        ("u_lip", L),
        ("l_lip", L),
        ("neck", L),
        ("neck_l", L),
        ("cloth", L),
        ("hair", U),
        ("hat", U),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_sizes_follow_table1() {
        assert_eq!(CELEBA.len(), 40);
        assert_eq!(CELEBA.group_sizes(), [12, 13, 6, 9]);
        assert_eq!(MAAD.len(), 47);
        assert_eq!(MAAD.group_sizes(), [17, 16, 6, 8]);
        assert_eq!(COMPONENTS.len(), 19);
        assert_eq!(COMPONENTS.group_sizes(), [2, 7, 4, 6]);
    }

    #[test]
    fn names_are_unique() {
        for set in [CELEBA, MAAD, COMPONENTS] {
            let mut names: Vec<&str> = set.names().collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), set.len(), "{}", set.name);
        }
    }

    #[test]
    fn shared_attributes_sit_in_the_same_region() {
        for (name, region) in CELEBA.labels {
            if let Some(i) = MAAD.index_of(name) {
                assert_eq!(MAAD.region_of(i), *region, "{name}");
            }
        }
    }
}
