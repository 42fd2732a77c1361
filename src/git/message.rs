//! The prompt for a commit message: the staged diff (trimmed to the model's
//! budget, with a per-file summary when it does not fit), the branch, the
//! repository's recent subjects so the model follows their style, and what
//! CONTRIBUTING.md / AGENTS.md say about commits.

use serde::Serialize;

use super::diff::FileDiff;
use super::open::Repo;
use super::repo::GitError;

/// Recent subjects shown to the model as the style to follow.
const RECENT: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitPrompt {
    pub system: String,
    pub user: String,
    /// The repository's subjects follow Conventional Commits.
    pub conventional: bool,
    /// The diff had to be cut to fit.
    pub trimmed: bool,
}

/// Whether most recent subjects look like `type(scope)!: text`.
pub fn uses_conventional_commits(subjects: &[String]) -> bool {
    let is_cc = |s: &str| {
        let Some((head, rest)) = s.split_once(": ") else {
            return false;
        };
        let ty = head.split('(').next().unwrap_or(head).trim_end_matches('!');
        !rest.trim().is_empty()
            && (2..=10).contains(&ty.len())
            && ty.chars().all(|c| c.is_ascii_lowercase())
            && (!head.contains('(') || head.trim_end_matches('!').ends_with(')'))
    };
    let n = subjects.len().min(RECENT);
    n >= 3 && subjects[..n].iter().filter(|s| is_cc(s)).count() * 3 >= n * 2
}

/// Paragraphs about commits in the project's contributor docs.
fn conventions(repo: &Repo) -> Option<String> {
    let mut out = String::new();
    for name in [
        "CONTRIBUTING.md",
        "AGENTS.md",
        ".github/CONTRIBUTING.md",
        "CONVENTIONS.md",
    ] {
        let Ok(text) = std::fs::read_to_string(repo.workdir().join(name)) else {
            continue;
        };
        for para in text.split("\n\n") {
            let lower = para.to_lowercase();
            if lower.contains("commit") && out.len() + para.len() < 1500 {
                out.push_str(para.trim());
                out.push_str("\n\n");
            }
        }
    }
    (!out.is_empty()).then(|| out.trim().to_string())
}

/// A one-line-per-file summary of the staged changes.
pub fn file_summary(files: &[FileDiff]) -> String {
    files
        .iter()
        .map(|f| match &f.from {
            Some(from) => format!(
                "{} {from} -> {} (+{} -{})\n",
                f.kind, f.path, f.added, f.removed
            ),
            None => format!("{} {} (+{} -{})\n", f.kind, f.path, f.added, f.removed),
        })
        .collect()
}

/// The diff text cut to `budget` characters: whole files while they fit, then
/// the first hunks of each remaining file in an even share of what is left.
fn fit_diff(files: &[FileDiff], budget: usize) -> (String, bool) {
    let render = |f: &FileDiff, max: usize| -> String {
        let mut s = format!("--- {}\n", f.path);
        if f.binary {
            s.push_str("(binary file)\n");
            return s;
        }
        for h in &f.hunks {
            let mut hs = format!("{}\n", h.header);
            for l in &h.lines {
                hs.push_str(l);
                hs.push('\n');
            }
            if s.len() + hs.len() > max {
                s.push_str("[… more changes in this file left out]\n");
                break;
            }
            s.push_str(&hs);
        }
        s
    };
    let full: String = files.iter().map(|f| render(f, usize::MAX)).collect();
    if full.len() <= budget {
        return (full, false);
    }
    let share = budget / files.len().max(1);
    let mut out: String = files.iter().map(|f| render(f, share)).collect();
    let mut cut = budget.min(out.len());
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    (out, true)
}

impl Repo {
    /// The prompt for the changes staged in `index`, the diff within `budget` characters.
    pub fn commit_prompt(
        &self,
        index: &git2::Index,
        budget: usize,
    ) -> Result<CommitPrompt, GitError> {
        self.commit_prompt_withholding(index, budget, &|_| false)
    }

    /// The commit prompt without the files `withhold` names (neither their
    /// names nor their diffs): what stays on this machine.
    pub fn commit_prompt_withholding(
        &self,
        index: &git2::Index,
        budget: usize,
        withhold: &dyn Fn(&str) -> bool,
    ) -> Result<CommitPrompt, GitError> {
        let mut files = super::diff::files(&self.diff_staged_with(index, None)?)?;
        let before = files.len();
        files.retain(|f| !withhold(&f.path));
        let withheld = before - files.len();
        let subjects = self.recent_subjects(RECENT)?;
        let conventional = uses_conventional_commits(&subjects);
        let mut system = String::from(
            "You write git commit messages. Reply with the commit message only, no preamble, no quotes, no code fences.\n\
             The first line is the subject: at most 72 characters, imperative mood (\"Add\", \"Fix\"), no period at the end.\n\
             Only when the change is large, add a blank line and a short body saying why.\n",
        );
        if conventional {
            system.push_str(
                "This repository uses Conventional Commits: start the subject with a type such as feat, fix, docs, refactor, test or chore, \
                 with an optional scope, e.g. `fix(parser): handle empty input`.\n",
            );
        }
        let mut user = String::new();
        match self.branch() {
            Some(b) => user.push_str(&format!("Branch: {b}\n")),
            None => user.push_str("Branch: (detached HEAD)\n"),
        }
        if !subjects.is_empty() {
            user.push_str("\nRecent commit subjects in this repository (follow their style):\n");
            for s in &subjects {
                user.push_str(&format!("- {s}\n"));
            }
        }
        if let Some(c) = conventions(self) {
            user.push_str(&format!("\nThe project's guidelines on commits:\n{c}\n"));
        }
        user.push_str(&format!("\nFiles changed:\n{}", file_summary(&files)));
        if withheld > 0 {
            user.push_str(&format!(
                "(and {withheld} more that stay on this machine)\n"
            ));
        }
        let room = budget
            .saturating_sub(user.len() + system.len() + 64)
            .max(256);
        let (diff, trimmed) = fit_diff(&files, room);
        user.push_str(&format!(
            "\nThe staged diff{}:\n{diff}\nWrite the commit message.\n",
            if trimmed { " (cut to fit)" } else { "" }
        ));
        Ok(CommitPrompt {
            system,
            user,
            conventional,
            trimmed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_conventional_commits() {
        let cc: Vec<String> = [
            "feat(ui): add help",
            "fix: crash on empty",
            "chore!: drop py2",
            "docs: typo",
            "Merge branch 'x'",
        ]
        .map(String::from)
        .to_vec();
        assert!(uses_conventional_commits(&cc));
        let plain: Vec<String> = ["Add help overlay", "Fix crash: empty input", "Bump version"]
            .map(String::from)
            .to_vec();
        assert!(!uses_conventional_commits(&plain));
        assert!(!uses_conventional_commits(&cc[..2]));
    }
}
