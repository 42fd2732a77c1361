//! The privacy guard, always on before a cloud request: parts from files that
//! must never leave (`privacy.never_send`) are taken out and listed, and
//! secrets in what remains are replaced by placeholders and counted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::config::PathRules;
use crate::context::{Context, PartKind};

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// Only the capture group 1 is secret (an assignment's value), and it must look random.
    value_only: bool,
}

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |kind, re: &str, value_only| Pattern { kind, re: Regex::new(re).expect("secret pattern"), value_only };
        vec![
            p("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|\z)", false),
            p("aws_access_key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", false),
            p("aws_secret_key", r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})"#, true),
            p("gcp_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b", false),
            p("azure_storage_key", r"(?i)AccountKey=([A-Za-z0-9+/=]{40,})", true),
            p("github_token", r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b", false),
            p("gitlab_token", r"\bglpat-[A-Za-z0-9_\-]{20,}\b", false),
            p("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", false),
            p("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b", false),
            p(
                "assigned_secret",
                r#"(?i)\b[a-z0-9_]*(password|passwd|pwd|secret|api_?key|apikey|token|access_?key|auth_?key|client_?secret)[a-z0-9_]*["']?\s*[:=]\s*["']?([^\s"'`,;)]{8,})"#,
                true,
            ),
        ]
    })
}

/// Bits per character: random keys are high, words and placeholders low.
fn entropy(s: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&c| c as f64 / n)
        .map(|p| -p * p.log2())
        .sum()
}

/// `text` with secrets replaced by `[REDACTED:kind]`, and the kinds found.
pub fn redact(text: &str) -> (String, Vec<&'static str>) {
    let mut out = text.to_string();
    let mut found = Vec::new();
    for p in patterns() {
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for caps in p.re.captures_iter(&out) {
            let m = if p.value_only {
                caps.get(caps.len() - 1)
            } else {
                caps.get(0)
            };
            let Some(m) = m else { continue };
            if p.value_only && p.kind == "assigned_secret" {
                let v = m.as_str();
                let code_like = v.contains('(')
                    || v.starts_with('$')
                    || v.starts_with('{')
                    || v.contains("env")
                    || v.starts_with("[REDACTED");
                let all_digits = v.chars().all(|c| c.is_ascii_digit());
                if entropy(v) < 3.0 || code_like || all_digits {
                    continue;
                }
            }
            if m.start() < last {
                continue;
            }
            result.push_str(&out[last..m.start()]);
            result.push_str(&format!("[REDACTED:{}]", p.kind));
            last = m.end();
            found.push(p.kind);
        }
        result.push_str(&out[last..]);
        out = result;
    }
    (out, found)
}

/// What the guard did to a context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrivacyReport {
    /// Files left out, with the glob that matched.
    pub left_out: Vec<(String, String)>,
    /// Secrets replaced, by kind.
    pub redactions: BTreeMap<String, usize>,
}

impl PrivacyReport {
    pub fn redaction_count(&self) -> usize {
        self.redactions.values().sum()
    }
}

/// Take never-send files out of `ctx` and redact secrets in everything else.
pub fn guard(ctx: &mut Context, never_send: &PathRules) -> PrivacyReport {
    let mut report = PrivacyReport::default();
    ctx.parts.retain(|p| {
        match p
            .path
            .as_deref()
            .and_then(|path| never_send.matching(Path::new(path)).map(|g| (path, g)))
        {
            Some((path, glob)) if p.kind != PartKind::System => {
                if !report.left_out.iter().any(|(lp, _)| lp == path) {
                    report.left_out.push((path.to_string(), glob.to_string()));
                }
                false
            }
            _ => true,
        }
    });
    let mut count = |kinds: Vec<&'static str>| {
        for k in kinds {
            *report.redactions.entry(k.to_string()).or_default() += 1;
        }
    };
    for p in &mut ctx.parts {
        let (text, kinds) = redact(&p.text);
        p.text = text;
        count(kinds);
    }
    let (q, kinds) = redact(&ctx.question);
    ctx.question = q;
    count(kinds);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_usual_secrets_and_leaves_code_alone() {
        let text = "\
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789
gl = \"glpat-abcdefghijklmnopqrst\"
slack: xoxb-123456789012-abcdefghijkl
jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U
DB_PASSWORD = \"Xk9#mQ2$vL8pR4wZ\"
password = os.environ[\"PASSWORD\"]
api_key = get_key()
token_count = 12345678
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA
-----END RSA PRIVATE KEY-----
gcp = AIzaSyA1234567890abcdefghijklmnopqrstuv
";
        let (out, kinds) = redact(text);
        for secret in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI",
            "ghp_abc",
            "glpat-",
            "xoxb-",
            "eyJhbGci",
            "Xk9#mQ2",
            "MIIEpAIB",
            "AIzaSyA",
        ] {
            assert!(!out.contains(secret), "{secret} left in:\n{out}");
        }
        assert!(
            out.contains("os.environ[\"PASSWORD\"]")
                && out.contains("get_key()")
                && out.contains("token_count = 12345678"),
            "{out}"
        );
        assert_eq!(kinds.len(), 9, "{kinds:?}\n{out}");
    }
}
