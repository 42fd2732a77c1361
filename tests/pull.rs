//! `locus models pull` against a loopback server that answers the way the
//! Hugging Face Hub does: the repo API, a `resolve` URL that redirects to a CDN
//! with the file's sha256 in `X-Linked-Etag`, range requests, and tokens.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::util::{Sandbox, stderr, stdout};

#[derive(Default)]
struct Seen {
    requests: Vec<(String, Headers)>,
}

pub struct Hub {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

pub struct Behaviour {
    pub file: Vec<u8>,
    /// Cut the first full (non-range) download after this many bytes.
    pub cut_first_at: Option<usize>,
    /// Advertise this sha256 instead of the real one.
    pub wrong_sha: bool,
    /// Require this bearer token.
    pub token: Option<String>,
}

type Headers = Vec<(String, String)>;

/// Method, path and (lower-cased) headers of one request.
fn read_request(stream: &mut TcpStream) -> Option<(String, String, Headers)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Some((method, path, headers))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(b"\r\n");
    let _ = stream.write_all(body);
}

impl Hub {
    pub fn start(b: Behaviour) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        let sha: String = if b.wrong_sha {
            "0".repeat(64)
        } else {
            Sha256::digest(&b.file)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        std::thread::spawn(move || {
            let mut full_gets = 0;
            for stream in listener.incoming().take(40) {
                let Ok(mut s) = stream else { continue };
                let Some((method, path, headers)) = read_request(&mut s) else {
                    continue;
                };
                seen2
                    .lock()
                    .unwrap()
                    .requests
                    .push((format!("{method} {path}"), headers.clone()));
                let auth = headers
                    .iter()
                    .find(|(k, _)| k == "authorization")
                    .map(|(_, v)| v.clone());
                if let Some(t) = &b.token
                    && auth.as_deref() != Some(&format!("Bearer {t}"))
                {
                    respond(
                        &mut s,
                        "401 Unauthorized",
                        &[("Content-Length", "0".into())],
                        b"",
                    );
                    continue;
                }
                match path.as_str() {
                    "/api/models/acme/tiny-GGUF" | "/api/models/ggml-org/gemma-4-12b-it-GGUF" => {
                        let body = serde_json::json!({"id": "acme/tiny-GGUF", "siblings": [
                            {"rfilename": "README.md"}, {"rfilename": "tiny-Q8_0.gguf"},
                            {"rfilename": "tiny-Q4_K_M.gguf"}, {"rfilename": "mmproj-tiny.gguf"}]})
                        .to_string();
                        respond(
                            &mut s,
                            "200 OK",
                            &[("Content-Length", body.len().to_string())],
                            body.as_bytes(),
                        );
                    }
                    p if p.contains("/resolve/main/") => {
                        let hdrs = [
                            ("Location", "/cdn/blob-7".to_string()),
                            ("X-Linked-Etag", format!("\"{sha}\"")),
                            ("X-Linked-Size", b.file.len().to_string()),
                            ("X-Repo-Commit", "c0ffee".to_string()),
                            ("Content-Length", "0".to_string()),
                        ];
                        respond(&mut s, "302 Found", &hdrs, b"");
                    }
                    "/cdn/blob-7" => {
                        let range = headers
                            .iter()
                            .find(|(k, _)| k == "range")
                            .map(|(_, v)| v.clone());
                        let from: usize = range
                            .as_deref()
                            .and_then(|r| r.strip_prefix("bytes="))
                            .and_then(|r| r.trim_end_matches('-').parse().ok())
                            .unwrap_or(0);
                        let body = &b.file[from..];
                        if from > 0 {
                            let hdrs = [
                                ("Content-Length", body.len().to_string()),
                                (
                                    "Content-Range",
                                    format!("bytes {from}-{}/{}", b.file.len() - 1, b.file.len()),
                                ),
                            ];
                            respond(&mut s, "206 Partial Content", &hdrs, body);
                        } else {
                            full_gets += 1;
                            let hdrs = [("Content-Length", body.len().to_string())];
                            match b.cut_first_at {
                                Some(cut) if full_gets == 1 => {
                                    respond(&mut s, "200 OK", &hdrs, &body[..cut])
                                }
                                _ => respond(&mut s, "200 OK", &hdrs, body),
                            }
                        }
                    }
                    _ => respond(
                        &mut s,
                        "404 Not Found",
                        &[("Content-Length", "0".into())],
                        b"",
                    ),
                }
                let _ = s.flush();
                let mut sink = [0u8; 16];
                let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(10)));
                let _ = s.read(&mut sink);
            }
        });
        Hub { port, seen }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub fn model_bytes() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf"),
    )
    .unwrap()
}

