//! A small rasteriser: shapes in a face-centred frame are painted into an RGB
//! buffer and, at the same time, into the part-mask buffer, so that the mask
//! is exact ground truth for what was drawn.

/// A similarity transform from face units (the face ellipse spans about
/// [-1, 1] horizontally) to pixels: scale, roll and translation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    cx: f32,
    cy: f32,
    scale: f32,
    cos: f32,
    sin: f32,
    inverse_scale: f32,
}

impl Frame {
    pub fn new(cx: f32, cy: f32, scale: f32, roll: f32) -> Frame {
        Frame {
            cx,
            cy,
            scale,
            cos: roll.cos(),
            sin: roll.sin(),
            inverse_scale: scale.recip(),
        }
    }

    /// The face-space coordinates of a pixel centre are the sum of a term of
    /// its column and a term of its row, so a painter computes each once.
    fn column_terms(&self, px: f32) -> (f32, f32) {
        let dx = (px - self.cx) * self.inverse_scale;
        (dx * self.cos, -dx * self.sin)
    }

    fn row_terms(&self, py: f32) -> (f32, f32) {
        let dy = (py - self.cy) * self.inverse_scale;
        (dy * self.sin, dy * self.cos)
    }

    /// Pixel row `py` as a line in face space.
    fn row_line(&self, py: f32) -> RowLine {
        let (u, v) = self.row_terms(py);
        RowLine {
            u,
            v,
            du: self.cos * self.inverse_scale,
            dv: -self.sin * self.inverse_scale,
        }
    }

    fn pixel_of(&self, u: f32, v: f32) -> (f32, f32) {
        (
            self.cx + self.scale * (u * self.cos - v * self.sin),
            self.cy + self.scale * (u * self.sin + v * self.cos),
        )
    }
}

/// A range of offsets `p` along a pixel row, in pixels from the frame centre.
type Span = (f32, f32);

const EVERYWHERE: Span = (f32::MIN, f32::MAX);

/// Slack on span edges in face units (or relative to a radius): far above
/// rounding error, far below a pixel. Spans that may meet a shape are widened
/// by it, spans surely inside are narrowed by it.
const SLACK: f32 = 1e-3;

fn intersect(a: Span, b: Span) -> Option<Span> {
    let span = (a.0.max(b.0), a.1.min(b.1));
    (span.0 <= span.1).then_some(span)
}

/// Where `offset + p * step` lies within [lo, hi].
fn linear_span(offset: f32, step: f32, lo: f32, hi: f32) -> Option<Span> {
    if step == 0.0 {
        return (lo <= offset && offset <= hi).then_some(EVERYWHERE);
    }
    let (a, b) = ((lo - offset) / step, (hi - offset) / step);
    Some((a.min(b), a.max(b)))
}

/// A pixel row in face space: the pixel centre `p` pixels right of the frame
/// centre lies at (u + p * du, v + p * dv).
struct RowLine {
    u: f32,
    v: f32,
    du: f32,
    dv: f32,
}

impl RowLine {
    /// Where the row runs inside the box (u0, u1, v0, v1) grown by `slack`.
    fn box_span(&self, (u0, u1, v0, v1): (f32, f32, f32, f32), slack: f32) -> Option<Span> {
        intersect(
            linear_span(self.u, self.du, u0 - slack, u1 + slack)?,
            linear_span(self.v, self.dv, v0 - slack, v1 + slack)?,
        )
    }

    /// Where the row runs inside the ellipse with centre `c` and radii
    /// `r * k`: the roots of a quadratic in `p`.
    fn ellipse_span(&self, c: (f32, f32), r: (f32, f32), k: f32) -> Option<Span> {
        let (a1, b1) = (self.du / r.0, (self.u - c.0) / r.0);
        let (a2, b2) = (self.dv / r.1, (self.v - c.1) / r.1);
        let (a, b, c) = (
            a1 * a1 + a2 * a2,
            a1 * b1 + a2 * b2,
            b1 * b1 + b2 * b2 - k * k,
        );
        let discriminant = b * b - a * c;
        (k > 0.0 && discriminant >= 0.0).then(|| {
            let root = discriminant.sqrt();
            ((-b - root) / a, (-b + root) / a)
        })
    }

