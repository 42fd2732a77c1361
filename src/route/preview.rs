//! What would leave the machine, shown before anything does: every part with
//! its file and tokens, what the privacy guard left out or redacted, the
//! total and the estimated cost.

use serde::Serialize;

use super::privacy::PrivacyReport;
use crate::config::ProviderSettings;
use crate::context::{Context, Part};
use crate::model::attach::Attachment;

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub provider: String,
    pub model: String,
    pub url: String,
    pub parts: Vec<Part>,
    pub left_out: Vec<(String, String)>,
    pub redactions: usize,
    pub total_tokens: usize,
    pub max_output_tokens: usize,
    /// US dollars: the prompt plus an answer of `max_output_tokens` at most.
    pub cost_estimate_usd: f64,
    /// The provider's prices (US dollars per million tokens), for
    /// re-estimating after a trim.
    pub price_in_per_mtok: f64,
    pub price_out_per_mtok: f64,
    /// Every file whose content or signatures the task may send (the
    /// context's, and those of earlier turns to be summarised): what
    /// approving it allows.
    pub files: Vec<String>,
    /// Requests the task may make at most (a summary, the answer, a retry).
    pub requests: usize,
    /// Images sent with the question: each file whole, as it is now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Preview {
    pub fn new(
        provider: &str,
        p: &ProviderSettings,
        ctx: &Context,
        privacy: &PrivacyReport,
        max_output_tokens: usize,
    ) -> Preview {
        let cost = ctx.total_tokens as f64 * p.price_in_per_mtok / 1e6
            + max_output_tokens as f64 * p.price_out_per_mtok / 1e6;
        Preview {
            provider: provider.into(),
            model: p.model.clone(),
            url: p.base(),
            parts: ctx.parts.clone(),
            left_out: privacy.left_out.clone(),
            redactions: privacy.redaction_count(),
            total_tokens: ctx.total_tokens,
            max_output_tokens,
            cost_estimate_usd: cost,
            price_in_per_mtok: p.price_in_per_mtok,
            price_out_per_mtok: p.price_out_per_mtok,
            files: ctx.files(),
            requests: 1,
            attachments: ctx.attachments.clone(),
        }
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "About to send to {} ({}) at {}:\n",
            self.provider, self.model, self.url
        );
        for p in &self.parts {
            let what = match (&p.path, p.lines) {
                (Some(path), Some([a, b])) => format!("{:?} {path}:{a}-{b}", p.kind),
                (Some(path), None) => format!("{:?} {path}", p.kind),
                _ => format!("{:?}", p.kind),
            };
            s.push_str(&format!("  {what:<60} {:>7} tokens\n", p.tokens));
        }
        for a in &self.attachments {
            s.push_str(&format!("  attached {}\n", a.describe()));
        }
        for (path, why) in &self.left_out {
            // The guard names the glob; others say why in words.
            let why = if why.contains(' ') {
                why.clone()
            } else {
                format!("matches never_send `{why}`")
            };
            s.push_str(&format!("  left out: {path} ({why})\n"));
        }
        s.push_str(&format!("  secrets redacted: {}\n", self.redactions));
        s.push_str(&format!(
            "  total {} tokens in, up to {} out; estimated cost ${:.4}\n",
            self.total_tokens, self.max_output_tokens, self.cost_estimate_usd
        ));
        s.push_str(&format!(
            "  approving sends this task: up to {} request{}, with these files: {}\n",
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            if self.files.is_empty() {
                "none".to_string()
            } else {
                self.files.join(", ")
            }
        ));
        s
    }
}
