//! Helix-style themes (TOML): dotted scopes mapped to a colour string or
//! `{ fg, bg, modifiers }`, a `[palette]` of named colours, and `inherits` to
//! start from another theme. Resolved here into plain data; the TUI maps it to
//! terminal styles, the highlighter to syntax colours.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::assets::{AssetError, Assets};

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(transparent)]
    Asset(#[from] AssetError),
    #[error("theme `{theme}` is not valid TOML: {message}")]
    Syntax { theme: String, message: String },
    #[error("theme `{theme}`, key `{key}`: {message}")]
    Invalid {
        theme: String,
        key: String,
        message: String,
    },
    #[error("theme `{0}` inherits from itself (through a cycle)")]
    Cycle(String),
}

/// A colour: 24-bit, or one of the 16 ANSI colours (which follow the terminal's palette).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Rgb(u8, u8, u8),
    Ansi(u8),
    Reset,
}

const ANSI_NAMES: [&str; 16] = [
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "light-gray",
    "light-red",
    "light-green",
    "light-yellow",
    "light-blue",
    "light-magenta",
    "light-cyan",
    "white",
];

pub const MODIFIERS: [&str; 9] = [
    "bold",
    "dim",
    "italic",
    "underlined",
    "slow_blink",
    "rapid_blink",
    "reversed",
    "hidden",
    "crossed_out",
];

/// One scope's style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub modifiers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<String, Style>,
}

impl Theme {
    /// Load `name` (shipped or the user's), following `inherits`.
    pub fn load(assets: &Assets, name: &str) -> Result<Theme, ThemeError> {
        let table = merged_table(assets, name, &mut Vec::new())?;
        let mut palette = BTreeMap::new();
        if let Some(p) = table.get("palette") {
            let p = p
                .as_table()
                .ok_or_else(|| invalid(name, "palette", "must be a table"))?;
            for (k, v) in p {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid(name, k, "palette colours are strings"))?;
                palette.insert(k.clone(), s.to_string());
            }
        }
        let mut styles = BTreeMap::new();
        for (scope, v) in &table {
            if scope == "palette" || scope == "inherits" {
                continue;
            }
            styles.insert(scope.clone(), parse_style(name, scope, v, &palette)?);
        }
        Ok(Theme {
            name: name.to_string(),
            styles,
        })
    }

    /// The style for `scope`, falling back to its parents (`ui.text.dim` ->
    /// `ui.text` -> `ui`), then to no style.
    pub fn get(&self, scope: &str) -> Style {
        let mut s = scope;
        loop {
            if let Some(style) = self.styles.get(s) {
                return style.clone();
            }
            match s.rfind('.') {
                Some(i) => s = &s[..i],
                None => return Style::default(),
            }
        }
    }

    /// Scopes this theme defines directly.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.styles.keys().map(String::as_str)
    }
}

fn invalid(theme: &str, key: &str, message: &str) -> ThemeError {
    ThemeError::Invalid {
        theme: theme.into(),
        key: key.into(),
        message: message.into(),
    }
}

/// The theme's table with its ancestors' keys underneath (palette merged key by key).
fn merged_table(assets: &Assets, name: &str, seen: &mut Vec<String>) -> Result<Table, ThemeError> {
    if seen.iter().any(|s| s == name) {
        return Err(ThemeError::Cycle(name.into()));
    }
    seen.push(name.into());
    let text = assets.get(&format!("themes/{name}.toml"))?;
    let mut table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ThemeError::Syntax {
            theme: name.into(),
            message: e.to_string(),
        })?;
    let Some(parent) = table.remove("inherits") else {
        return Ok(table);
    };
    let parent = parent
        .as_str()
        .ok_or_else(|| invalid(name, "inherits", "must be a theme name"))?;
    let mut base = merged_table(assets, parent, seen)?;
    for (k, v) in table {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) if k == "palette" => b.extend(o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    Ok(base)
}

fn parse_color(
    theme: &str,
    key: &str,
    s: &str,
    palette: &BTreeMap<String, String>,
) -> Result<Color, ThemeError> {
    let s = palette.get(s).map(String::as_str).unwrap_or(s);
    if s == "reset" {
        return Ok(Color::Reset);
    }
    if let Some(i) = ANSI_NAMES.iter().position(|n| *n == s) {
        return Ok(Color::Ansi(i as u8));
    }
    if let Some(hex) = s.strip_prefix('#')
        && hex.len() == 6
        && let Ok(v) = u32::from_str_radix(hex, 16)
    {
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Err(invalid(
        theme,
        key,
        &format!("`{s}` is not a colour (#rrggbb, an ANSI name or a palette name)"),
    ))
}

fn parse_style(
    theme: &str,
    scope: &str,
    v: &Value,
    palette: &BTreeMap<String, String>,
) -> Result<Style, ThemeError> {
    match v {
        Value::String(s) => Ok(Style {
            fg: Some(parse_color(theme, scope, s, palette)?),
            ..Style::default()
        }),
        Value::Table(t) => {
            let mut style = Style::default();
            for (k, v) in t {
                let key = format!("{scope}.{k}");
                match (k.as_str(), v) {
                    ("fg", Value::String(s)) => {
                        style.fg = Some(parse_color(theme, &key, s, palette)?)
                    }
                    ("bg", Value::String(s)) => {
                        style.bg = Some(parse_color(theme, &key, s, palette)?)
                    }
                    ("modifiers", Value::Array(a)) => {
                        for m in a {
                            let m = m.as_str().filter(|m| MODIFIERS.contains(m));
                            let m = m.ok_or_else(|| invalid(theme, &key, "unknown modifier"))?;
                            style.modifiers.push(m.to_string());
                        }
                    }
                    _ => {
                        return Err(invalid(
                            theme,
                            &key,
                            "expected fg, bg (strings) or modifiers (list)",
                        ));
                    }
                }
            }
            Ok(style)
        }
        _ => Err(invalid(
            theme,
            scope,
            "a style is a colour string or a table",
        )),
    }
}