    /// Where the row runs inside the convex polygon grown by `slack`: inside
    /// every edge's half-plane (clipping, as Cyrus and Beck do).
    fn polygon_span(&self, points: &[(f32, f32)], slack: f32) -> Option<Span> {
        let edges = || points.iter().zip(points.iter().cycle().skip(1));
        let area: f32 = edges().map(|(a, b)| a.0 * b.1 - b.0 * a.1).sum();
        let orientation = area.signum();
        edges().try_fold(EVERYWHERE, |span, (&(x0, y0), &(x1, y1))| {
            let (ex, ey) = (x1 - x0, y1 - y0);
            // The cross product `contains` tests, as a linear function of p.
            let offset = ex * (self.v - y0) - ey * (self.u - x0);
            let step = ex * self.dv - ey * self.du;
            let edge = linear_span(
                orientation * offset,
                orientation * step,
                -slack * ex.hypot(ey),
                f32::MAX,
            )?;
            intersect(span, edge)
        })
    }
}

/// Regions in face units (v grows downwards, like image rows).
#[derive(Debug, Clone)]
pub(super) enum Shape {
    /// An ellipse whose radius is modulated by `amp * sin(freq * angle)`
    /// (amp 0: a plain ellipse); wavy hair and clutter blobs use the wave.
    Ellipse {
        c: (f32, f32),
        r: (f32, f32),
        wave: (f32, f32),
    },
    /// A curved stroke: points within `half` (tapering to the ends) of
    /// v = v0 + curve * (u - centre)^2 for u in `u`.
    Band {
        u: (f32, f32),
        v0: f32,
        curve: f32,
        half: f32,
    },
    /// A convex polygon.
    Polygon(Vec<(f32, f32)>),
    /// An elliptical ring `width` thick.
    Ring {
        c: (f32, f32),
        r: (f32, f32),
        width: f32,
    },
    /// The part of `shape` above (or below) the wavy line
    /// v = line + amp * sin(freq * u).
    Cut {
        shape: Box<Shape>,
        line: f32,
        wave: (f32, f32),
        keep_above: bool,
    },
}

impl Shape {
    pub fn ellipse(c: (f32, f32), r: (f32, f32)) -> Shape {
        Shape::Ellipse {
            c,
            r,
            wave: (0.0, 0.0),
        }
    }

    pub fn rect(u: (f32, f32), v: (f32, f32)) -> Shape {
        Shape::Polygon(vec![(u.0, v.0), (u.1, v.0), (u.1, v.1), (u.0, v.1)])
    }

    pub fn cut(self, line: f32, wave: (f32, f32), keep_above: bool) -> Shape {
        Shape::Cut {
            shape: Box::new(self),
            line,
            wave,
            keep_above,
        }
    }

