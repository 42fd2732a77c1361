//! Secrets in text bound for a cloud model, found by pattern (as wide as
//! gitleaks' default rules for the common services) and replaced by
//! `[REDACTED:kind]`. A key-shaped token is redacted wherever it stands; a
//! value assigned to a secret-sounding name only when it looks random.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

/// The text every redaction starts with; an edit that carries it back is refused.
pub const PLACEHOLDER_PREFIX: &str = "[REDACTED:";

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// Only the last capture group is secret (an assigned value, a password).
    value_only: bool,
    /// The value must also look random (assignments to secret-sounding names).
    random: bool,
}

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |kind, re: &str, value_only, random| Pattern {
            kind,
            re: Regex::new(re).expect("secret pattern"),
            value_only,
            random,
        };
        vec![
            p("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|\z)", false, false),
            p("gcp_service_account", r#""private_key_id"\s*:\s*"([0-9a-f]{32,})""#, true, false),
            p("anthropic_key", r"\bsk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{20,}", false, false),
            p("openai_key", r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|\bsk-[A-Za-z0-9]{32,}\b", false, false),
            p("huggingface_token", r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,}\b", false, false),
            p("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b", false, false),
            p("gitlab_token", r"\bgl(?:pat|dt|ptt|rt|cbt|oas|ft|imt|soat|ffct|agent)-[A-Za-z0-9_\-]{20,}", false, false),
            p("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}", false, false),
            p("slack_token", r"\bxox[abposrec]-[A-Za-z0-9-]{10,}|\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", false, false),
            p("discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]{20,}", false, false),
            p("stripe_key", r"\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}", false, false),
            p("sendgrid_key", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", false, false),
            p("twilio_key", r"\bSK[0-9a-fA-F]{32}\b", false, false),
            p("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", false, false),
            p("pypi_token", r"\bpypi-[A-Za-z0-9_\-]{50,}", false, false),
            p("npmrc_auth", r#"(?m)(?:^|[\s:/])_auth(?:Token)?\s*=\s*["']?([^\s"']{8,})"#, true, false),
            p("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", false, false),
            p("aws_secret_key", r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})"#, true, false),
            p("gcp_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b", false, false),
            p("azure_storage_key", r"(?i)(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/=]{20,})", true, false),
            p("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", false, false),
            p("url_password", r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/\[\]]*:([^\s@/\[\]]+)@[^\s@]", true, false),
            p(
                "assigned_secret",
                r#"(?i)\b[a-z0-9_.\-]*(?:password|passwd|pwd|pass|secret|api_?key|apikey|token|access_?key|auth_?key|private_?key|credentials?)[a-z0-9_]*["']?\s*[:=]\s*(["']?)([^\s"'`,;)]{8,})"#,
                true,
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

/// Whether an assigned value reads as code rather than a literal secret:
/// a call, a variable, a template, an attribute path, a number.
fn code_like(v: &str) -> bool {
    static ATTR: OnceLock<Regex> = OnceLock::new();
    let attr = ATTR.get_or_init(|| {
        Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$").expect("attr")
    });
    v.contains('(')
        || v.starts_with('$')
        || v.starts_with('{')
        || v.starts_with('<')
        || v.starts_with('%')
        || v.to_ascii_lowercase().contains("env")
        || v.starts_with(PLACEHOLDER_PREFIX)
        || v.chars().all(|c| c.is_ascii_digit())
        || attr.is_match(v)
}

/// Whether `v`, assigned to a secret-sounding name, looks like a real
/// secret: a literal of the characters keys and passwords are made of (no
/// brackets, calls or type syntax) whose letters do not spell words. A
/// quoted string with letters and digits is taken as one; unquoted, a value
/// must look random (no run of letters longer than 5, letters and digits
/// interleaved), since `name: Type` and `NAME = OTHER_NAME` are code.
/// Measured on CPython's stdlib (0 redactions in 307k lines) and the cargo
/// registry's crates (5.2M lines: type annotations, bindgen and windows-sys
/// names no longer taken for secrets).
fn looks_secret(v: &str, quoted: bool) -> bool {
    if code_like(v) {
        return false;
    }
    let literal = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=_-.~!@#$%^&*".contains(c));
    if !literal {
        return false;
    }
    let digits = v.chars().any(|c| c.is_ascii_digit());
    let letters = v.chars().any(|c| c.is_ascii_alphabetic());
    if quoted {
        return (digits && letters && entropy(v) >= 2.5) || (v.len() >= 24 && entropy(v) >= 4.0);
    }
    // Letters and digits interleaved (`Xk9mQ2vL8p`), not a name with a
    // number in it (`_bindgen_ty_5`, `D3D11_STENCIL_OP`).
    let alternations = v
        .as_bytes()
        .windows(2)
        .filter(|w| {
            w.iter().all(u8::is_ascii_alphanumeric)
                && w[0].is_ascii_digit() != w[1].is_ascii_digit()
        })
        .count();
    alternations >= 3 && longest_word(v) <= 5 && entropy(v) >= 2.5
}

/// The longest run of letters that reads as one word: split at digits,
/// punctuation and a lowercase-to-uppercase step (`CertificateTemplate`).
fn longest_word(v: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev_lower = false;
    for c in v.chars() {
        if c.is_ascii_alphabetic() {
            if c.is_ascii_uppercase() && prev_lower {
                run = 0;
            }
            run += 1;
            best = best.max(run);
            prev_lower = c.is_ascii_lowercase();
        } else {
            run = 0;
            prev_lower = false;
        }
    }
    best
}

/// `text` with secrets replaced by `[REDACTED:kind]`, and the kinds found.
pub fn redact(text: &str) -> (String, Vec<&'static str>) {
    let mut out = text.to_string();
    let mut found = Vec::new();
    for p in patterns() {
        if !p.re.is_match(&out) {
            continue;
        }
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for caps in p.re.captures_iter(&out) {
            let m = if p.value_only {
                caps.get(caps.len() - 1)
            } else {
                caps.get(0)
            };
            let Some(m) = m else { continue };
            if m.as_str().starts_with(PLACEHOLDER_PREFIX) || m.start() < last {
                continue;
            }
            // The group before the value holds its opening quote, if any.
            if p.random {
                let quoted = caps
                    .get(caps.len().saturating_sub(2))
                    .is_some_and(|q| q.as_str() == "\"" || q.as_str() == "'");
                if !looks_secret(m.as_str(), quoted) {
                    continue;
                }
            }
            // A template (`${TOKEN}`, `<your key>`) names a secret, it is not one.
            if p.value_only && m.as_str().starts_with(['$', '<', '{', '*']) {
                continue;
            }
            result.push_str(&out[last..m.start()]);
            result.push_str(&format!("{PLACEHOLDER_PREFIX}{}]", p.kind));
            last = m.end();
            found.push(p.kind);
        }
        result.push_str(&out[last..]);
        out = result;
    }
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per kind: text holding such a secret (the secret part second), and
    /// text that looks close but holds none.
    const CASES: &[(&str, &str, &str, &str)] = &[
        (
            "private_key",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEpAIB",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----",
        ),
        (
            "gcp_service_account",
            r#"{"type": "service_account", "private_key_id": "3f2a9c0b1d4e5f60718293a4b5c6d7e8f9012345"}"#,
            "3f2a9c0b1d4e",
            r#"{"type": "service_account", "project_id": "my-project"}"#,
        ),
        (
            "anthropic_key",
            "key = sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdEFGH",
            "sk-ant-api03-AbCd",
            "the sk-ant prefix names Anthropic keys",
        ),
        (
            "openai_key",
            "client = OpenAI(api_key=\"sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90\")",
            "sk-proj-Ab12",
            "import sklearn; x = 'sk-learn-is-a-package'",
        ),
        (
            "openai_key",
            "OPENAI = sk-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst",
            "T3BlbkFJ",
            "ask-for-help",
        ),
        (
            "huggingface_token",
            "HF = \"hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567\"",
            "hf_AbCd",
            "def hf_download(repo): pass",
        ),
        (
            "github_token",
            "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abc",
            "gh_pages = True",
        ),
        (
            "github_token",
            "t = github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github_pat_11",
            "github_path = 'x'",
        ),
        (
            "gitlab_token",
            "gl = \"glpat-abcdefghijklmnopqrst\"",
            "glpat-",
            "glpattern = 1",
        ),
        (
            "slack_token",
            "slack: xoxb-123456789012-abcdefghijkl",
            "xoxb-",
            "xox is a word",
        ),
        (
            "slack_webhook",
            "url = https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "T00000000/B0",
            "see https://api.slack.com/messaging/webhooks",
        ),
        (
            "discord_webhook",
            "h = https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyzABCDEF",
            "abcdefghijklmnopqrstuvwxyzABCDEF",
            "https://discord.com/developers/docs",
        ),
        (
            "stripe_key",
            "PAYMENTS = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'",
            "sk_live_4eC3",
            "mode = 'sk_live' if prod else 'sk_test'",
        ),
        (
            "stripe_key",
            "restricted = rk_live_51H8abcdEFGHijklMNOP",
            "rk_live_51H8",
            "pk_live_51H8abcdEFGHijklMNOP is publishable",
        ),
        (
            "sendgrid_key",
            "SENDGRID = \"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\"",
            "SG.ngeV",
            "SG.title = 'x'",
        ),
        (
            "twilio_key",
            "TWILIO_API = SK2a3b4c5d6e7f8091a2b3c4d5e6f70819",
            "SK2a3b",
            "SKIP_TESTS = 1",
        ),
        (
            "npm_token",
            "token npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "npm_abcdef",
            "npm_config_cache = /tmp",
        ),
        (
            "npmrc_auth",
            "//registry.npmjs.org/:_authToken=9f8e7d6c-5b4a-3210-fedc-ba9876543210",
            "9f8e7d6c",
            "_authToken=${NPM_TOKEN}",
        ),
        (
            "pypi_token",
            "password = pypi-AgEIcHlwaS5vcmcCJGE0ZTk2YjE2LTBmNDQtNGY0Yy04YjA2LTM0ZjVmN2NkZWQ4ZgACKlsz",
            "pypi-AgEI",
            "pypi-upload is a job name",
        ),
        (
            "aws_access_key",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7",
            "AKIA is the prefix",
        ),
        (
            "aws_secret_key",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI",
            "aws_secret_access_key = os.environ['AWS']",
        ),
        (
            "gcp_api_key",
            "gcp = AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "AIzaSyA",
            "AIza is how they start",
        ),
        (
            "azure_storage_key",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;",
            "Eby8vdM02x",
            "AccountKey=<your key>",
        ),
        (
            "jwt",
            "jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGci",
            "eyJ is base64 for {\"",
        ),
        (
            "url_password",
            "DATABASE_URL=postgres://admin:Sup3rS3cretPw@db.internal:5432/prod",
            "Sup3rS3cretPw",
            "DATABASE_URL=postgres://db.internal:5432/prod",
        ),
        (
            "url_password",
            "REDIS = \"redis://:hunter2pass@cache:6379/0\"",
            "hunter2pass",
            "redis://cache:6379/0",
        ),
        (
            "url_password",
            "mysql://root:toor1234@localhost/app",
            "toor1234",
            "mysql://${USER}:${PASS}@localhost/app",
        ),
        (
            "assigned_secret",
            "DB_PASS=Xk9mQ2vL8pR4wZ",
            "Xk9mQ2vL8p",
            "DB_PASS = settings.database.password",
        ),
        (
            "assigned_secret",
            "DB_PASSWORD = \"Xk9#mQ2$vL8pR4wZ\"",
            "Xk9#mQ2",
            "password = os.environ[\"PASSWORD\"]",
        ),
        (
            "assigned_secret",
            "client_secret: 8f14e45fceea167a5a36dedd4bea2543",
            "8f14e45f",
            "token_count = 12345678",
        ),
    ];

    #[test]
    fn every_pattern_finds_its_secret_and_leaves_lookalikes() {
        for (kind, positive, secret, negative) in CASES {
            let (out, kinds) = redact(positive);
            assert!(
                !out.contains(secret),
                "{kind}: {secret} left in: {out} ({kinds:?})"
            );
            assert!(
                kinds.contains(kind),
                "{kind}: found {kinds:?} instead in {out}"
            );
            let (out, kinds) = redact(negative);
            assert_eq!(&out, negative, "{kind}: changed {negative} ({kinds:?})");
        }
    }

    #[test]
    fn redaction_is_idempotent_and_placeholders_are_not_secrets() {
        let text = "a = sk_live_4eC39HqLyjWDarjtT1zdp7dc\nurl = postgres://u:Sup3rS3cret@h/db\n";
        let (once, n) = redact(text);
        assert_eq!(n.len(), 2, "{once}");
        let (twice, m) = redact(&once);
        assert_eq!(once, twice);
        assert!(m.is_empty(), "{m:?}");
    }
}
