//! Drawing one face from its [`Traits`], back to front, with the mask class
//! of every part. Face units: the face ellipse spans about [-0.7, 0.7] x
//! [-0.95, 0.95]; v grows downwards. `l_*` classes are the person's left
//! (the image's right), as in CelebAMask-HQ.

use super::canvas::{Canvas, Frame, Paint, Shape, Texture};
use super::traits::{HairColor, Traits};
use super::Difficulty;
use rand::Rng;

// Mask classes in `groups::COMPONENTS` order.
const SKIN: u8 = 1;
const L_BROW: u8 = 2;
const R_BROW: u8 = 3;
const L_EYE: u8 = 4;
const R_EYE: u8 = 5;
const EYE_G: u8 = 6;
const L_EAR: u8 = 7;
const R_EAR: u8 = 8;
const EAR_R: u8 = 9;
const NOSE: u8 = 10;
const MOUTH: u8 = 11;
const U_LIP: u8 = 12;
const L_LIP: u8 = 13;
const NECK: u8 = 14;
const NECK_L: u8 = 15;
const CLOTH: u8 = 16;
const HAIR: u8 = 17;
const HAT: u8 = 18;

/// Random draws for the look of a face that carry no label: sizes jittered
/// around their attribute-given values, colours, pose.
struct Style<'a, R: Rng> {
    rng: &'a mut R,
    jitter: f32,
    cue: f32,
}

impl<R: Rng> Style<'_, R> {
    /// `base` moved by the attribute cue `delta` (scaled by cue strength) and
    /// by nuisance jitter, so that classes overlap a little.
    fn size(&mut self, base: f32, delta: f32, present: bool) -> f32 {
        let value = base + if present { delta * self.cue } else { 0.0 };
        value * (1.0 + self.jitter * self.rng.gen_range(-1.0..=1.0))
    }

    fn color(&mut self, base: [f32; 3], spread: f32) -> [f32; 3] {
        base.map(|c| (c + spread * self.rng.gen_range(-1.0..=1.0)).clamp(0.0, 1.0))
    }

    fn uniform(&mut self, range: f32) -> f32 {
        self.rng.gen_range(-range..=range)
    }
}

fn scaled(color: [f32; 3], k: f32) -> [f32; 3] {
    color.map(|c| (c * k).clamp(0.0, 1.0))
}

fn hair_base(color: HairColor) -> [f32; 3] {
    match color {
        HairColor::Black => [0.07, 0.06, 0.06],
        HairColor::Blond => [0.86, 0.72, 0.42],
        HairColor::Brown => [0.38, 0.24, 0.13],
        HairColor::Gray => [0.68, 0.68, 0.7],
        HairColor::Other => [0.55, 0.2, 0.1],
    }
}

