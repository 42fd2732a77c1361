//! Gemma 4's native tool calling, as its chat template writes it: tools
//! declared in the system turn as `<|tool>declaration:NAME{…}<tool|>`, calls
//! `<|tool_call>call:NAME{key:value,…}<tool_call|>`, results
//! `<|tool_response>response:NAME{…}<tool_response|>`, strings between
//! `<|"|>` tokens, keys sorted as Jinja's `dictsort` sorts them (ignoring
//! case), type names upper-cased. The rendering follows the reference
//! template (llama.cpp's `models/templates/google-gemma-4-31B-it.jinja`,
//! with llama.cpp's folding of `tool` messages into the model turn) piece for
//! piece: tests/gemma4_tools.rs compares it with a golden file rendered from
//! that template. `CallParser` reads calls back out of the streamed text.

use serde_json::{Map, Value};

use super::template::Segment;
use crate::model::tools::{ToolDecl, ToolUse, call_id};

pub const QUOTE: &str = "<|\"|>";
pub const TOOL_OPEN: &str = "<|tool>";
pub const TOOL_CLOSE: &str = "<tool|>";
pub const CALL_OPEN: &str = "<|tool_call>";
pub const CALL_CLOSE: &str = "<tool_call|>";
pub const RESPONSE_OPEN: &str = "<|tool_response>";
pub const RESPONSE_CLOSE: &str = "<tool_response|>";

/// Builds segments: special tokens apart, everything else text that is never
/// parsed for special tokens.
#[derive(Default)]
pub struct Out(pub Vec<Segment>);

impl Out {
    pub fn tok(&mut self, t: &str) {
        self.0.push(Segment {
            text: t.into(),
            special: true,
        });
    }

    pub fn txt(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some(s) if !s.special => s.text.push_str(t),
            _ => self.0.push(Segment {
                text: t.into(),
                special: false,
            }),
        }
    }

    fn quoted(&mut self, s: &str) {
        self.tok(QUOTE);
        self.txt(s);
        self.tok(QUOTE);
    }
}

/// Keys in `dictsort` order (case-insensitive, then as written).
fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| {
        a.0.to_lowercase()
            .cmp(&b.0.to_lowercase())
            .then(a.0.cmp(b.0))
    });
    v
}

/// A number as Jinja (Python) prints it.
fn number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or_default();
        if f.fract() == 0.0 && f.abs() < 1e16 {
            return format!("{f:.1}");
        }
        return format!("{f}");
    }
    n.to_string()
}

/// The template's `format_argument` macro.
pub fn argument(out: &mut Out, v: &Value, escape_keys: bool) {
    match v {
        Value::String(s) => out.quoted(s),
        Value::Bool(b) => out.txt(if *b { "true" } else { "false" }),
        Value::Object(m) => {
            out.txt("{");
            for (i, (k, v)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.txt(",");
                }
                if escape_keys {
                    out.quoted(k);
                } else {
                    out.txt(k);
                }
                out.txt(":");
                argument(out, v, escape_keys);
            }
            out.txt("}");
        }
        Value::Array(a) => {
            out.txt("[");
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.txt(",");
                }
                argument(out, v, escape_keys);
            }
            out.txt("]");
        }
        Value::Number(n) => out.txt(&number(n)),
        Value::Null => out.txt("None"),
    }
}

fn upper(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_uppercase()
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
    }
}

fn required_list(out: &mut Out, items: &[Value]) {
    out.txt("required:[");
    for (i, r) in items.iter().enumerate() {
        if i > 0 {
            out.txt(",");
        }
        out.tok(QUOTE);
        out.txt(&jinja_str(r));
        out.tok(QUOTE);
    }
    out.txt("]");
}

