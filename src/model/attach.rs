//! Files attached to a question: images (and recordings) that go to the
//! local model through its projector, or to a cloud model in the
//! provider's own format after the preview. An attachment names its file
//! and what it is; the bytes are read when the message is sent.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::local::vision::decode::{self, MediaError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachKind {
    Image,
    Audio,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Where the file is read from (absolute).
    pub path: PathBuf,
    /// How it is named to the user and the privacy rules: relative to the
    /// repository when it lies inside it, else the absolute path.
    pub name: String,
    pub kind: AttachKind,
    /// The file's size.
    pub bytes: u64,
    /// Pixels (images).
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    /// `image/png`, `image/jpeg`, `image/webp`, `image/gif`, `audio/wav`.
    pub mime: String,
}

impl Attachment {
    /// The image at `path`, checked now (readable, within the limits, one
    /// frame, decodable) so a bad file is one clear line before anything
    /// runs.
    /// `path` is absolute or relative to the current directory; `root` is
    /// the repository's.
    pub fn image(path: &Path, root: &Path) -> Result<Attachment, MediaError> {
        let data = decode::read_limited(path)?;
        let format = decode::format(path, &data)?;
        let rgb = decode::decode_bytes(path, &data)?;
        let (abs, name) = names(path, root)?;
        Ok(Attachment {
            name,
            path: abs,
            kind: AttachKind::Image,
            bytes: data.len() as u64,
            width: rgb.width as u32,
            height: rgb.height as u32,
            mime: format.to_mime_type().into(),
        })
    }

    /// The WAV recording at `path`, checked now (readable, within the
    /// limits, not silent).
    pub fn audio(path: &Path, root: &Path) -> Result<Attachment, MediaError> {
        let data = decode::read_limited(path)?;
        super::local::vision::audio::read_wav(path, &data)?;
        let (abs, name) = names(path, root)?;
        Ok(Attachment {
            name,
            path: abs,
            kind: AttachKind::Audio,
            bytes: data.len() as u64,
            width: 0,
            height: 0,
            mime: "audio/wav".into(),
        })
    }

    /// The file's bytes now, if it is still what was attached (same size).
    pub fn read(&self) -> Result<Vec<u8>, MediaError> {
        let data = decode::read_limited(&self.path)?;
        if data.len() as u64 != self.bytes {
            return Err(MediaError::Changed {
                path: self.path.clone(),
            });
        }
        Ok(data)
    }

    /// One line for the preview and the attachment list: file, what it is,
    /// its size.
    pub fn describe(&self) -> String {
        let size = human_bytes(self.bytes);
        match self.kind {
            AttachKind::Image => format!(
                "{} · image {} x {} · {size}",
                self.name, self.width, self.height
            ),
            AttachKind::Audio => format!("{} · audio · {size}", self.name),
        }
    }
}

/// The absolute path of `path`, and its name: relative to `root` when
/// inside it.
fn names(path: &Path, root: &Path) -> Result<(PathBuf, String), MediaError> {
    let abs = std::path::absolute(path).map_err(|source| MediaError::Io {
        path: path.into(),
        source,
    })?;
    let abs = abs.canonicalize().unwrap_or(abs);
    let root = root.canonicalize().unwrap_or_else(|_| root.into());
    let name = match abs.strip_prefix(&root) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => abs.display().to_string(),
    };
    Ok((abs, name))
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} bytes"),
    }
}
