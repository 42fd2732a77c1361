//! Every embedded asset loads: each theme resolves (with `inherits`) and each
//! tags query compiles against its grammar.

use locus::assets::{Assets, embedded};
use locus::index::{Lang, TagQuery};
use locus::theme::{Color, Theme};

#[test]
fn every_embedded_asset_loads() {
    let assets = Assets::new(None);
    let mut themes = 0;
    let mut queries = 0;
    let mut errors = Vec::new();
    for (path, text) in embedded() {
        assert!(!text.trim().is_empty(), "{path} is empty");
        if let Some(name) = path
            .strip_prefix("themes/")
            .and_then(|p| p.strip_suffix(".toml"))
        {
            let theme = Theme::load(&assets, name).unwrap_or_else(|e| panic!("{path}: {e}"));
            for scope in [
                "ui.background",
                "ui.text",
                "ui.selection",
                "ui.statusline",
                "diff.plus",
                "diff.minus",
                "keyword",
                "string",
                "comment",
                "error",
            ] {
                let style = theme.get(scope);
                assert!(
                    style.fg.is_some() || style.bg.is_some(),
                    "{path}: scope {scope} has no colour"
                );
            }
            themes += 1;
        } else if let Some(lang) = path
            .strip_prefix("queries/")
            .and_then(|p| p.strip_suffix("/tags.scm"))
        {
            let lang = Lang::ALL
                .into_iter()
                .find(|l| l.name() == lang)
                .unwrap_or_else(|| panic!("{path}: unknown language"));
            if let Err(e) = TagQuery::new(lang, text) {
                errors.push(format!("{path}: {e}"));
            }
            queries += 1;
        } else {
            panic!("unexpected embedded asset {path}");
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(themes >= 3, "dark, light and high-contrast ship");
    assert_eq!(queries, Lang::ALL.len(), "one tags query per language");
}

#[test]
fn themes_inherit_and_resolve_palettes() {
    let assets = Assets::new(None);
    let dark = Theme::load(&assets, "dark").unwrap();
    let light = Theme::load(&assets, "light").unwrap();
    assert_eq!(dark.get("keyword").fg, Some(Color::Rgb(0xc6, 0x78, 0xdd)));
    assert_eq!(
        light.get("keyword").fg,
        Some(Color::Rgb(0xa6, 0x26, 0xa4)),
        "palette overridden by the child"
    );
    assert_eq!(light.get("ui.text.dim"), light.get("ui.text.dim"));
    assert_eq!(
        dark.get("markup.heading.1"),
        dark.get("markup.heading"),
        "falls back to the parent scope"
    );
    let hc = Theme::load(&assets, "high-contrast").unwrap();
    assert_eq!(hc.get("ui.background").bg, Some(Color::Ansi(0)));
}

#[test]
fn user_theme_overrides_and_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("themes")).unwrap();
    std::fs::write(
        dir.path().join("themes/mine.toml"),
        "inherits = \"dark\"\n\"keyword\" = \"#010203\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("themes/bad.toml"),
        "\"keyword\" = \"not-a-colour\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("themes/loop.toml"), "inherits = \"loop\"\n").unwrap();
    let assets = Assets::new(Some(dir.path()));
    let mine = Theme::load(&assets, "mine").unwrap();
    assert_eq!(mine.get("keyword").fg, Some(Color::Rgb(1, 2, 3)));
    assert_eq!(
        mine.get("string"),
        Theme::load(&assets, "dark").unwrap().get("string")
    );
    let err = Theme::load(&assets, "bad").unwrap_err().to_string();
    assert!(
        err.contains("theme `bad`, key `keyword`") && err.contains("not-a-colour"),
        "{err}"
    );
    assert!(
        Theme::load(&assets, "loop")
            .unwrap_err()
            .to_string()
            .contains("cycle")
    );
}