/// A value as `{{ v }}` prints it.
fn jinja_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => number(n),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// The template's `format_parameters` macro.
fn parameters(out: &mut Out, properties: &Map<String, Value>) {
    const STANDARD: &[&str] = &["description", "type", "properties", "required", "nullable"];
    let mut first = true;
    for (key, value) in sorted(properties) {
        if STANDARD.contains(&key.as_str()) {
            continue;
        }
        if !first {
            out.txt(",");
        }
        first = false;
        out.txt(key);
        out.txt(":{");
        let mut comma = false;
        let mut sep = |out: &mut Out| {
            if comma {
                out.txt(",");
            }
            comma = true;
        };
        if truthy(value.get("description")) {
            out.txt("description:");
            out.quoted(&jinja_str(&value["description"]));
            // Sets the comma flag (nothing is written before the first item).
            sep(&mut Out::default());
        }
        let ty = upper(value.get("type"));
        if ty == "STRING" {
            if truthy(value.get("enum")) {
                sep(out);
                out.txt("enum:");
                argument(out, &value["enum"], true);
            }
        } else if ty == "ARRAY"
            && let Some(items) = value.get("items").and_then(Value::as_object)
            && !items.is_empty()
        {
            sep(out);
            out.txt("items:{");
            let mut first_item = true;
            for (k, v) in sorted(items) {
                if v.is_null() {
                    continue;
                }
                if !first_item {
                    out.txt(",");
                }
                first_item = false;
                match k.as_str() {
                    "properties" => {
                        out.txt("properties:{");
                        if let Some(m) = v.as_object() {
                            parameters(out, m);
                        }
                        out.txt("}");
                    }
                    "required" => required_list(out, v.as_array().map_or(&[], Vec::as_slice)),
                    "type" => {
                        out.txt("type:");
                        match v {
                            Value::String(s) => {
                                argument(out, &Value::String(s.to_uppercase()), true)
                            }
                            Value::Array(a) => argument(
                                out,
                                &Value::Array(
                                    a.iter()
                                        .map(|x| Value::String(jinja_str(x).to_uppercase()))
                                        .collect(),
                                ),
                                true,
                            ),
                            other => argument(out, other, true),
                        }
                    }
                    _ => {
                        out.txt(k);
                        out.txt(":");
                        argument(out, v, true);
                    }
                }
            }
            out.txt("}");
        }
        if truthy(value.get("nullable")) {
            sep(out);
            out.txt("nullable:true");
        }
        if ty == "OBJECT" {
            if let Some(p) = value.get("properties").and_then(Value::as_object) {
                sep(out);
                out.txt("properties:{");
                parameters(out, p);
                out.txt("}");
            } else if let Some(m) = value.as_object() {
                sep(out);
                out.txt("properties:{");
                parameters(out, m);
                out.txt("}");
            }
            if truthy(value.get("required")) {
                sep(out);
                required_list(out, value["required"].as_array().map_or(&[], Vec::as_slice));
            }
        }
        sep(out);
        out.txt("type:");
        out.quoted(&ty);
        out.txt("}");
    }
}

/// One `<|tool>declaration:…<tool|>`.
pub fn declaration(out: &mut Out, t: &ToolDecl) {
    out.tok(TOOL_OPEN);
    out.txt("declaration:");
    out.txt(&t.name);
    out.txt("{description:");
    out.quoted(&t.description);
    let p = &t.parameters;
    if truthy(Some(p)) {
        out.txt(",parameters:{");
        if let Some(props) = p.get("properties").and_then(Value::as_object)
            && !props.is_empty()
        {
            out.txt("properties:{");
            parameters(out, props);
            out.txt("},");
        }
        if let Some(req) = p.get("required").and_then(Value::as_array)
            && !req.is_empty()
        {
            required_list(out, req);
            out.txt(",");
        }
        if truthy(p.get("type")) {
            out.txt("type:");
            out.quoted(&upper(p.get("type")));
            out.txt("}");
        }
    }
    out.txt("}");
    out.tok(TOOL_CLOSE);
}

/// `key:value,…` with bare keys in `dictsort` order (a call's arguments, a
/// result's fields).
fn bare_members(out: &mut Out, m: &Map<String, Value>) {
    for (i, (k, v)) in sorted(m).into_iter().enumerate() {
        if i > 0 {
            out.txt(",");
        }
        out.txt(k);
        out.txt(":");
        argument(out, v, false);
    }
}

/// One `<|tool_call>call:NAME{…}<tool_call|>`.
pub fn call(out: &mut Out, c: &ToolUse) {
    out.tok(CALL_OPEN);
    out.txt("call:");
    out.txt(&c.name);
    out.txt("{");
    match &c.arguments {
        Value::Object(m) => {
            bare_members(out, m);
        }
        Value::String(s) => out.txt(s),
        _ => {}
    }
    out.txt("}");
    out.tok(CALL_CLOSE);
}

