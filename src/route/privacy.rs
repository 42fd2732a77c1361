//! The privacy guard, always on before a cloud request: parts from files that
//! must never leave (`privacy.never_send`) are taken out and listed, and
//! secrets in what remains are replaced by placeholders and counted.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::secrets::redact;

use crate::config::PathRules;
use crate::context::{Context, PartKind};

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
