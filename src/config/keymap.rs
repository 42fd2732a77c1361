//! Key bindings: the actions a user can rebind and their default keys, and
//! `[ui.keys]` in the config (`escalate = "ctrl-e"`, or a list of keys).
//! Keys are plain data here (no terminal library); the TUI matches them
//! against its events. A bad key or an unknown action is an error that
//! names the valid ones.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyName {
    Char(char),
    Enter,
    Esc,
    Tab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    F(u8),
}

/// One key with its modifiers. Letters are case-sensitive: `A` is
/// shift-a.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub ctrl: bool,
    pub alt: bool,
    pub name: KeyName,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KeymapError {
    #[error(
        "ui.keys: `{0}` is not a key; write e.g. \"ctrl-e\", \"alt-enter\", \"f2\", \"x\" or \"space\""
    )]
    BadKey(String),
    #[error("ui.keys: no action `{0}`; the actions are: {1}")]
    UnknownAction(String, String),
}

impl FromStr for Key {
    type Err = KeymapError;

    fn from_str(s: &str) -> Result<Key, KeymapError> {
        let bad = || KeymapError::BadKey(s.to_string());
        let (mut ctrl, mut alt) = (false, false);
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            let cut = ["ctrl-", "ctrl+", "c-"]
                .iter()
                .find(|p| lower.starts_with(*p))
                .map(|p| (p.len(), &mut ctrl))
                .or_else(|| {
                    ["alt-", "alt+", "m-"]
                        .iter()
                        .find(|p| lower.starts_with(*p))
                        .map(|p| (p.len(), &mut alt))
                });
            match cut {
                Some((n, flag)) if rest.len() > n => {
                    *flag = true;
                    rest = &rest[n..];
                }
                _ => break,
            }
        }
        let name = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyName::Enter,
            "esc" | "escape" => KeyName::Esc,
            "tab" => KeyName::Tab,
            "backspace" => KeyName::Backspace,
            "delete" | "del" => KeyName::Delete,
            "up" => KeyName::Up,
            "down" => KeyName::Down,
            "left" => KeyName::Left,
            "right" => KeyName::Right,
            "pageup" | "pgup" => KeyName::PageUp,
            "pagedown" | "pgdn" => KeyName::PageDown,
            "home" => KeyName::Home,
            "end" => KeyName::End,
            "space" => KeyName::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().map_err(|_| bad())?;
                if !(1..=12).contains(&n) {
                    return Err(bad());
                }
                KeyName::F(n)
            }
            _ => {
                let mut cs = rest.chars();
                match (cs.next(), cs.next()) {
                    // With ctrl, letters are one key whatever the case.
                    (Some(c), None) if ctrl => KeyName::Char(c.to_ascii_lowercase()),
                    (Some(c), None) if !c.is_control() => KeyName::Char(c),
                    _ => return Err(bad()),
                }
            }
        };
        Ok(Key { ctrl, alt, name })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            write!(f, "Ctrl-")?;
        }
        if self.alt {
            write!(f, "Alt-")?;
        }
        match self.name {
            KeyName::Char(' ') => write!(f, "Space"),
            KeyName::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyName::Char(c) => write!(f, "{c}"),
            KeyName::F(n) => write!(f, "F{n}"),
            KeyName::PageUp => write!(f, "PgUp"),
            KeyName::PageDown => write!(f, "PgDn"),
            KeyName::Up => write!(f, "↑"),
            KeyName::Down => write!(f, "↓"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Everything a key can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    // Anywhere.
    Help,
    // The conversation.
    Escalate,
    Thinking,
    Context,
    Commit,
    // The context panel.
    Pin,
    Remove,
    // Diff review.
    Accept,
    Reject,
    AcceptFile,
    RejectFile,
    AcceptAll,
    RejectAll,
    EditHunk,
    SideBySide,
    Apply,
    Stage,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::Help,
        Action::Escalate,
        Action::Thinking,
        Action::Context,
        Action::Commit,
        Action::Pin,
        Action::Remove,
        Action::Accept,
        Action::Reject,
        Action::AcceptFile,
        Action::RejectFile,
        Action::AcceptAll,
        Action::RejectAll,
        Action::EditHunk,
        Action::SideBySide,
        Action::Apply,
        Action::Stage,
    ];

    /// The name in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Help => "help",
            Action::Escalate => "escalate",
            Action::Thinking => "thinking",
            Action::Context => "context",
            Action::Commit => "commit",
            Action::Pin => "pin",
            Action::Remove => "remove",
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::AcceptFile => "accept_file",
            Action::RejectFile => "reject_file",
            Action::AcceptAll => "accept_all",
            Action::RejectAll => "reject_all",
            Action::EditHunk => "edit_hunk",
            Action::SideBySide => "side_by_side",
            Action::Apply => "apply",
            Action::Stage => "stage",
        }
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Action::Help => &["f1"],
            Action::Escalate => &["ctrl-e"],
            Action::Thinking => &["ctrl-t"],
            Action::Context => &["ctrl-o"],
            Action::Commit => &["ctrl-g"],
            Action::Pin => &["p"],
            Action::Remove => &["d", "delete"],
            Action::Accept => &["a", "y"],
            Action::Reject => &["r", "n"],
            Action::AcceptFile => &["f"],
            Action::RejectFile => &["F"],
            Action::AcceptAll => &["A"],
            Action::RejectAll => &["R"],
            Action::EditHunk => &["e"],
            Action::SideBySide => &["s"],
            Action::Apply => &["enter", "w"],
            Action::Stage => &["S"],
        }
    }
}

