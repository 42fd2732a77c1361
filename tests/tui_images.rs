//! Images in the real binary in tmux: attached in the composer, listed,
//! detached, previewed by Ctrl-E and sent to a loopback provider; `/paste`
//! without a display.

use std::time::{Duration, Instant};

use crate::tui_term::{calc_py, cloud_project, continue_without_a_model, launch, tmux, wait_for};
use crate::util::Sandbox;

/// An image attached in the composer (`@shot.png`), listed with its size,
/// previewed by Ctrl-E and sent as the provider's image part; `/detach`
/// removes one attached by pasting its path.
#[test]
fn an_attached_image_is_previewed_and_escalated() {
    use base64::Engine as _;
    let sb = Sandbox::new();
    let (server, root) = cloud_project(&sb, &calc_py(), "A bar chart.", "");
    let shot = root.join("shot.png");
    crate::vision::noise(120, 70, 7)
        .save_with_format(&shot, image::ImageFormat::Png)
        .unwrap();
    let other = root.join("other.png");
    crate::vision::noise(40, 30, 2)
        .save_with_format(&other, image::ImageFormat::Png)
        .unwrap();
    let (session, _kill) = launch(&sb, &root, "");
    continue_without_a_model(&session);
    // No display here: /paste says in one line why it read nothing.
    tmux(&["send-keys", "-t", &session, "-l", "/paste"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let screen = wait_for(&session, "clipboard", 30);
    assert!(
        screen.contains("no clipboard here") || screen.contains("the clipboard holds no image"),
        "{screen}"
    );
    // A pasted path attaches; /detach removes it.
    tmux(&["set-buffer", other.to_str().unwrap()]);
    tmux(&["paste-buffer", "-p", "-t", &session]);
    wait_for(&session, "attached 1. other.png · image 40 x 30", 30);
    tmux(&["send-keys", "-t", &session, "-l", "/detach 1"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let start = Instant::now();
    while tmux(&["capture-pane", "-p", "-t", &session]).contains("attached 1.") {
        assert!(start.elapsed() < Duration::from_secs(10), "not detached");
        std::thread::sleep(Duration::from_millis(200));
    }
    tmux(&[
        "send-keys",
        "-t",
        &session,
        "-l",
        "What does the chart in @shot.png show?",
    ]);
    tmux(&["send-keys", "-t", &session, "C-e"]);
    let screen = wait_for(&session, "nothing has left this machine yet", 20);
    let bytes = std::fs::read(&shot).unwrap();
    assert!(
        screen.contains("attached shot.png · image 120 x 70 ·"),
        "the preview lists the image: {screen}"
    );
    assert!(server.requests().is_empty(), "nothing is sent before Enter");
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_for(&session, "A bar chart.", 20);
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    );
    assert!(sent[0].body.contains(&url), "the image went as a data URL");
    let other_b64 =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&other).unwrap());
    assert!(
        !sent[0].body.contains(&other_b64),
        "the detached image stayed"
    );
}
