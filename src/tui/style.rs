//! Theme scopes as ratatui styles. NO_COLOR (or a 16-colour terminal, for
//! RGB values) degrades colours; modifiers stay so the UI remains legible.

use ratatui::style::{Color as RColor, Modifier, Style as RStyle};

use crate::theme::{Color, Theme};

pub struct Styles {
    theme: Option<Theme>,
    /// How many colours the terminal shows: 0 (NO_COLOR), 16, 256 or 16M.
    colors: u32,
}

/// Colours the terminal supports (`supports-color`: NO_COLOR, FORCE_COLOR,
/// COLORTERM, TERM, the terminal programs it knows).
pub fn detect_colors() -> u32 {
    match supports_color::on(supports_color::Stream::Stdout) {
        None => 0,
        Some(l) if l.has_16m => 1 << 24,
        Some(l) if l.has_256 => 256,
        Some(_) => 16,
    }
}

fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let c = |v: u8| ((v as u16 * 5 + 127) / 255) as u8;
    16 + 36 * c(r) + 6 * c(g) + c(b)
}

fn to_16(r: u8, g: u8, b: u8) -> u8 {
    let bright = (r as u16 + g as u16 + b as u16) > 382;
    let bit = |v: u8| u8::from(v > 100);
    (bit(r) | (bit(g) << 1) | (bit(b) << 2)) + if bright { 8 } else { 0 }
}

impl Styles {
    pub fn new(theme: Option<Theme>, colors: u32) -> Styles {
        Styles { theme, colors }
    }

    fn color(&self, c: Color) -> Option<RColor> {
        match (c, self.colors) {
            (_, 0) => None,
            (Color::Reset, _) => Some(RColor::Reset),
            (Color::Ansi(n), _) => Some(RColor::Indexed(n)),
            (Color::Rgb(r, g, b), n) if n > 256 => Some(RColor::Rgb(r, g, b)),
            (Color::Rgb(r, g, b), 256) => Some(RColor::Indexed(to_256(r, g, b))),
            (Color::Rgb(r, g, b), _) => Some(RColor::Indexed(to_16(r, g, b))),
        }
    }

    /// The style of a theme scope (`ui.statusline`, `diff.plus`, …).
    pub fn get(&self, scope: &str) -> RStyle {
        let Some(t) = &self.theme else {
            return RStyle::default();
        };
        let s = t.get(scope);
        let mut out = RStyle::default();
        if let Some(fg) = s.fg.and_then(|c| self.color(c)) {
            out = out.fg(fg);
        }
        if let Some(bg) = s.bg.and_then(|c| self.color(c)) {
            out = out.bg(bg);
        }
        for m in &s.modifiers {
            out = out.add_modifier(match m.as_str() {
                "bold" => Modifier::BOLD,
                "dim" => Modifier::DIM,
                "italic" => Modifier::ITALIC,
                "underlined" => Modifier::UNDERLINED,
                "reversed" => Modifier::REVERSED,
                "crossed_out" => Modifier::CROSSED_OUT,
                _ => Modifier::empty(),
            });
        }
        out
    }
}