/// One `<|tool_response>response:NAME{…}<tool_response|>`: a result that is
/// a JSON object gives its keys, anything else is `value:` (as llama.cpp
/// reads a tool message's content).
pub fn response(out: &mut Out, name: &str, content: &str) {
    let v =
        serde_json::from_str::<Value>(content).unwrap_or_else(|_| Value::String(content.into()));
    out.tok(RESPONSE_OPEN);
    out.txt("response:");
    out.txt(name);
    out.txt("{");
    match &v {
        Value::Object(m) => {
            bare_members(out, m);
        }
        other => {
            out.txt("value:");
            argument(out, other, false);
        }
    }
    out.txt("}");
    out.tok(RESPONSE_CLOSE);
}

/// Reads calls out of a model's streamed answer text: text outside calls
/// passes through, each `<|tool_call>call:NAME{…}<tool_call|>` becomes a
/// call (or, when it does not parse, the reason and its text).
#[derive(Debug, Default)]
pub struct CallParser {
    buf: String,
    in_call: bool,
    calls: usize,
}

/// What the parser found in a piece of the stream.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Text(String),
    Call(ToolUse),
    Bad { text: String, reason: String },
}

impl CallParser {
    pub fn push(&mut self, delta: &str) -> Vec<Parsed> {
        self.buf.push_str(delta);
        let mut out = Vec::new();
        loop {
            if self.in_call {
                let Some(end) = self.buf.find(CALL_CLOSE) else {
                    break;
                };
                let body: String = self.buf[..end].to_string();
                self.buf.drain(..end + CALL_CLOSE.len());
                self.in_call = false;
                out.push(self.read(&body));
            } else if let Some(i) = self.buf.find(CALL_OPEN) {
                if i > 0 {
                    out.push(Parsed::Text(self.buf[..i].to_string()));
                }
                self.buf.drain(..i + CALL_OPEN.len());
                self.in_call = true;
            } else {
                // Keep what may be the start of a call token for the next delta.
                let keep = (1..CALL_OPEN.len())
                    .rev()
                    .find(|n| self.buf.ends_with(&CALL_OPEN[..*n]))
                    .unwrap_or(0);
                let cut = self.buf.len() - keep;
                if cut > 0 {
                    out.push(Parsed::Text(self.buf[..cut].to_string()));
                    self.buf.drain(..cut);
                }
                break;
            }
        }
        out
    }

    /// The end of the stream: a call left open is read as far as it goes.
    pub fn finish(&mut self) -> Vec<Parsed> {
        let rest = std::mem::take(&mut self.buf);
        if self.in_call {
            self.in_call = false;
            return vec![self.read(&rest)];
        }
        if rest.is_empty() {
            Vec::new()
        } else {
            vec![Parsed::Text(rest)]
        }
    }

    fn read(&mut self, body: &str) -> Parsed {
        let raw = format!("{CALL_OPEN}{body}{CALL_CLOSE}");
        match parse_call(body) {
            Ok((name, arguments)) => {
                self.calls += 1;
                Parsed::Call(ToolUse {
                    id: call_id(self.calls),
                    name,
                    arguments,
                })
            }
            Err(reason) => Parsed::Bad { text: raw, reason },
        }
    }
}

/// `call:NAME{…}` into the name and the arguments object.
pub fn parse_call(body: &str) -> Result<(String, Value), String> {
    let rest = body
        .trim()
        .strip_prefix("call:")
        .ok_or("a tool call must start with `call:`")?;
    let brace = rest.find('{').ok_or("the tool call has no `{` arguments")?;
    let name = rest[..brace].trim();
    if name.is_empty() {
        return Err("the tool call has no name".into());
    }
    let mut p = ValueParser {
        s: &rest[brace..],
        at: 0,
    };
    let args = p.value()?;
    p.ws();
    if p.at != p.s.len() {
        return Err(format!(
            "unexpected text after the arguments of {name}: {}",
            &p.s[p.at..]
        ));
    }
    Ok((name.to_string(), args))
}

/// Gemma 4's argument syntax: `{key:value,…}`, `[…]`, `<|"|>string<|"|>`,
/// numbers, `true`/`false`/`null`; keys bare (or quoted).
struct ValueParser<'a> {
    s: &'a str,
    at: usize,
}

