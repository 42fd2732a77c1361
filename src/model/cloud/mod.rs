//! Cloud models behind the same `ChatModel` interface: OpenAI-compatible
//! chat completions, Anthropic Messages and Gemini, all streamed over SSE,
//! with bounded retries, timeouts, and errors that say what to do. Keys come
//! from the environment (or a command) and never appear in logs or errors.

mod sse;
mod wire;

use std::io::Read as _;
use std::time::Duration;

pub use sse::{SseEvent, SseParser};
pub use wire::{Delta, Inline, WireRequest, inline_media, interpret, request};

use super::chat::{ChatModel, ChatRequest, ModelError, Placement};
use super::tools::ToolUse;
use super::{Cancel, Event, GenStats};
use crate::config::ProviderSettings;
use crate::tokens::{EstimateCounter, TokenCounter};

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("no API key for provider {provider}: set the environment variable {var}")]
    NoKey { provider: String, var: String },
    #[error("the key command of provider {provider} failed: {message}")]
    KeyCommand { provider: String, message: String },
    #[error("{provider} refused the key (HTTP {status}); check the key in {source_of_key}")]
    Auth {
        provider: String,
        status: u16,
        source_of_key: String,
    },
    #[error("{provider} has no model {model} (HTTP 404); check `model` in [providers.{provider}]")]
    NoModel { provider: String, model: String },
    #[error(
        "{provider} is still rate limiting (HTTP 429) after {retries} retries; try again later"
    )]
    RateLimited { provider: String, retries: u32 },
    #[error("{provider} failed with HTTP {status} after {retries} retries: {body}")]
    Server {
        provider: String,
        status: u16,
        retries: u32,
        body: String,
    },
    #[error("{provider} answered HTTP {status}: {body}")]
    Http {
        provider: String,
        status: u16,
        body: String,
    },
    #[error(
        "cannot reach {url}: {message} (no network?); locus keeps working with the local model"
    )]
    Network { url: String, message: String },
    #[error("{provider} did not answer within {secs} s")]
    Timeout { provider: String, secs: u64 },
    #[error("{provider} reported an error: {message}")]
    Stream { provider: String, message: String },
    #[error(transparent)]
    Attachment(#[from] crate::model::local::vision::MediaError),
}

/// Tool calls gathered from a stream: pieces by index, whole calls in order.
#[derive(Default)]
struct CallPieces {
    parts: std::collections::BTreeMap<usize, (Option<String>, String, String)>,
    whole: Vec<(String, serde_json::Value)>,
}

impl CallPieces {
    fn part(&mut self, index: usize, id: Option<String>, name: Option<String>, args: &str) {
        let e = self.parts.entry(index).or_default();
        if id.is_some() {
            e.0 = id;
        }
        if let Some(n) = name {
            e.1.push_str(&n);
        }
        e.2.push_str(args);
    }

    fn whole(&mut self, name: String, arguments: serde_json::Value) {
        self.whole.push((name, arguments));
    }

    /// The calls as events, once the stream is over: arguments that are not
    /// a JSON object make a `BadToolCall` the loop answers with an error.
    fn events(self) -> Vec<Event> {
        let mut out = Vec::new();
        let mut n = 0;
        let mut id = |given: Option<String>| {
            n += 1;
            given.unwrap_or_else(|| crate::model::tools::call_id(n))
        };
        for (_, (given, name, args)) in self.parts {
            let args = if args.trim().is_empty() {
                "{}"
            } else {
                args.as_str()
            };
            match serde_json::from_str::<serde_json::Value>(args) {
                Ok(v) if v.is_object() && !name.is_empty() => out.push(Event::ToolCall(ToolUse {
                    id: id(given),
                    name,
                    arguments: v,
                })),
                _ => out.push(Event::BadToolCall {
                    text: format!("{name}({args})"),
                    reason: format!("the arguments of the call to `{name}` are not a JSON object"),
                }),
            }
        }
        for (name, arguments) in self.whole {
            out.push(Event::ToolCall(ToolUse {
                id: id(None),
                name,
                arguments,
            }));
        }
        out
    }
}

/// A configured provider, ready to stream.
pub struct CloudModel {
    pub name: String,
    pub settings: ProviderSettings,
    key: Option<String>,
    agent: ureq::Agent,
}

/// TLS checked against the platform's certificate store (the OS's roots,
/// with the CAs a company adds), not a bundled list.
pub fn platform_tls() -> ureq::tls::TlsConfig {
    ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build()
}

