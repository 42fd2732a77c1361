//! Reading an image file the user attached: PNG, JPEG, WebP or GIF, by
//! content rather than name, within limits on bytes and pixels, as RGB
//! (an alpha channel dropped, as llama.cpp's loader, stb_image, drops it).

use std::io::{BufRead, Cursor, Seek};
use std::path::{Path, PathBuf};

use image::{AnimationDecoder, ImageFormat, ImageReader, Limits};

use super::prep::Rgb;

/// Largest image file read.
pub const MAX_BYTES: u64 = 32 << 20;
/// Largest image, in pixels (a 8K screen is 33 million).
pub const MAX_PIXELS: u64 = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is {bytes} bytes; images up to {max} MiB are read", max = MAX_BYTES >> 20)]
    TooBig { path: PathBuf, bytes: u64 },
    #[error("{path} is {width} x {height} pixels; images up to {max} million pixels are read", max = MAX_PIXELS / 1_000_000)]
    TooManyPixels {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error("{path} is not an image locus reads (PNG, JPEG, WebP, GIF)")]
    NotImage { path: PathBuf },
    #[error("{path} is an animation; attach one frame saved as PNG")]
    Animated { path: PathBuf },
    #[error("cannot decode {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("{path} changed since it was attached; attach it again")]
    Changed { path: PathBuf },
    #[error("{path} is not a recording locus reads (WAV)")]
    NotAudio { path: PathBuf },
    #[error("{path} is {seconds} s long; recordings up to {max} s are read", max = super::audio::MAX_SECONDS)]
    TooLong { path: PathBuf, seconds: u32 },
    #[error("{path} is silent")]
    Silent { path: PathBuf },
}

/// The format of `data` (the contents of `path`), if locus reads it.
pub fn format(path: &Path, data: &[u8]) -> Result<ImageFormat, MediaError> {
    match image::guess_format(data) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif)) => {
            Ok(f)
        }
        _ => Err(MediaError::NotImage { path: path.into() }),
    }
}

/// The pixels of the image file at `path`.
pub fn decode_image(path: &Path) -> Result<Rgb, MediaError> {
    decode_bytes(path, &read_limited(path)?)
}

/// The bytes of the file at `path`, if it is within `MAX_BYTES`.
pub fn read_limited(path: &Path) -> Result<Vec<u8>, MediaError> {
    let io = |source| MediaError::Io {
        path: path.into(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    if bytes > MAX_BYTES {
        return Err(MediaError::TooBig {
            path: path.into(),
            bytes,
        });
    }
    std::fs::read(path).map_err(io)
}

/// `data`, the contents of `path`, decoded.
pub fn decode_bytes(path: &Path, data: &[u8]) -> Result<Rgb, MediaError> {
    let corrupt = |e: image::ImageError| MediaError::Corrupt {
        path: path.into(),
        message: e.to_string(),
    };
    let format = format(path, data)?;
    if animated(format, Cursor::new(data)) {
        return Err(MediaError::Animated { path: path.into() });
    }
    let (width, height) = ImageReader::with_format(Cursor::new(data), format)
        .into_dimensions()
        .map_err(corrupt)?;
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooManyPixels {
            path: path.into(),
            width,
            height,
        });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let img = reader.decode().map_err(corrupt)?;
    let bytes = img.into_rgb8().into_raw();
    Ok(Rgb {
        width: width as usize,
        height: height as usize,
        bytes,
    })
}

/// Whether a GIF or WebP holds more than one frame.
fn animated<R: BufRead + Seek>(format: ImageFormat, r: R) -> bool {
    match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(r)
            .map(|d| d.into_frames().take(2).count() > 1)
            .unwrap_or(false),
        ImageFormat::WebP => image::codecs::webp::WebPDecoder::new(r)
            .map(|d| d.has_animation())
            .unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_an_image_gets_one_line() {
        let p = Path::new("notes.png");
        let e = decode_bytes(p, b"hello, not a png").unwrap_err();
        assert_eq!(
            e.to_string(),
            "notes.png is not an image locus reads (PNG, JPEG, WebP, GIF)"
        );
        let mut png = Vec::new();
        image::RgbImage::new(3, 2)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let e = decode_bytes(p, &png[..png.len() / 2]).unwrap_err();
        assert!(e.to_string().starts_with("cannot decode notes.png"), "{e}");
        let ok = decode_bytes(p, &png).unwrap();
        assert_eq!((ok.width, ok.height, ok.bytes.len()), (3, 2, 18));
    }
}
