//! `locus doctor`: everything locus can find out about where it runs, in one
//! readable report, so a user can tell why it behaves as it does.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::assets::Assets;
use crate::config::SourceKind;
use crate::theme::Theme;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace) -> anyhow::Result<ExitCode> {
    let (text, problems) = report(ws);
    out!("{text}");
    if problems == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "\n{problems} problem{} found",
            if problems == 1 { "" } else { "s" }
        );
        Ok(ExitCode::from(1))
    }
}

/// The report's text and the number of problems in it.
pub fn report(ws: &Workspace) -> (String, usize) {
    let mut out = String::new();
    let mut problems = 0;
    let w = &mut out;
    let _ = writeln!(w, "locus {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(w, "\nrepository");
    match &ws.repo {
        Ok(Some(r)) => {
            match &r.workdir {
                Some(dir) => {
                    let _ = writeln!(w, "  root      {}", dir.display());
                }
                None => {
                    problems += 1;
                    let _ = writeln!(
                        w,
                        "  problem   {} is a bare repository (no working tree); locus works on {}",
                        r.git_dir.display(),
                        ws.root.display()
                    );
                }
            }
            let head = match (&r.branch, r.detached, r.unborn) {
                (_, true, _) => "detached HEAD".to_string(),
                (Some(b), _, true) => format!("{b} (no commits yet)"),
                (Some(b), _, false) => b.clone(),
                (None, _, _) => "unknown".to_string(),
            };
            let _ = writeln!(w, "  branch    {head}");
        }
        Ok(None) => {
            let _ = writeln!(
                w,
                "  none      {} is not inside a git repository; locus works on this directory",
                ws.cwd.display()
            );
        }
        Err(e) => {
            problems += 1;
            let _ = writeln!(w, "  problem   {e}");
        }
    }

    let _ = writeln!(w, "\ndirectories");
    let _ = writeln!(w, "  config    {}", ws.dirs.config.display());
    let _ = writeln!(w, "  state     {}", ws.dirs.state.display());
    let _ = writeln!(w, "  log       {}", ws.dirs.log_file().display());
    let _ = writeln!(w, "  cache     {}", ws.dirs.cache.display());
    let _ = writeln!(w, "  repo cache {}", ws.cache_dir().display());

    let _ = writeln!(w, "\nconfig");
    let settings = match ws.settings() {
        Ok(loaded) => {
            for s in &loaded.sources {
                let (kind, state) = match (&s.kind, s.present) {
                    (SourceKind::User, true) => ("user", "read"),
                    (SourceKind::User, false) => ("user", "not present"),
                    (SourceKind::Repo, true) => ("repo", "read"),
                    (SourceKind::Repo, false) => ("repo", "not present"),
                    (SourceKind::Env, _) => ("env", "applied"),
                };
                let _ = writeln!(w, "  {kind:<9} {} ({state})", s.origin);
            }
            let _ = writeln!(w, "  trust     repository file: {}", loaded.trust.label());
            if let Some(note) = loaded.ignored_note() {
                let _ = writeln!(w, "  note      {note}");
            }
            Some(loaded.settings)
        }
        Err(e) => {
            problems += 1;
            let _ = writeln!(w, "  user      {}", ws.dirs.user_config_file().display());
            let _ = writeln!(w, "  repo      {}", ws.repo_config_file().display());
            let _ = writeln!(w, "  problem   {e}");
            None
        }
    };

    if let Some(settings) = settings {
        // What the TUI and the commands would refuse at their start.
        let _ = writeln!(w, "\nkeys and globs");
        let mut fine = true;
        if let Err(e) = crate::config::Keymap::new(&settings.ui.keys) {
            problems += 1;
            fine = false;
            let _ = writeln!(w, "  problem   [ui.keys]: {e}");
        }
        for (key, r) in [
            (
                "privacy.never_send",
                settings.privacy.never_send_rules().err(),
            ),
            (
                "privacy.never_touch",
                settings.privacy.never_touch_rules().err(),
            ),
        ] {
            if let Some(e) = r {
                problems += 1;
                fine = false;
                let _ = writeln!(w, "  problem   {key} has a bad glob: {e}");
            }
        }
        if fine {
            let _ = writeln!(
                w,
                "  ok        [ui.keys], privacy.never_send, privacy.never_touch"
            );
        }
        let assets = Assets::new(Some(&ws.dirs.config));
        let _ = writeln!(w, "\ntheme");
        match Theme::load(&assets, &settings.ui.theme) {
            Ok(t) => {
                let origin = assets
                    .override_path(&format!("themes/{}.toml", t.name))
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "built in".into());
                let _ = writeln!(w, "  {:<9} {origin}", t.name);
            }
            Err(e) => {
                problems += 1;
                let _ = writeln!(
                    w,
                    "  problem   {e} (available: {})",
                    assets.theme_names().join(", ")
                );
            }
        }
        let _ = writeln!(w, "\nmodels");
        let paths = crate::model::local::discovery::SearchPaths::from_env(
            settings.model.path.as_ref().map(Into::into),
        );
        let found = crate::model::local::discovery::discover(&paths);
        if found.is_empty() {
            let _ = writeln!(
                w,
                "  none      no GGUF model found; `locus models pull` downloads the default one"
            );
        }
        for f in &found {
            let _ = writeln!(w, "  {:<9} {} ({})", f.source, f.name, f.path.display());
        }
        match crate::model::local::device::select(&settings.model.device) {
            Ok(chosen) => {
                let _ = writeln!(w, "  device    {}", chosen.line());
            }
            Err(e) => {
                problems += 1;
                let _ = writeln!(w, "  problem   {e}");
            }
        }
        match super::models::resolve_model(ws, settings.model.path.as_deref()) {
            Ok(p) => {
                let _ = writeln!(w, "  runs      {}", p.display());
            }
            Err(e) if !found.is_empty() => {
                problems += 1;
                let _ = writeln!(w, "  problem   {e}");
            }
            Err(_) => {}
        }
        let _ = writeln!(w, "\neffective settings");
        for line in settings.to_toml().lines() {
            let _ = writeln!(w, "  {line}");
        }
    }
    (out, problems)
}