fn pull(sb: &Sandbox, hub: &Hub, spec: Option<&str>, token: Option<&str>) -> std::process::Output {
    let mut args = vec!["models", "pull"];
    if let Some(s) = spec {
        args.push(s);
    }
    let endpoint = hub.endpoint();
    let hf_home = sb.path("hf");
    let mut env = vec![
        ("HF_ENDPOINT", endpoint.as_str()),
        ("HF_HOME", hf_home.to_str().unwrap()),
    ];
    if let Some(t) = token {
        env.push(("HF_TOKEN", t));
    }
    sb.locus_env(&sb.work(), &args, &env)
}

#[test]
fn pulls_into_the_hub_cache_picking_q4_k_m_and_models_lists_it() {
    let sb = Sandbox::new();
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: false,
        token: None,
    });
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF"), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = std::path::PathBuf::from(stdout(&out).trim());
    assert!(
        path.ends_with("models--acme--tiny-GGUF/snapshots/c0ffee/tiny-Q4_K_M.gguf"),
        "{}",
        path.display()
    );
    assert_eq!(std::fs::read(&path).unwrap(), model_bytes());
    // The repository's vision projector comes with it.
    let mmproj = path.with_file_name("mmproj-tiny.gguf");
    assert!(mmproj.exists(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("vision projector: {}", mmproj.display())),
        "{}",
        stderr(&out)
    );
    let out = sb.locus_env(
        &sb.work(),
        &["models"],
        &[("HF_HOME", sb.path("hf").to_str().unwrap())],
    );
    assert!(
        stdout(&out).contains("acme/tiny-GGUF:tiny-Q4_K_M  (huggingface)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let sb = Sandbox::new();
    let file = model_bytes();
    let hub = Hub::start(Behaviour {
        file: file.clone(),
        cut_first_at: Some(file.len() / 3),
        wrong_sha: false,
        token: None,
    });
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("run the same command again to resume"),
        "{}",
        stderr(&out)
    );
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(stdout(&out).trim()).unwrap(), file);
    let seen = hub.seen.lock().unwrap();
    let ranged = seen.requests.iter().any(|(_, h)| {
        h.iter()
            .any(|(k, v)| k == "range" && v == &format!("bytes={}-", file.len() / 3))
    });
    assert!(ranged, "the second attempt asked only for the rest");
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let sb = Sandbox::new();
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: true,
        token: None,
    });
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.path("hf/hub/models--acme--tiny-GGUF/snapshots").exists());
}

#[test]
fn tokens_are_sent_and_their_absence_is_explained() {
    let sb = Sandbox::new();
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: false,
        token: Some("hf_secret".into()),
    });
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("401") && stderr(&out).contains("HF_TOKEN"),
        "{}",
        stderr(&out)
    );
    let out = pull(
        &sb,
        &hub,
        Some("acme/tiny-GGUF:tiny-Q8_0.gguf"),
        Some("hf_secret"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hf_secret"));
    let out = pull(&sb, &hub, Some("not a repo"), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a model reference"),
        "{}",
        stderr(&out)
    );
}

/// The token `hf auth login` wrote (`$HF_HOME/token`) is used when no
/// `HF_TOKEN` is set; two pulls of one file never write the same partial
/// file (the second says the first is at it).
#[test]
fn the_hf_token_file_is_honoured_and_a_second_pull_waits_its_turn() {
    let sb = Sandbox::new();
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: false,
        token: Some("hf_from_file".into()),
    });
    sb.write("hf/token", "hf_from_file\n");
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert!(out.status.success(), "{}", stderr(&out));

    let sb = Sandbox::new();
    let hub = Hub::start(Behaviour {
        file: model_bytes(),
        cut_first_at: None,
        wrong_sha: false,
        token: None,
    });
    let sha: String = Sha256::digest(model_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let blobs = sb.path("hf/hub/models--acme--tiny-GGUF/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let held = std::fs::File::create(blobs.join(format!("{sha}.lock"))).unwrap();
    held.lock().unwrap();
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("another `locus models pull` is downloading"),
        "{}",
        stderr(&out)
    );
    drop(held);
    let out = pull(&sb, &hub, Some("acme/tiny-GGUF:tiny-Q8_0.gguf"), None);
    assert!(out.status.success(), "{}", stderr(&out));
}