    fn contains(&self, u: f32, v: f32) -> bool {
        match self {
            Shape::Ellipse { c, r, wave } => {
                let (x, y) = ((u - c.0) / r.0, (v - c.1) / r.1);
                let d2 = x * x + y * y;
                // The angle is only needed inside the band the wave can reach.
                let (low, high) = (1.0 - wave.0.abs(), 1.0 + wave.0.abs());
                if d2 > high * high {
                    return false;
                }
                if d2 <= low * low {
                    return true;
                }
                let radius = 1.0 + wave.0 * (wave.1 * y.atan2(x)).sin();
                d2 <= radius * radius
            }
            Shape::Band {
                u: span,
                v0,
                curve,
                half,
            } => {
                if u < span.0 || u > span.1 {
                    return false;
                }
                let mid = 0.5 * (span.0 + span.1);
                let t = (u - mid) / (0.5 * (span.1 - span.0));
                let centre = v0 + curve * (u - mid) * (u - mid);
                (v - centre).abs() <= half * (1.0 - 0.6 * t * t)
            }
            Shape::Polygon(points) => {
                let mut sign = 0.0f32;
                let next = points.iter().cycle().skip(1);
                for (&(x0, y0), &(x1, y1)) in points.iter().zip(next) {
                    let cross = (x1 - x0) * (v - y0) - (y1 - y0) * (u - x0);
                    if cross != 0.0 {
                        if sign != 0.0 && cross.signum() != sign {
                            return false;
                        }
                        sign = cross.signum();
                    }
                }
                true
            }
            Shape::Ring { c, r, width } => {
                let outer = ((u - c.0) / r.0).powi(2) + ((v - c.1) / r.1).powi(2);
                let inner =
                    ((u - c.0) / (r.0 - width)).powi(2) + ((v - c.1) / (r.1 - width)).powi(2);
                outer <= 1.0 && inner > 1.0
            }
            Shape::Cut {
                shape,
                line,
                wave,
                keep_above,
            } => {
                // The wave needs a sine only within its amplitude of the line.
                let reach = wave.0.abs();
                let above = if v < line - reach {
                    true
                } else if v >= line + reach {
                    false
                } else {
                    v < line + wave.0 * (wave.1 * u).sin()
                };
                above == *keep_above && shape.contains(u, v)
            }
        }
    }

    /// Along a pixel row: where the shape may be, and where it surely is.
    fn spans(&self, line: &RowLine) -> Option<(Span, Option<Span>)> {
        Some(match self {
            Shape::Ellipse { c, r, wave } => {
                // Inside the wave's trough the shape is certain.
                let amp = wave.0.abs();
                let outer = line.ellipse_span(*c, *r, (1.0 + amp) * (1.0 + SLACK))?;
                (
                    outer,
                    line.ellipse_span(*c, *r, (1.0 - amp) * (1.0 - SLACK)),
                )
            }
            Shape::Ring { c, r, .. } => (line.ellipse_span(*c, *r, 1.0 + SLACK)?, None),
            Shape::Polygon(points) => (
                line.polygon_span(points, SLACK)?,
                line.polygon_span(points, -SLACK),
            ),
            Shape::Band { .. } => (line.box_span(self.bounds(), SLACK)?, None),
            Shape::Cut {
                shape,
                line: edge,
                wave,
                keep_above,
            } => {
                let (outer, inner) = shape.spans(line)?;
                let reach = wave.0.abs() + SLACK;
                let side = |limit: f32| {
                    if *keep_above {
                        linear_span(line.v, line.dv, f32::MIN, limit)
                    } else {
                        linear_span(line.v, line.dv, limit, f32::MAX)
                    }
                };
                let (possible, sure) = if *keep_above {
                    (side(edge + reach), side(edge - reach))
                } else {
                    (side(edge - reach), side(edge + reach))
                };
                let outer = intersect(outer, possible?)?;
                (outer, inner.zip(sure).and_then(|(a, b)| intersect(a, b)))
            }
        })
    }

    /// (u min, u max, v min, v max), conservative.
    fn bounds(&self) -> (f32, f32, f32, f32) {
        match self {
            Shape::Ellipse { c, r, wave } => {
                let k = 1.0 + wave.0.abs();
                (c.0 - r.0 * k, c.0 + r.0 * k, c.1 - r.1 * k, c.1 + r.1 * k)
            }
            Shape::Band { u, v0, curve, half } => {
                let reach = v0 + curve * (0.5 * (u.1 - u.0)).powi(2);
                (u.0, u.1, v0.min(reach) - half, v0.max(reach) + half)
            }
            Shape::Polygon(points) => points.iter().fold(
                (f32::MAX, f32::MIN, f32::MAX, f32::MIN),
                |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
            ),
            Shape::Ring { c, r, .. } => (c.0 - r.0, c.0 + r.0, c.1 - r.1, c.1 + r.1),
            Shape::Cut { shape, .. } => shape.bounds(),
        }
    }
}

