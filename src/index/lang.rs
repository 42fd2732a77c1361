//! The languages locus parses: how a file is recognised, which grammar parses
//! it and which tags query reads it.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Bash,
}

impl Lang {
    pub const ALL: [Lang; 13] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::C,
        Lang::Cpp,
        Lang::CSharp,
        Lang::Ruby,
        Lang::Php,
        Lang::Bash,
    ];

    /// The folder name under queries/ and the name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::CSharp => "c_sharp",
            Lang::Ruby => "ruby",
            Lang::Php => "php",
            Lang::Bash => "bash",
        }
    }

    /// The tree-sitter grammar, linked statically.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Lang::Php => tree_sitter_php::LANGUAGE_PHP.into(),
            Lang::Bash => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// The asset path of this language's tags query.
    pub fn tags_query_path(self) -> String {
        format!("queries/{}/tags.scm", self.name())
    }

    /// Recognise a file by its extension, or by its shebang for scripts without one.
    pub fn detect(path: &Path, head: &[u8]) -> Option<Lang> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let by_ext = match ext.as_deref() {
            Some("rs") => Some(Lang::Rust),
            Some("py" | "pyi" | "pyw") => Some(Lang::Python),
            Some("js" | "mjs" | "cjs" | "jsx") => Some(Lang::JavaScript),
            Some("ts" | "mts" | "cts") => Some(Lang::TypeScript),
            Some("tsx") => Some(Lang::Tsx),
            Some("go") => Some(Lang::Go),
            Some("java") => Some(Lang::Java),
            Some("c") => Some(Lang::C),
            // A .h is C++ only if it says so; C is the safer parse for most headers.
            Some("h") => Some(if looks_like_cpp(head) {
                Lang::Cpp
            } else {
                Lang::C
            }),
            Some("cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "tpp") => {
                Some(Lang::Cpp)
            }
            Some("cs") => Some(Lang::CSharp),
            Some("rb" | "rake" | "gemspec" | "ru") => Some(Lang::Ruby),
            Some("php" | "phtml" | "php5" | "php7" | "phps") => Some(Lang::Php),
            Some("sh" | "bash" | "zsh" | "ksh") => Some(Lang::Bash),
            _ => None,
        };
        if by_ext.is_some() {
            return by_ext;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match name {
            "Rakefile" | "Gemfile" | "Guardfile" | "Vagrantfile" => return Some(Lang::Ruby),
            ".bashrc" | ".bash_profile" | ".profile" | ".zshrc" => return Some(Lang::Bash),
            _ => {}
        }
        if ext.is_some() {
            return None;
        }
        let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let first = std::str::from_utf8(first).ok()?;
        let interp = first.strip_prefix("#!")?;
        let words: Vec<&str> = interp.split_whitespace().collect();
        let prog = match words.as_slice() {
            [env, prog, ..] if env.ends_with("/env") => *prog,
            [prog, ..] => prog.rsplit('/').next().unwrap_or(prog),
            [] => return None,
        };
        match prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.') {
            "sh" | "bash" | "zsh" | "ksh" | "dash" => Some(Lang::Bash),
            "python" => Some(Lang::Python),
            "ruby" => Some(Lang::Ruby),
            "node" => Some(Lang::JavaScript),
            "php" => Some(Lang::Php),
            _ => None,
        }
    }
}

fn looks_like_cpp(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    [
        "namespace ",
        "class ",
        "template<",
        "template <",
        "std::",
        "public:",
        "private:",
        "#include <iostream>",
    ]
    .iter()
    .any(|k| text.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_shebang() {
        assert_eq!(Lang::detect(Path::new("a/b.rs"), b""), Some(Lang::Rust));
        assert_eq!(Lang::detect(Path::new("x.TSX"), b""), Some(Lang::Tsx));
        assert_eq!(
            Lang::detect(Path::new("x.h"), b"int f(void);"),
            Some(Lang::C)
        );
        assert_eq!(
            Lang::detect(Path::new("x.h"), b"namespace a {}"),
            Some(Lang::Cpp)
        );
        assert_eq!(
            Lang::detect(Path::new("bin/tool"), b"#!/usr/bin/env python3\n"),
            Some(Lang::Python)
        );
        assert_eq!(
            Lang::detect(Path::new("bin/run"), b"#!/bin/bash\nset -e"),
            Some(Lang::Bash)
        );
        assert_eq!(Lang::detect(Path::new("README.md"), b"#!/bin/bash"), None);
        assert_eq!(Lang::detect(Path::new("Rakefile"), b""), Some(Lang::Ruby));
    }
}
