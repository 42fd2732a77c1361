//! An image made into what Gemma 4's projector reads, as llama.cpp's mtmd
//! prepares it: the size chosen to keep the aspect ratio with both sides
//! multiples of the patch and the patch count within the soft-token
//! budget; the image resampled (Pillow's bicubic) to fit inside that canvas
//! and centred on black; pixels / 255 (Gemma 4 takes no mean or std); one
//! vector per patch, channel-major (all of red's rows, then green's, then
//! blue's), with its column and row.

use super::resize::bicubic_rgb;

/// Decoded pixels: `width` x `height`, 3 bytes a pixel, rows top down.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rgb({} x {})", self.width, self.height)
    }
}

/// The patches of one image.
pub struct Patches {
    /// The patch grid: `cols` x `rows` soft tokens, row by row.
    pub cols: usize,
    pub rows: usize,
    /// The side of a patch in pixels.
    pub side: usize,
    /// `cols * rows` vectors of `3 * side * side` values.
    pub values: Vec<f32>,
}

/// The canvas an image of `w` x `h` is resized onto (mtmd's
/// `calc_size_preserved_ratio` with its float arithmetic): sides that are
/// multiples of `align`, between `min_pixels` and `max_pixels` in area
/// where the aspect ratio allows.
pub fn canvas(
    w: usize,
    h: usize,
    align: usize,
    min_pixels: usize,
    max_pixels: usize,
) -> (usize, usize) {
    assert!(align > 0 && w > 0 && h > 0);
    let f = align as f32;
    let round = |x: f32| (x / f).round() as usize * align;
    let ceil = |x: f32| (x / f).ceil() as usize * align;
    let floor = |x: f32| (x / f).floor() as usize * align;
    let (wf, hf) = (w as f32, h as f32);
    let (mut wb, mut hb) = (round(wf).max(align), round(hf).max(align));
    if max_pixels > 0 && wb * hb > max_pixels {
        let beta = (hf * wf / max_pixels as f32).sqrt();
        hb = floor(hf / beta).max(align);
        wb = floor(wf / beta).max(align);
    } else if min_pixels > 0 && wb * hb < min_pixels {
        let beta = (min_pixels as f32 / (hf * wf)).sqrt();
        hb = ceil(hf * beta);
        wb = ceil(wf * beta);
    }
    (wb, hb)
}

/// `img` resized to fit `tw` x `th` keeping its aspect ratio, centred on
/// black (mtmd's resize with `PAD_CEIL`).
pub fn fit(img: &Rgb, tw: usize, th: usize) -> Rgb {
    if (img.width, img.height) == (tw, th) {
        return img.clone();
    }
    let scale = (tw as f32 / img.width as f32).min(th as f32 / img.height as f32);
    let nw = ((img.width as f32 * scale).ceil() as usize).clamp(1, tw);
    let nh = ((img.height as f32 * scale).ceil() as usize).clamp(1, th);
    let small = bicubic_rgb(&img.bytes, img.width, img.height, nw, nh);
    let (ox, oy) = ((tw - nw) / 2, (th - nh) / 2);
    let mut bytes = vec![0u8; tw * th * 3];
    for (y, row) in small.chunks_exact(nw * 3).enumerate() {
        bytes[((oy + y) * tw + ox) * 3..][..nw * 3].copy_from_slice(row);
    }
    Rgb {
        width: tw,
        height: th,
        bytes,
    }
}

/// The soft-token budget of one image and the projector's patch side.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub side: usize,
    pub min_tokens: usize,
    pub max_tokens: usize,
}

/// `img` as patches within `budget`.
pub fn patches(img: &Rgb, budget: Budget) -> Patches {
    let side = budget.side;
    let area = side * side;
    let (tw, th) = canvas(
        img.width,
        img.height,
        side,
        budget.min_tokens * area,
        budget.max_tokens * area,
    );
    let img = fit(img, tw, th);
    let (cols, rows) = (tw / side, th / side);
    let mut values = Vec::with_capacity(cols * rows * 3 * area);
    for py in 0..rows {
        for px in 0..cols {
            for c in 0..3 {
                for y in 0..side {
                    let row = (py * side + y) * tw + px * side;
                    values.extend(
                        img.bytes[row * 3..][..side * 3]
                            .chunks_exact(3)
                            .map(|p| f32::from(p[c]) / 255.0),
                    );
                }
            }
        }
    }
    Patches {
        cols,
        rows,
        side,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canvas_keeps_the_aspect_ratio_within_the_budget() {
        // Small: scaled up to at least 70 patches of 12 pixels.
        assert_eq!(canvas(37, 23, 12, 70 * 144, 280 * 144), (132, 84));
        // A screenshot at 280 soft tokens of 48 pixels.
        let (w, h) = canvas(1024, 768, 48, 70 * 2304, 280 * 2304);
        assert_eq!((w % 48, h % 48), (0, 0));
        assert!(w * h <= 280 * 2304 && w > h, "{w}x{h}");
        // Already on the grid and within the budget: unchanged.
        assert_eq!(canvas(480, 240, 48, 0, 280 * 2304), (480, 240));
        // A sliver keeps one patch on its short side.
        assert_eq!(canvas(2000, 3, 48, 70 * 2304, 280 * 2304).1, 48);
    }

    #[test]
    fn fitting_centres_the_image_on_black() {
        let img = Rgb {
            width: 2,
            height: 1,
            bytes: vec![200; 6],
        };
        let out = fit(&img, 4, 4);
        // 2x1 scaled by 2 is 4x2, rows 1 and 2 of 4.
        let row = |y: usize| &out.bytes[y * 12..][..12];
        assert!(row(0).iter().all(|&v| v == 0) && row(3).iter().all(|&v| v == 0));
        assert!(row(1).iter().all(|&v| v == 200) && row(2).iter().all(|&v| v == 200));
    }

    #[test]
    fn patch_vectors_are_channel_major() {
        let (w, h) = (4, 2);
        let bytes: Vec<u8> = (0..w * h * 3).map(|i| i as u8).collect();
        let img = Rgb {
            width: w,
            height: h,
            bytes,
        };
        let p = patches(
            &img,
            Budget {
                side: 2,
                min_tokens: 0,
                max_tokens: 100,
            },
        );
        assert_eq!((p.cols, p.rows), (2, 1));
        let px = |x: usize, y: usize, c: usize| ((y * w + x) * 3 + c) as f32 / 255.0;
        // Patch 1 (x 2..4): red of (2,0), (3,0), (2,1), (3,1), then green …
        let v = &p.values[12..24];
        assert_eq!(v[0], px(2, 0, 0));
        assert_eq!(v[3], px(3, 1, 0));
        assert_eq!(v[4], px(2, 0, 1));
        assert_eq!(v[11], px(3, 1, 2));
    }
}