/// How a shape changes the pixels it covers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paint {
    pub color: [f32; 3],
    /// 1: opaque; below 1 the colour is blended (make-up, shading, stubble).
    pub alpha: f32,
    pub texture: Texture,
    /// The mask class written under the shape; `None` leaves the mask as is.
    pub class: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Texture {
    Flat,
    /// Brightness stripes across u (hair strands); `freq` in cycles per unit.
    Strands {
        freq: f32,
        amp: f32,
    },
    /// Paint only a hashed fraction of pixels (stubble).
    Speckle {
        density: f32,
    },
}

impl Paint {
    pub fn solid(color: [f32; 3], class: u8) -> Paint {
        Paint {
            color,
            alpha: 1.0,
            texture: Texture::Flat,
            class: Some(class),
        }
    }

    pub fn tint(color: [f32; 3], alpha: f32) -> Paint {
        Paint {
            color,
            alpha,
            texture: Texture::Flat,
            class: None,
        }
    }

    pub fn with_texture(self, texture: Texture) -> Paint {
        Paint { texture, ..self }
    }
}

pub(super) struct Canvas {
    pub size: usize,
    pub rgb: Vec<[f32; 3]>,
    pub labels: Vec<u8>,
    salt: u32,
    /// Scratch: the face-space terms of the columns being painted.
    columns: Vec<(f32, f32)>,
}

impl Canvas {
    pub fn new(size: usize, background: [f32; 3], salt: u32) -> Canvas {
        Canvas {
            size,
            rgb: vec![background; size * size],
            labels: vec![0; size * size],
            salt,
            columns: Vec::with_capacity(size),
        }
    }

    pub fn paint(&mut self, frame: &Frame, shape: &Shape, paint: Paint) {
        let (u0, u1, v0, v1) = shape.bounds();
        let corners = [(u0, v0), (u1, v0), (u0, v1), (u1, v1)].map(|(u, v)| frame.pixel_of(u, v));
        let limit = self.size as f32 - 1.0;
        let x_range = corners
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let y_range = corners
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        // Pixel k is painted when its centre, k + 0.5, is inside.
        let side = self.size as f32;
        if x_range.1 < 0.0 || y_range.1 < 0.0 || x_range.0 >= side || y_range.0 >= side {
            return;
        }
        let (x0, x1) = (x_range.0.max(0.0) as usize, x_range.1.min(limit) as usize);
        let (y0, y1) = (y_range.0.max(0.0) as usize, y_range.1.min(limit) as usize);
        self.columns.clear();
        self.columns
            .extend((x0..=x1).map(|x| frame.column_terms(x as f32 + 0.5)));
        for y in y0..=y1 {
            let centre = y as f32 + 0.5;
            let line = frame.row_line(centre);
            let Some((possible, sure)) = shape.spans(&line) else {
                continue;
            };
            // From offsets to pixel indices: a pixel wider where the shape may
            // be, pixel centres only where it surely is.
            let first = (frame.cx + possible.0 - 1.5).floor().max(x0 as f32) as usize;
            let last = (frame.cx + possible.1 + 0.5).ceil().min(x1 as f32);
            if last < first as f32 {
                continue;
            }
            let sure = sure.map_or(1.0..=0.0, |(a, b)| {
                (frame.cx + a - 0.5).ceil()..=(frame.cx + b - 0.5).floor()
            });
            for x in first..=last as usize {
                let column = self.columns[x - x0];
                let (u, v) = (column.0 + line.u, column.1 + line.v);
                if !sure.contains(&(x as f32)) && !shape.contains(u, v) {
                    continue;
                }
                let index = y * self.size + x;
                let (shade, alpha) = match paint.texture {
                    Texture::Flat => (1.0, paint.alpha),
                    Texture::Strands { freq, amp } => (
                        1.0 + amp * (std::f32::consts::TAU * freq * u).sin(),
                        paint.alpha,
                    ),
                    Texture::Speckle { density } => {
                        if self.hash(x, y) >= density {
                            continue;
                        }
                        (1.0, paint.alpha)
                    }
                };
                let pixel = &mut self.rgb[index];
                for (channel, target) in pixel.iter_mut().zip(paint.color) {
                    *channel += alpha * (target * shade - *channel);
                }
                if let Some(class) = paint.class {
                    self.labels[index] = class;
                }
            }
        }
    }