impl ValueParser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn ws(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.at += n;
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.rest().starts_with(t) {
            self.at += t.len();
            true
        } else {
            false
        }
    }

    /// The rest of a string whose opening `<|"|>` was read.
    fn string_rest(&mut self) -> Result<String, String> {
        let end = self
            .rest()
            .find(QUOTE)
            .ok_or("a string is not closed with <|\"|>")?;
        let s = self.rest()[..end].to_string();
        self.at += end + QUOTE.len();
        Ok(s)
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        if self.eat(QUOTE) {
            return self.string_rest().map(Value::String);
        }
        if self.eat("{") {
            let mut m = Map::new();
            self.ws();
            if self.eat("}") {
                return Ok(Value::Object(m));
            }
            loop {
                self.ws();
                let key = if self.eat(QUOTE) {
                    self.string_rest()?
                } else {
                    let end = self
                        .rest()
                        .find([':', '}'])
                        .ok_or("a key has no `:` after it")?;
                    let k = self.rest()[..end].trim().trim_matches('"').to_string();
                    self.at += end;
                    k
                };
                self.ws();
                if !self.eat(":") {
                    return Err(format!("the key `{key}` has no `:` after it"));
                }
                let v = self.value()?;
                m.insert(key, v);
                self.ws();
                if self.eat(",") {
                    continue;
                }
                if self.eat("}") {
                    return Ok(Value::Object(m));
                }
                return Err("expected `,` or `}` in the arguments".into());
            }
        }
        if self.eat("[") {
            let mut a = Vec::new();
            self.ws();
            if self.eat("]") {
                return Ok(Value::Array(a));
            }
            loop {
                a.push(self.value()?);
                self.ws();
                if self.eat(",") {
                    continue;
                }
                if self.eat("]") {
                    return Ok(Value::Array(a));
                }
                return Err("expected `,` or `]` in a list".into());
            }
        }
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
            ("None", Value::Null),
        ] {
            if self.eat(word) {
                return Ok(v);
            }
        }
        let end = self
            .rest()
            .find([',', '}', ']'])
            .unwrap_or(self.rest().len());
        let word = self.rest()[..end].trim();
        if let Ok(n) = word.parse::<i64>() {
            self.at += end;
            return Ok(Value::from(n));
        }
        if let Ok(f) = word.parse::<f64>()
            && let Some(n) = serde_json::Number::from_f64(f)
        {
            self.at += end;
            return Ok(Value::Number(n));
        }
        Err(format!(
            "cannot read a value at `{}`",
            self.rest().chars().take(40).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(o: &Out) -> String {
        o.0.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn declarations_follow_the_template() {
        let mut o = Out::default();
        declaration(
            &mut o,
            &ToolDecl {
                name: "weather".into(),
                description: "Weather".into(),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string", "description": "City"}}, "required": ["city"]}),
            },
        );
        assert_eq!(
            text(&o),
            "<|tool>declaration:weather{description:<|\"|>Weather<|\"|>,parameters:{properties:{city:{description:<|\"|>City<|\"|>,type:<|\"|>STRING<|\"|>}},required:[<|\"|>city<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|>"
        );
    }

    #[test]
    fn calls_parse_across_deltas_and_bad_ones_say_why() {
        let mut p = CallParser::default();
        let mut got = Vec::new();
        for d in [
            "Let me look.<|tool",
            "_call>call:read_file{path:<|\"|>a, b}.py<|\"|>,start_line:3,flags:[true,null],o:{k:-1.5}}<tool_call|>",
            "<|tool_call>call:search{query <tool_call|>tail",
        ] {
            got.extend(p.push(d));
        }
        got.extend(p.finish());
        assert_eq!(got[0], Parsed::Text("Let me look.".into()));
        let Parsed::Call(c) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(c.name, "read_file");
        assert_eq!(
            c.arguments,
            json!({"path": "a, b}.py", "start_line": 3, "flags": [true, null], "o": {"k": -1.5}})
        );
        assert!(
            matches!(&got[2], Parsed::Bad { reason, .. } if reason.contains("no `:`")),
            "{got:?}"
        );
        assert_eq!(got[3], Parsed::Text("tail".into()));
        // A call rendered the template's way reads back the same.
        let mut o = Out::default();
        call(&mut o, c);
        let t = text(&o);
        let body = t
            .strip_prefix(CALL_OPEN)
            .unwrap()
            .strip_suffix(CALL_CLOSE)
            .unwrap();
        assert_eq!(parse_call(body).unwrap().1, c.arguments);
    }
}