pub(super) fn draw(
    canvas: &mut Canvas,
    traits: &Traits,
    difficulty: &Difficulty,
    rng: &mut impl Rng,
) {
    let size = canvas.size as f32;
    let mut style = Style {
        rng,
        jitter: difficulty.shape_jitter as f32,
        cue: difficulty.cue_strength as f32,
    };
    let t = traits;

    let scale = size * 0.3 * style.rng.gen_range(difficulty.scale.0..=difficulty.scale.1) as f32;
    let frame = Frame::new(
        size * (0.5 + style.uniform(difficulty.max_shift as f32)),
        size * (0.47 + style.uniform(difficulty.max_shift as f32)),
        scale,
        style.uniform(difficulty.max_roll_deg as f32).to_radians(),
    );
    // Yaw: inner features slide sideways, the far ear hides behind the face.
    let yaw = style.uniform(difficulty.max_yaw as f32);

    let skin = if t.pale_skin {
        style.color([0.97, 0.88, 0.83], 0.02)
    } else {
        let (dark, light) = ([0.36, 0.23, 0.15], [0.9, 0.72, 0.6]);
        let k = 0.15 + 0.85 * t.skin_tone;
        style.color(
            std::array::from_fn(|i| dark[i] + k * (light[i] - dark[i])),
            0.03,
        )
    };
    let hair = style.color(hair_base(t.hair_color), 0.05);
    let face_rx = style.size(
        0.7,
        if t.chubby { 0.12 } else { -0.07 },
        t.chubby || t.oval_face,
    );
    let face_ry = style.size(0.93, 0.08, t.oval_face);

    // Hair behind the head.
    if !t.bald {
        let wave = if t.wavy_hair {
            (0.06 * style.cue, 14.0)
        } else {
            (0.0, 0.0)
        };
        let back = if t.long_hair {
            Shape::Ellipse {
                c: (0.0, 0.25),
                r: (face_rx + 0.3, 1.3),
                wave,
            }
            .cut(style.size(1.25, 0.0, false), (0.05, 9.0), true)
        } else {
            Shape::Ellipse {
                c: (0.0, -0.2),
                r: (face_rx + 0.14, 0.9),
                wave,
            }
        };
        canvas.paint(&frame, &back, hair_paint(hair, t));
    }

    // Clothes, neck and what is worn on them.
    let cloth = style.color([0.5, 0.5, 0.5], 0.45);
    let shoulders = Shape::Polygon(vec![(-0.55, 1.2), (0.55, 1.2), (1.8, 2.4), (-1.8, 2.4)]);
    canvas.paint(&frame, &shoulders, Paint::solid(cloth, CLOTH));
    canvas.paint(
        &frame,
        &Shape::rect((-0.32, 0.32), (0.5, 1.38)),
        Paint::solid(scaled(skin, 0.88), NECK),
    );
    if t.necktie {
        let collar = Shape::Polygon(vec![(-0.34, 1.25), (0.34, 1.25), (0.0, 1.55)]);
        canvas.paint(&frame, &collar, Paint::solid([0.95, 0.95, 0.95], CLOTH));
        let tie_color = style.color([0.6, 0.15, 0.25], 0.3);
        let tie = Shape::Polygon(vec![
            (0.0, 1.28),
            (0.1, 1.42),
            (0.07, 2.3),
            (-0.07, 2.3),
            (-0.1, 1.42),
        ]);
        canvas.paint(&frame, &tie, Paint::solid(tie_color, CLOTH));
    }
    if t.necklace {
        let metal = style.color([0.85, 0.75, 0.35], 0.12);
        let chain = Shape::Band {
            u: (-0.3, 0.3),
            v0: 1.02,
            curve: 1.6,
            half: style.size(0.04, 0.0, false),
        };
        canvas.paint(&frame, &chain, Paint::solid(metal, NECK_L));
    }

    // Ears and earrings: the ear on the side turned away shrinks with yaw.
    for (side, ear_class) in [(1.0f32, L_EAR), (-1.0, R_EAR)] {
        let visible = 1.0 - (side * yaw).max(0.0) * 3.0;
        if visible <= 0.2 {
            continue;
        }
        let centre = (side * (face_rx + 0.02 - 0.1 * (1.0 - visible)), 0.03);
        canvas.paint(
            &frame,
            &Shape::ellipse(centre, (0.13 * visible, 0.21)),
            Paint::solid(scaled(skin, 0.93), ear_class),
        );
        if t.earrings {
            let ring = Shape::ellipse((centre.0, 0.27), (0.05, 0.06 * style.cue.max(0.5)));
            canvas.paint(&frame, &ring, Paint::solid([0.9, 0.8, 0.3], EAR_R));
        }
    }

    // The face and what lies on its skin.
    canvas.paint(
        &frame,
        &Shape::ellipse((0.0, 0.0), (face_rx, face_ry)),
        Paint::solid(skin, SKIN),
    );
    let du = yaw * 0.3;
    if t.double_chin {
        let fold = Shape::Band {
            u: (du - 0.3, du + 0.3),
            v0: face_ry - 0.1,
            curve: 0.9,
            half: 0.035,
        };
        canvas.paint(
            &frame,
            &fold,
            Paint::tint(scaled(skin, 0.6), 0.6 * style.cue.min(1.0)),
        );
    }
    for side in [1.0f32, -1.0] {
        let cheek = (du + side * 0.42, 0.28);
        if t.high_cheekbones {
            let hollow = Shape::ellipse((cheek.0, cheek.1 + 0.1), (0.16, 0.06));
            canvas.paint(
                &frame,
                &hollow,
                Paint::tint(scaled(skin, 0.7), 0.4 * style.cue.min(1.0)),
            );
        }
        if t.rosy_cheeks || t.heavy_makeup {
            let strength = if t.rosy_cheeks { 0.45 } else { 0.15 };
            let blush = Shape::ellipse(cheek, (0.16, 0.11));
            canvas.paint(
                &frame,
                &blush,
                Paint::tint([0.9, 0.35, 0.4], strength * style.cue.min(1.0)),
            );
        }
    }
    let beard = scaled(hair, 0.9);
    if t.full_beard {
        let cover = Shape::ellipse((0.0, 0.0), (face_rx, face_ry)).cut(0.22, (0.04, 11.0), false);
        canvas.paint(
            &frame,
            &cover,
            Paint::tint(beard, 0.9).with_texture(Texture::Speckle { density: 0.85 }),
        );
    }
    if t.five_o_clock_shadow {
        let stubble = Shape::ellipse((0.0, 0.0), (face_rx, face_ry)).cut(0.2, (0.0, 0.0), false);
        canvas.paint(
            &frame,
            &stubble,
            Paint::tint(beard, 0.45 * style.cue.min(1.0))
                .with_texture(Texture::Speckle { density: 0.4 }),
        );
    }
    if t.goatee {
        let goatee = Shape::ellipse((du, 0.78), (0.17, style.size(0.16, 0.0, false)));
        canvas.paint(
            &frame,
            &goatee,
            Paint::tint(beard, 0.95).with_texture(Texture::Speckle { density: 0.8 }),
        );
    }
    if t.sideburns {
        for side in [1.0f32, -1.0] {
            let inner = side * (face_rx - 0.13);
            let burn = Shape::rect(
                (inner.min(side * face_rx), inner.max(side * face_rx)),
                (-0.25, 0.35),
            );
            canvas.paint(
                &frame,
                &burn,
                Paint::solid(beard, HAIR).with_texture(Texture::Strands {
                    freq: 9.0,
                    amp: 0.1,
                }),
            );
        }
    }

    // Hair over the forehead: the hairline sets bangs and a receding line.
    if !t.bald {
        let (line, wave) = if t.bangs {
            (style.size(-0.3, 0.0, false), (0.05, 26.0))
        } else if t.receding_hairline {
            (-0.88 + 0.1 * (1.0 - style.cue), (0.09 * style.cue, 7.0))
        } else {
            (style.size(-0.66, 0.0, false), (0.03, 5.0))
        };
        let cap =
            Shape::ellipse((0.0, -0.02), (face_rx + 0.04, face_ry + 0.04)).cut(line, wave, true);
        canvas.paint(&frame, &cap, hair_paint(hair, t));
    } else {
        let shine = Shape::ellipse((0.1, -0.7), (0.25, 0.12));
        canvas.paint(&frame, &shine, Paint::tint([1.0, 1.0, 1.0], 0.25));
    }

    // Eyebrows, eyes, make-up, bags, glasses.
    let brow_color = if t.hair_color == HairColor::Blond || t.bald {
        scaled(hair, 0.6)
    } else {
        scaled(hair, 0.9)
    };
    let eye_open = style.size(0.07, -0.035, t.narrow_eyes);
    let iris = style.color([0.3, 0.22, 0.15], 0.15);
    for (side, brow_class, eye_class) in [(1.0f32, L_BROW, L_EYE), (-1.0, R_BROW, R_EYE)] {
        let x = du + side * 0.3;
        if !t.bangs {
            let brow = Shape::Band {
                u: (x - 0.17, x + 0.17),
                v0: -0.33
                    - if t.arched_eyebrows {
                        0.03 * style.cue
                    } else {
                        0.0
                    },
                curve: style.size(0.6, 2.4, t.arched_eyebrows),
                half: style.size(0.035, 0.03, t.bushy_eyebrows),
            };
            canvas.paint(&frame, &brow, Paint::solid(brow_color, brow_class));
        }
        if t.heavy_makeup {
            let shadow = Shape::ellipse((x, -0.17), (0.15, 0.07));
            canvas.paint(
                &frame,
                &shadow,
                Paint::tint([0.35, 0.2, 0.35], 0.5 * style.cue.min(1.0)),
            );
        }
        if t.bags_under_eyes {
            let bag = Shape::Band {
                u: (x - 0.12, x + 0.12),
                v0: -0.04,
                curve: 1.5,
                half: 0.03,
            };
            canvas.paint(
                &frame,
                &bag,
                Paint::tint([0.4, 0.28, 0.35], 0.5 * style.cue.min(1.0)),
            );
        }
        canvas.paint(
            &frame,
            &Shape::ellipse((x, -0.12), (0.13, eye_open)),
            Paint::solid([0.93, 0.93, 0.9], eye_class),
        );
        canvas.paint(
            &frame,
            &Shape::ellipse((x + yaw * 0.1, -0.12), (0.055, eye_open.min(0.055))),
            Paint::solid(iris, eye_class),
        );
        if t.eyeglasses {
            let lens = Shape::Ring {
                c: (x, -0.12),
                r: (0.19, 0.14),
                width: 0.04,
            };
            canvas.paint(&frame, &lens, Paint::solid([0.1, 0.1, 0.12], EYE_G));
        }
    }
    if t.eyeglasses {
        canvas.paint(
            &frame,
            &Shape::rect((du - 0.12, du + 0.12), (-0.15, -0.11)),
            Paint::solid([0.1, 0.1, 0.12], EYE_G),
        );
    }

    // Nose.
    let nose_w = style.size(0.1, 0.06, t.big_nose);
    let nose_l = style.size(0.3, 0.06, t.big_nose);
    let nose = if t.pointy_nose {
        Shape::Polygon(vec![
            (du, -0.05),
            (du + nose_w, nose_l - 0.06),
            (du, nose_l + 0.05 * style.cue),
            (du - nose_w, nose_l - 0.06),
        ])
    } else {
        Shape::Polygon(vec![
            (du, -0.05),
            (du + nose_w, nose_l - 0.04),
            (du + 0.7 * nose_w, nose_l),
            (du - 0.7 * nose_w, nose_l),
            (du - nose_w, nose_l - 0.04),
        ])
    };
    canvas.paint(&frame, &nose, Paint::solid(scaled(skin, 0.84), NOSE));

    // Mouth: lips around an opening; a smile lifts the corners.
    let mouth_v = 0.56;
    let half_width = style.size(0.22, 0.05, t.smiling);
    let curve = if t.smiling {
        -1.4 * style.cue
    } else {
        style.uniform(0.3)
    };
    let span = (du - half_width, du + half_width);
    let lip_color = if t.lipstick {
        style.color([0.72, 0.08, 0.18], 0.08)
    } else {
        scaled(skin, 0.78)
    };
    let opening = if t.mouth_open {
        style.size(0.025, 0.04, true)
    } else {
        0.0
    };
    let lip = |half: f32, offset: f32| Shape::Band {
        u: span,
        v0: mouth_v + offset,
        curve,
        half,
    };
    let (upper, lower) = (
        style.size(0.028, 0.02, t.big_lips),
        style.size(0.035, 0.025, t.big_lips),
    );
    if t.mouth_open {
        canvas.paint(
            &frame,
            &lip(opening, 0.0),
            Paint::solid([0.25, 0.05, 0.07], MOUTH),
        );
        if t.smiling {
            canvas.paint(
                &frame,
                &lip(opening * 0.45, -opening * 0.4),
                Paint::solid([0.95, 0.95, 0.92], MOUTH),
            );
        }
    }
    canvas.paint(
        &frame,
        &lip(upper, -opening - upper),
        Paint::solid(lip_color, U_LIP),
    );
    canvas.paint(
        &frame,
        &lip(lower, opening + lower),
        Paint::solid(scaled(lip_color, 1.05), L_LIP),
    );

    if t.wearing_hat {
        let hat = style.color([0.3, 0.3, 0.5], 0.3);
        let crown = Shape::ellipse((0.0, -0.8), (face_rx + 0.12, 0.55)).cut(-0.5, (0.0, 0.0), true);
        canvas.paint(&frame, &crown, Paint::solid(hat, HAT));
        canvas.paint(
            &frame,
            &Shape::rect((-face_rx - 0.35, face_rx + 0.35), (-0.62, -0.5)),
            Paint::solid(scaled(hat, 0.8), HAT),
        );
    }
}

fn hair_paint(color: [f32; 3], t: &Traits) -> Paint {
    let texture = if t.straight_hair {
        Texture::Strands {
            freq: 12.0,
            amp: 0.07,
        }
    } else if t.wavy_hair {
        Texture::Strands {
            freq: 4.0,
            amp: 0.2,
        }
    } else {
        Texture::Flat
    };
    Paint::solid(color, HAIR).with_texture(texture)
}
