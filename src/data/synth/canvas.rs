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

    fn local_of(&self, px: f32, py: f32) -> (f32, f32) {
        let (dx, dy) = (
            (px - self.cx) * self.inverse_scale,
            (py - self.cy) * self.inverse_scale,
        );
        (
            dx * self.cos + dy * self.sin,
            -dx * self.sin + dy * self.cos,
        )
    }

    fn pixel_of(&self, u: f32, v: f32) -> (f32, f32) {
        (
            self.cx + self.scale * (u * self.cos - v * self.sin),
            self.cy + self.scale * (u * self.sin + v * self.cos),
        )
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
                for (i, &(x0, y0)) in points.iter().enumerate() {
                    let (x1, y1) = points[(i + 1) % points.len()];
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
                let edge = line + wave.0 * (wave.1 * u).sin();
                (v < edge) == *keep_above && shape.contains(u, v)
            }
        }
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
}

impl Canvas {
    pub fn new(size: usize, background: [f32; 3], salt: u32) -> Canvas {
        Canvas {
            size,
            rgb: vec![background; size * size],
            labels: vec![0; size * size],
            salt,
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
        if x_range.1 < 0.0 || y_range.1 < 0.0 || x_range.0 > limit || y_range.0 > limit {
            return;
        }
        let (x0, x1) = (x_range.0.max(0.0) as usize, x_range.1.min(limit) as usize);
        let (y0, y1) = (y_range.0.max(0.0) as usize, y_range.1.min(limit) as usize);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (u, v) = frame.local_of(x as f32 + 0.5, y as f32 + 0.5);
                if !shape.contains(u, v) {
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
