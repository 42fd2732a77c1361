//! Images attached in the TUI (`@shot.png`, a pasted path, `/image PATH`,
//! `/paste` for the clipboard's image) and recordings (`/image PATH.wav`,
//! Ctrl-R's dictation): the worker keeps them on the
//! session until the next question takes them, and lists them for the
//! composer, each with its file, size and the prompt tokens it takes.

use std::path::{Path, PathBuf};

use crate::model::attach::Attachment;
use crate::session::Workbench;

use super::app::{Report, Request};

/// Handle an attachment request; what to report.
pub fn handle(wb: &mut Workbench, request: &Request) -> Vec<Report> {
    let attached = match request {
        Request::Attach(path) => attach(wb, &resolve(&wb.ws.cwd, path)),
        Request::AttachClipboard => clipboard(wb).and_then(|p| attach(wb, &p)),
        Request::Detach(None) => {
            wb.session.attachments.clear();
            Ok(())
        }
        Request::Detach(Some(n)) => {
            if *n <= wb.session.attachments.len() {
                wb.session.attachments.remove(n - 1);
                Ok(())
            } else {
                Err(format!("no attachment {n}"))
            }
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    if let Err(e) = attached {
        out.push(Report::Error(e));
    }
    out.push(Report::Attached(lines(wb)));
    out
}

/// The attachments that go with the next question, one line each.
pub fn lines(wb: &Workbench) -> Vec<String> {
    wb.session
        .attachments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let tokens = match wb.model() {
                Some(m) => match m.attachment_tokens(a) {
                    Ok(n) => format!("{n} tokens"),
                    Err(why) => why,
                },
                None => "for the cloud model (Ctrl-E)".into(),
            };
            format!(
                "{}. {} · {tokens} · /detach {} removes it",
                i + 1,
                a.describe(),
                i + 1
            )
        })
        .collect()
}

fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let p = Path::new(path.trim());
    if p.is_absolute() {
        p.into()
    } else {
        cwd.join(p)
    }
}

fn attach(wb: &mut Workbench, path: &Path) -> Result<(), String> {
    let wav = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    let a = if wav {
        Attachment::audio(path, &wb.ws.root)
    } else {
        Attachment::image(path, &wb.ws.root)
    }
    .map_err(|e| e.to_string())?;
    // Kept even when the model cannot take it: Ctrl-E may still send it.
    match wb.attach(a) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// The clipboard's image saved as a PNG in locus's state folder.
fn clipboard(wb: &Workbench) -> Result<PathBuf, String> {
    let img = read_clipboard()?;
    let dir = wb.ws.dirs.state.join("clipboard");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot save the clipboard image: {e}"))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let path = dir.join(format!("clipboard-{stamp}.png"));
    img.save_with_format(&path, image::ImageFormat::Png)
        .map_err(|e| format!("cannot save the clipboard image: {e}"))?;
    Ok(path)
}

#[cfg(feature = "clipboard")]
fn read_clipboard() -> Result<image::RgbaImage, String> {
    let mut cb = arboard::Clipboard::new().map_err(|e| format!("no clipboard here: {e}"))?;
    let data = cb
        .get_image()
        .map_err(|e| format!("the clipboard holds no image: {e}"))?;
    image::RgbaImage::from_raw(
        data.width as u32,
        data.height as u32,
        data.bytes.into_owned(),
    )
    .ok_or_else(|| "the clipboard's image is malformed".into())
}

#[cfg(not(feature = "clipboard"))]
fn read_clipboard() -> Result<image::RgbaImage, String> {
    Err("this build of locus reads no clipboard (feature `clipboard`); attach the file with /image PATH".into())
}