/// `[ui.keys]`: an action's key, or its keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Many(Vec<String>),
}

/// The keys of every action: the defaults, with `[ui.keys]` replacing an
/// action's keys where it names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).expect("the defaults parse")
    }
}

impl Keymap {
    pub fn new(config: &BTreeMap<String, Keys>) -> Result<Keymap, KeymapError> {
        let mut keys = BTreeMap::new();
        for a in Action::ALL {
            let ks = a
                .defaults()
                .iter()
                .map(|k| k.parse())
                .collect::<Result<Vec<Key>, _>>()?;
            keys.insert(a, ks);
        }
        for (name, ks) in config {
            let Some(a) = Action::ALL.into_iter().find(|a| a.name() == name) else {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                return Err(KeymapError::UnknownAction(name.clone(), names.join(", ")));
            };
            let list = match ks {
                Keys::One(k) => vec![k.as_str()],
                Keys::Many(v) => v.iter().map(String::as_str).collect(),
            };
            keys.insert(
                a,
                list.into_iter()
                    .map(str::parse)
                    .collect::<Result<Vec<Key>, _>>()?,
            );
        }
        Ok(Keymap { keys })
    }

    /// Whether `key` is bound to `a`.
    pub fn is(&self, a: Action, key: Key) -> bool {
        self.keys.get(&a).is_some_and(|ks| ks.contains(&key))
    }

    /// The keys of `a`, as the help shows them ("Ctrl-E", "a / y").
    pub fn label(&self, a: Action) -> String {
        let ks = self.keys.get(&a).map(Vec::as_slice).unwrap_or(&[]);
        if ks.is_empty() {
            return "(unbound)".into();
        }
        ks.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        let k: Key = "ctrl-e".parse().unwrap();
        assert_eq!(
            k,
            Key {
                ctrl: true,
                alt: false,
                name: KeyName::Char('e')
            }
        );
        assert_eq!(k.to_string(), "Ctrl-E");
        assert_eq!("C-E".parse::<Key>().unwrap(), k, "ctrl letters ignore case");
        assert_eq!("alt+enter".parse::<Key>().unwrap().to_string(), "Alt-Enter");
        assert_eq!("F2".parse::<Key>().unwrap().name, KeyName::F(2));
        assert_eq!("A".parse::<Key>().unwrap().name, KeyName::Char('A'));
        assert_eq!("space".parse::<Key>().unwrap().name, KeyName::Char(' '));
        for bad in ["", "ctrl-", "f13", "hyper-x", "ab"] {
            assert_eq!(
                bad.parse::<Key>(),
                Err(KeymapError::BadKey(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn config_replaces_an_actions_keys_and_names_mistakes() {
        let m = Keymap::default();
        let ctrl_e = "ctrl-e".parse().unwrap();
        assert!(m.is(Action::Escalate, ctrl_e));
        let cfg: BTreeMap<String, Keys> =
            toml::from_str("escalate = \"ctrl-x\"\naccept = [\"a\", \"enter\"]").unwrap();
        let m = Keymap::new(&cfg).unwrap();
        assert!(!m.is(Action::Escalate, ctrl_e), "replaced, not added");
        assert!(m.is(Action::Escalate, "ctrl-x".parse().unwrap()));
        assert_eq!(m.label(Action::Accept), "a / Enter");
        let cfg: BTreeMap<String, Keys> = toml::from_str("escalte = \"ctrl-x\"").unwrap();
        let e = Keymap::new(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("no action `escalte`") && e.contains("escalate"),
            "{e}"
        );
        let cfg: BTreeMap<String, Keys> = toml::from_str("escalate = \"ctrl-\"").unwrap();
        assert!(Keymap::new(&cfg).is_err());
    }
}