    /// A hash of the pixel position in [0, 1): deterministic texture noise.
    pub fn hash(&self, x: usize, y: usize) -> f32 {
        let mut h =
            (x as u32).wrapping_mul(0x9E37_79B9) ^ (y as u32).wrapping_mul(0x85EB_CA6B) ^ self.salt;
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        h = h.wrapping_mul(0x297A_2D39);
        h ^= h >> 15;
        (h >> 8) as f32 / (1u32 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_shape(rng: &mut impl Rng, depth: u32) -> Shape {
        let c = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
        let r = (rng.gen_range(0.05..1.2), rng.gen_range(0.05..1.2));
        match rng.gen_range(0..if depth == 0 { 5 } else { 4 }) {
            0 => Shape::Ellipse {
                c,
                r,
                wave: (rng.gen_range(0.0..0.3), rng.gen_range(2.0..12.0f32).round()),
            },
            1 => Shape::Band {
                u: (c.0 - r.0, c.0 + r.0),
                v0: c.1,
                curve: rng.gen_range(-2.0..2.0),
                half: rng.gen_range(0.02..0.2),
            },
            2 => {
                // Points at increasing angles on an ellipse: a convex polygon
                // of either orientation.
                let sides = rng.gen_range(3..7);
                let turn = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
                let mut angles: Vec<f32> = (0..sides)
                    .map(|_| rng.gen_range(0.0..std::f32::consts::TAU))
                    .collect();
                angles.sort_by(f32::total_cmp);
                Shape::Polygon(
                    angles
                        .iter()
                        .map(|a| (c.0 + r.0 * a.cos(), c.1 + turn * r.1 * a.sin()))
                        .collect(),
                )
            }
            3 => Shape::Ring {
                c,
                r: (r.0 + 0.1, r.1 + 0.1),
                width: rng.gen_range(0.02..0.1),
            },
            _ => random_shape(rng, depth + 1).cut(
                rng.gen_range(-1.0..1.0),
                (rng.gen_range(0.0..0.2), rng.gen_range(1.0..20.0)),
                rng.gen_bool(0.5),
            ),
        }
    }

    #[test]
    fn row_spans_paint_exactly_the_pixels_the_shape_contains() {
        let size = 48;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for trial in 0..2000 {
            // Axis-aligned frames too: rows parallel to an edge or an axis.
            let roll = match trial % 4 {
                0 => 0.0,
                1 => std::f32::consts::FRAC_PI_2,
                _ => rng.gen_range(-3.2..3.2),
            };
            let frame = Frame::new(
                rng.gen_range(0.0..48.0),
                rng.gen_range(0.0..48.0),
                rng.gen_range(4.0..30.0),
                roll,
            );
            let shape = random_shape(&mut rng, 0);
            let mut canvas = Canvas::new(size, [0.0; 3], 0);
            canvas.paint(&frame, &shape, Paint::solid([1.0; 3], 1));
            // The slow way: every pixel centre tested.
            let expected: Vec<u8> = (0..size * size)
                .map(|i| {
                    let column = frame.column_terms((i % size) as f32 + 0.5);
                    let row = frame.row_terms((i / size) as f32 + 0.5);
                    u8::from(shape.contains(column.0 + row.0, column.1 + row.1))
                })
                .collect();
            let wrong: Vec<(usize, usize)> = (0..size * size)
                .filter(|&i| canvas.labels[i] != expected[i])
                .map(|i| (i % size, i / size))
                .collect();
            assert!(
                wrong.is_empty(),
                "trial {trial}: {shape:?} in {frame:?} differs at (x, y) {wrong:?}"
            );
        }
    }
}