/// The key a provider's settings point to.
pub fn resolve_key(name: &str, p: &ProviderSettings) -> Result<Option<String>, CloudError> {
    if let Some(var) = &p.api_key_env {
        return match std::env::var(var) {
            Ok(k) if !k.trim().is_empty() => Ok(Some(k.trim().to_string())),
            _ => Err(CloudError::NoKey {
                provider: name.into(),
                var: var.clone(),
            }),
        };
    }
    if let Some(cmd) = &p.api_key_cmd {
        #[cfg(windows)]
        let mut command = std::process::Command::new("cmd");
        #[cfg(windows)]
        command.args(["/C", cmd]);
        #[cfg(not(windows))]
        let mut command = std::process::Command::new("sh");
        #[cfg(not(windows))]
        command.args(["-c", cmd]);
        let out = command.output().map_err(|e| CloudError::KeyCommand {
            provider: name.into(),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(CloudError::KeyCommand {
                provider: name.into(),
                message: format!("exit status {}", out.status),
            });
        }
        let k = String::from_utf8_lossy(&out.stdout).trim().to_string();
        return Ok((!k.is_empty()).then_some(k));
    }
    Ok(None)
}

impl CloudModel {
    pub fn new(name: &str, settings: ProviderSettings) -> Result<CloudModel, CloudError> {
        let key = resolve_key(name, &settings)?;
        let idle = Duration::from_secs(settings.idle_timeout_s.max(1));
        let agent = ureq::Agent::config_builder()
            .tls_config(platform_tls())
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(settings.connect_timeout_s.max(1))))
            .timeout_recv_response(Some(idle))
            .timeout_per_read(Some(idle))
            .build()
            .new_agent();
        Ok(CloudModel {
            name: name.into(),
            settings,
            key,
            agent,
        })
    }

    /// Text with the key replaced, for anything shown or logged.
    fn scrub(&self, s: &str) -> String {
        let s: String = s.chars().take(500).collect();
        match &self.key {
            Some(k) if !k.is_empty() => s.replace(k.as_str(), "***"),
            _ => s,
        }
    }

    fn key_source(&self) -> String {
        match (&self.settings.api_key_env, &self.settings.api_key_cmd) {
            (Some(v), _) => format!("${v}"),
            (None, Some(_)) => "the output of api_key_cmd".into(),
            _ => "the provider's settings (no api_key_env is set)".into(),
        }
    }

    fn map_transport(&self, url: &str, e: ureq::Error) -> CloudError {
        match e {
            ureq::Error::Timeout(_) => CloudError::Timeout {
                provider: self.name.clone(),
                secs: self.settings.idle_timeout_s,
            },
            other => CloudError::Network {
                url: url.to_string(),
                message: self.scrub(&other.to_string()),
            },
        }
    }

    fn stream(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), CloudError> {
        let media = wire::inline_media(req.messages)?;
        let wr = request(
            &self.settings,
            req.messages,
            &media,
            req.tools,
            req.max_tokens,
            req.temperature,
            self.key.as_deref(),
        );
        let body = serde_json::to_vec(&wr.body).expect("json");
        let provider = self.name.clone();
        let retries = self.settings.max_retries;
        let mut attempt = 0;
        let mut resp = loop {
            let mut r = self.agent.post(&wr.url);
            for (k, v) in &wr.headers {
                r = r.header(k, v);
            }
            let mut resp = r
                .send(&body[..])
                .map_err(|e| self.map_transport(&wr.url, e))?;
            let status = resp.status().as_u16();
            if status == 200 {
                break resp;
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let text = self.scrub(&resp.body_mut().read_to_string().unwrap_or_default());
            match status {
                401 | 403 => {
                    return Err(CloudError::Auth {
                        provider,
                        status,
                        source_of_key: self.key_source(),
                    });
                }
                404 => {
                    return Err(CloudError::NoModel {
                        provider,
                        model: self.settings.model.clone(),
                    });
                }
                429 | 500..=599 if attempt < retries => {
                    let wait = retry_after
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_millis(500 << attempt))
                        .min(Duration::from_secs(60));
                    tracing::info!(provider = %provider, status, ?wait, "retrying");
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                429 => return Err(CloudError::RateLimited { provider, retries }),
                500..=599 => {
                    return Err(CloudError::Server {
                        provider,
                        status,
                        retries,
                        body: text,
                    });
                }
                _ => {
                    return Err(CloudError::Http {
                        provider,
                        status,
                        body: text,
                    });
                }
            }
        };
        let started = std::time::Instant::now();
        let mut parser = SseParser::new();
        let mut reader = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 8192];
        let mut stats = GenStats {
            finish: "cut".into(),
            ..GenStats::default()
        };
        let mut got_text = false;
        let mut done = false;
        let mut first_token_ms = None;
        let mut calls = CallPieces::default();
        let mut handle = |deltas: Vec<Delta>,
                          stats: &mut GenStats,
                          done: &mut bool,
                          got_text: &mut bool|
         -> Result<(), CloudError> {
            for d in deltas {
                match d {
                    Delta::Text(t) => {
                        *got_text = true;
                        first_token_ms.get_or_insert(started.elapsed().as_secs_f64() * 1000.0);
                        stats.generated_tokens += 1;
                        emit(Event::Text(t));
                    }
                    Delta::Usage { input, output } => {
                        if let Some(i) = input {
                            stats.prompt_tokens = i;
                        }
                        if let Some(o) = output {
                            stats.generated_tokens = o;
                        }
                    }
                    Delta::ToolPart {
                        index,
                        id,
                        name,
                        args,
                    } => {
                        *got_text = true;
                        calls.part(index, id, name, &args);
                    }
                    Delta::ToolCall { name, arguments } => {
                        *got_text = true;
                        calls.whole(name, arguments);
                    }
                    Delta::Done => *done = true,
                    Delta::Error(m) => {
                        return Err(CloudError::Stream {
                            provider: self.name.clone(),
                            message: self.scrub(&m),
                        });
                    }
                }
            }
            Ok(())
        };
        loop {
            if cancel.is_cancelled() {
                stats.finish = "cancelled".into();
                break;
            }
            match reader.read(&mut buf) {
                Ok(0) => {
                    let tail: Vec<Delta> = parser
                        .finish()
                        .map(|e| interpret(self.settings.kind, &e))
                        .unwrap_or_default();
                    handle(tail, &mut stats, &mut done, &mut got_text)?;
                    break;
                }
                Ok(n) => {
                    let deltas: Vec<Delta> = parser
                        .feed(&buf[..n])
                        .iter()
                        .flat_map(|e| interpret(self.settings.kind, e))
                        .collect();
                    handle(deltas, &mut stats, &mut done, &mut got_text)?;
                }
                Err(e) => {
                    if !got_text {
                        return Err(
                            if e.kind() == std::io::ErrorKind::TimedOut
                                || e.to_string().contains("time")
                            {
                                CloudError::Timeout {
                                    provider: self.name.clone(),
                                    secs: self.settings.idle_timeout_s,
                                }
                            } else {
                                CloudError::Network {
                                    url: wr.url.clone(),
                                    message: self.scrub(&e.to_string()),
                                }
                            },
                        );
                    }
                    tracing::warn!(provider = %self.name, error = %self.scrub(&e.to_string()), "stream cut");
                    break;
                }
            }
        }
        if done && stats.finish != "cancelled" {
            stats.finish = "stop".into();
        }
        if stats.finish != "cancelled" {
            for mut e in calls.events() {
                // Back from the name the API accepted to the tool's own.
                if let Event::ToolCall(c) = &mut e
                    && let Some(t) = req
                        .tools
                        .iter()
                        .find(|t| wire::wire_name(&t.name) == c.name)
                {
                    c.name = t.name.clone();
                }
                emit(e);
            }
        }
        if stats.prompt_tokens == 0 {
            // Servers that send no usage: our own count of what was sent.
            stats.prompt_tokens = self.prompt_tokens(req.messages);
        }
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        stats.ttft_ms = first_token_ms.unwrap_or(0.0);
        stats.decode_tokens_per_s = stats.generated_tokens as f64 / secs;
        emit(Event::Done(stats));
        Ok(())
    }
}

impl ChatModel for CloudModel {
    fn placement(&self) -> Placement {
        if self.settings.is_local() {
            return Placement::Local {
                model: format!("{} ({})", self.settings.model, self.name),
            };
        }
        Placement::Cloud {
            provider: self.name.clone(),
            model: self.settings.model.clone(),
        }
    }

    fn window(&self) -> usize {
        self.settings.window
    }

    fn counter(&self) -> &dyn TokenCounter {
        &EstimateCounter
    }

    fn max_output(&self) -> Option<usize> {
        Some(self.settings.max_output_tokens)
    }

    /// Every provider's API has tool calling of its own.
    fn native_tools(&self) -> bool {
        true
    }

    fn chat(
        &self,
        req: &ChatRequest<'_>,
        cancel: &Cancel,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        self.stream(req, cancel, emit).map_err(ModelError::from)
    }
}
