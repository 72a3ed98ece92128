//! What a synthetic face looks like, drawn with correlations and class
//! imbalance modelled loosely on CelebA's label statistics, and the 40
//! CelebA labels read off it (two of them by documented rules).

use crate::groups::CELEBA;
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HairColor {
    Black,
    Blond,
    Brown,
    Gray,
    /// Red or dark auburn: none of the four CelebA colour attributes.
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Traits {
    pub male: bool,
    pub young: bool,
    pub bald: bool,
    pub receding_hairline: bool,
    pub bangs: bool,
    pub hair_color: HairColor,
    pub long_hair: bool,
    pub straight_hair: bool,
    pub wavy_hair: bool,
    pub arched_eyebrows: bool,
    pub bushy_eyebrows: bool,
    pub narrow_eyes: bool,
    pub bags_under_eyes: bool,
    pub eyeglasses: bool,
    pub wearing_hat: bool,
    pub earrings: bool,
    pub big_nose: bool,
    pub pointy_nose: bool,
    pub smiling: bool,
    pub mouth_open: bool,
    pub high_cheekbones: bool,
    pub big_lips: bool,
    pub lipstick: bool,
    pub heavy_makeup: bool,
    pub rosy_cheeks: bool,
    pub full_beard: bool,
    pub goatee: bool,
    pub mustache: bool,
    pub sideburns: bool,
    pub five_o_clock_shadow: bool,
    pub chubby: bool,
    pub double_chin: bool,
    pub oval_face: bool,
    pub pale_skin: bool,
    pub necklace: bool,
    pub necktie: bool,
    pub blurry: bool,
    /// 0 (darkest) to 1 (lightest) among the non-pale tones.
    pub skin_tone: f32,
}

impl Traits {
    pub fn sample(rng: &mut impl Rng) -> Traits {
        let mut p = |probability: f64| rng.gen_bool(probability.clamp(0.0, 1.0));
        let male = p(0.42);
        let young = p(0.77);
        let pick = |m: f64, f: f64| if male { m } else { f };
        let bald = p(if young {
            pick(0.03, 0.0)
        } else {
            pick(0.22, 0.005)
        });
        let receding_hairline = !bald
            && p(if young {
                pick(0.1, 0.03)
            } else {
                pick(0.35, 0.1)
            });
        let gray = !bald && p(if young { 0.01 } else { 0.4 });
        let hair_color = if gray {
            HairColor::Gray
        } else {
            let roll: f64 = rng.gen();
            let blond = pick(0.07, 0.3);
            match roll {
                r if r < 0.33 => HairColor::Black,
                r if r < 0.33 + blond => HairColor::Blond,
                r if r < 0.63 + blond => HairColor::Brown,
                _ => HairColor::Other,
            }
        };
        let skin_tone: f32 = rng.gen();
        let mut p = |probability: f64| rng.gen_bool(probability.clamp(0.0, 1.0));
        let long_hair = !bald && p(pick(0.1, 0.85));
        let wavy_hair = !bald && p(pick(0.15, 0.45));
        let straight_hair = !bald && !wavy_hair && p(0.35);
        let bangs = !bald && !receding_hairline && p(pick(0.08, 0.22));
        let heavy_makeup = p(pick(0.01, 0.65));
        let lipstick = p(if male {
            0.01
        } else if heavy_makeup {
            0.92
        } else {
            0.3
        });
        let smiling = p(0.48);
        let chubby = p(if young { 0.04 } else { 0.14 } + pick(0.03, 0.0));
        let full_beard = p(pick(0.2, 0.0));
        let goatee = !full_beard && p(pick(0.12, 0.0));
        let mustache = p(pick(if full_beard { 0.45 } else { 0.05 }, 0.0));
        Traits {
            male,
            young,
            bald,
            receding_hairline,
            bangs,
            hair_color,
            long_hair,
            straight_hair,
            wavy_hair,
            arched_eyebrows: p(pick(0.07, 0.45)),
            bushy_eyebrows: p(pick(0.25, 0.06)),
            narrow_eyes: p(if smiling { 0.18 } else { 0.06 }),
            bags_under_eyes: p(if young { 0.12 } else { 0.45 }),
            eyeglasses: p(if young { 0.04 } else { 0.16 }),
            wearing_hat: p(0.05),
            earrings: p(pick(0.03, 0.32)),
            big_nose: p(pick(0.38, 0.1) + if young { 0.0 } else { 0.1 }),
            pointy_nose: p(pick(0.15, 0.4)),
            smiling,
            mouth_open: p(if smiling { 0.75 } else { 0.2 }),
            high_cheekbones: p(if smiling { 0.8 } else { 0.1 }),
            big_lips: p(pick(0.17, 0.3)),
            lipstick,
            heavy_makeup,
            rosy_cheeks: p(if heavy_makeup { 0.15 } else { 0.03 }),
            full_beard,
            goatee,
            mustache,
            sideburns: p(pick(if full_beard { 0.5 } else { 0.05 }, 0.0)),
            five_o_clock_shadow: !full_beard && !goatee && p(pick(0.3, 0.0)),
            chubby,
            double_chin: p(if chubby { 0.6 } else { 0.02 }),
            oval_face: !chubby && p(0.3),
            pale_skin: p(0.04),
            necklace: p(pick(0.02, 0.2)),
            necktie: p(pick(0.16, 0.01)),
            blurry: p(0.05),
            skin_tone,
        }
    }

    /// Documented rule (docs/data.md): no beard means none of full beard,
    /// goatee or moustache (stubble and sideburns alone do not count).
    pub fn no_beard(&self) -> bool {
        !(self.full_beard || self.goatee || self.mustache)
    }

    /// Documented rule (docs/data.md): Attractive cannot be drawn, so it is a
    /// score over drawn traits that CelebA's annotators favoured.
    pub fn attractive(&self) -> bool {
        let score = 2 * self.young as i32
            + self.heavy_makeup as i32
            + !self.male as i32
            + self.high_cheekbones as i32
            + self.oval_face as i32
            - 2 * self.chubby as i32
            - self.bags_under_eyes as i32
            - self.double_chin as i32
            - self.bald as i32
            - self.blurry as i32
            - (self.hair_color == HairColor::Gray) as i32;
        score >= 3
    }

    /// The 40 labels in CelebA order (1 / -1).
    pub fn labels(&self) -> Vec<i8> {
        CELEBA
            .names()
            .map(|name| if self.attribute(name) { 1 } else { -1 })
            .collect()
    }

    fn attribute(&self, name: &str) -> bool {
        match name {
            "5_o_Clock_Shadow" => self.five_o_clock_shadow,
            "Arched_Eyebrows" => self.arched_eyebrows,
            "Attractive" => self.attractive(),
            "Bags_Under_Eyes" => self.bags_under_eyes,
            "Bald" => self.bald,
            "Bangs" => self.bangs,
            "Big_Lips" => self.big_lips,
            "Big_Nose" => self.big_nose,
            "Black_Hair" => self.hair_color == HairColor::Black && !self.bald,
            "Blond_Hair" => self.hair_color == HairColor::Blond && !self.bald,
            "Blurry" => self.blurry,
            "Brown_Hair" => self.hair_color == HairColor::Brown && !self.bald,
            "Bushy_Eyebrows" => self.bushy_eyebrows,
            "Chubby" => self.chubby,
            "Double_Chin" => self.double_chin,
            "Eyeglasses" => self.eyeglasses,
            "Goatee" => self.goatee,
            "Gray_Hair" => self.hair_color == HairColor::Gray && !self.bald,
            "Heavy_Makeup" => self.heavy_makeup,
            "High_Cheekbones" => self.high_cheekbones,
            "Male" => self.male,
            "Mouth_Slightly_Open" => self.mouth_open,
            "Mustache" => self.mustache,
            "Narrow_Eyes" => self.narrow_eyes,
            "No_Beard" => self.no_beard(),
            "Oval_Face" => self.oval_face,
            "Pale_Skin" => self.pale_skin,
            "Pointy_Nose" => self.pointy_nose,
            "Receding_Hairline" => self.receding_hairline,
            "Rosy_Cheeks" => self.rosy_cheeks,
            "Sideburns" => self.sideburns,
            "Smiling" => self.smiling,
            "Straight_Hair" => self.straight_hair,
            "Wavy_Hair" => self.wavy_hair,
            "Wearing_Earrings" => self.earrings,
            "Wearing_Hat" => self.wearing_hat,
            "Wearing_Lipstick" => self.lipstick,
            "Wearing_Necklace" => self.necklace,
            "Wearing_Necktie" => self.necktie,
            "Young" => self.young,
            other => unreachable!("{other} is not a CelebA attribute"),
        }
    }
}
