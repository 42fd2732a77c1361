//! Retrieval on small real-shaped repositories (a Python package, a Rust
//! crate with modules, a TypeScript project with imports): each rule of
//! reading a question and choosing what the model sees, asserted on what
//! `Session::context` (the path `locus context`, `ask` and the TUI share)
//! puts in the prompt.

use std::path::{Path, PathBuf};

use locus::config::ContextSettings;
use locus::context::{Context, PartKind};
use locus::index::Index;
use locus::session::{ASK_SYSTEM, Session};
use locus::tokens::{EstimateCounter, TokenCounter};

use crate::util::{Sandbox, git_init, stdout};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn index(root: &Path) -> Index {
    crate::util::index_of(root)
}

fn ask(idx: &Index, root: &Path, q: &str, pinned: &[String], budget: usize) -> Context {
    Session::detached(ContextSettings::default()).context(
        idx,
        root,
        ASK_SYSTEM,
        q,
        pinned,
        budget,
        &EstimateCounter,
    )
}

/// Content parts (whole files and snippets): (path, lines).
fn content(ctx: &Context) -> Vec<(&str, Option<[usize; 2]>)> {
    ctx.parts
        .iter()
        .filter(|p| matches!(p.kind, PartKind::File | PartKind::Snippet))
        .map(|p| (p.path.as_deref().unwrap_or(""), p.lines))
        .collect()
}

/// Whether the context holds lines `a..=b` of `path` (a whole file or a snippet covering them).
fn holds(ctx: &Context, path: &str, a: usize, b: usize) -> bool {
    ctx.parts.iter().any(|p| {
        p.path.as_deref() == Some(path)
            && match (p.kind, p.lines) {
                (PartKind::File, None) => true,
                (PartKind::Snippet | PartKind::File, Some([s, e])) => s <= a && b <= e,
                _ => false,
            }
    })
}

/// Noise: many files defining ordinary English words as functions
/// (`handle`, `add`, `path`, `resolve`, `does`), each long enough to fill a
/// budget if taken at face value.
fn english_noise(root: &Path, ext: &str) {
    for i in 0..30 {
        let body: String = (0..40).map(|j| format!("    x{j} = {j}\n")).collect();
        let text = match ext {
            "py" => format!(
                "def handle(x):\n{body}    return x\n\n\ndef add(x):\n    return x\n\n\ndef path(x):\n    return x\n\n\ndef resolve(x):\n    return x\n"
            ),
            _ => format!(
                "pub fn handle(x: u32) -> u32 {{\n{}    x\n}}\npub fn add(x: u32) -> u32 {{ x }}\npub fn path(x: u32) -> u32 {{ x }}\npub fn resolve(x: u32) -> u32 {{ x }}\n",
                body.replace("    x", "    let x").replace('\n', ";\n")
            ),
        };
        write(root, &format!("noise/n{i}.{ext}"), &text);
    }
}

/// A Python package in the shape of CPython's `xml.dom`, with noise.
fn python_package(sb: &Sandbox) -> PathBuf {
    let root = sb.path("work/py");
    git_init(&root);
    write(&root, "xml/__init__.py", "\"\"\"Core XML support.\"\"\"\n");
    write(
        &root,
        "xml/dom/__init__.py",
        "\"\"\"W3C Document Object Model for Python.\"\"\"\n\nclass Node:\n    ELEMENT_NODE = 1\n\n\nclass DOMException(Exception):\n    pass\n",
    );
    let mut minidom =
        String::from("\"\"\"Simple implementation of the DOM.\"\"\"\nimport xml.dom\n\n");
    for i in 0..60 {
        minidom.push_str(&format!("\ndef _helper_{i}(node):\n    return node\n\n"));
    }
    minidom.push_str(
        "\nclass Document:\n    \"\"\"The document node.\"\"\"\n\n    def __init__(self):\n        self.childNodes = []\n\n    def toxml(self, encoding=None):\n        \"\"\"Serialize the document to XML text.\"\"\"\n        out = []\n        for c in self.childNodes:\n            out.append(c.toxml(encoding))\n        return ''.join(out)\n\n\nclass Element:\n    def toxml(self, encoding=None):\n        return '<e/>'\n",
    );
    write(&root, "xml/dom/minidom.py", &minidom);
    let mut os = String::from("\"\"\"OS routines.\"\"\"\nimport sys\n\n");
    for i in 0..80 {
        os.push_str(&format!("\ndef _private_{i}(a):\n    return a\n\n"));
    }
    os.push_str(
        "\ndef makedirs(name, mode=0o777, exist_ok=False):\n    \"\"\"Super-mkdir; create a leaf directory and all intermediate ones.\"\"\"\n    head, tail = split(name)\n    try:\n        mkdir(name, mode)\n    except OSError:\n        if not exist_ok:\n            raise\n",
    );
    write(&root, "os.py", &os);
    english_noise(&root, "py");
    root
}

#[test]
fn a_dotted_name_resolves_through_modules_and_english_words_do_not_fill_the_context() {
    let sb = Sandbox::new();
    let root = python_package(&sb);
    let idx = index(&root);
    let ctx = ask(
        &idx,
        &root,
        "How does os.makedirs handle exist_ok?",
        &[],
        2048,
    );
    let parts = content(&ctx);
    let def = idx
        .symbols()
        .definitions(idx.names().get("makedirs").unwrap())[0];
    let d = &idx.files()[def.file as usize].defs[def.def as usize];
    let (path, lines) = parts[0];
    let [a, b] = lines.expect("a snippet, not the whole file");
    assert!(
        path == "os.py" && a <= d.start_line as usize && d.end_line as usize <= b,
        "{parts:?}"
    );
    // `handle` is defined in 30 files: weak evidence. What it brings only
    // fills the room the answer left, after the answer's outline and callers.
    let first_noise = ctx
        .parts
        .iter()
        .position(|p| p.path.as_deref().is_some_and(|x| x.starts_with("noise/")));
    let outline = ctx.parts.iter().position(|p| p.kind == PartKind::Outline);
    assert!(outline.is_some(), "{parts:?}");
    assert!(
        first_noise.is_none_or(|n| n > outline.unwrap()),
        "{parts:?}"
    );
    // Not the head of os.py.
    assert!(!holds(&ctx, "os.py", 1, 3), "{parts:?}");
}

#[test]
fn a_qualified_class_member_is_found_inside_its_class() {
    let sb = Sandbox::new();
    let root = python_package(&sb);
    let idx = index(&root);
    let ctx = ask(
        &idx,
        &root,
        "What does xml.dom.minidom.Document.toxml return?",
        &[],
        2048,
    );
    let parts = content(&ctx);
    let file = idx.file_index("xml/dom/minidom.py").unwrap();
    let entry = &idx.files()[file as usize];
    let toxml = idx.names().get("toxml").unwrap();
    let document = idx.names().get("Document").unwrap();
    let d = entry
        .defs
        .iter()
        .find(|d| d.name == toxml && d.container == Some(document))
        .expect("Document.toxml with its container");
    assert_eq!(parts[0].0, "xml/dom/minidom.py", "{parts:?}");
    let first = parts[0].1.expect("a snippet, not the file's head");
    assert!(
        first[0] <= d.start_line as usize && d.end_line as usize <= first[1],
        "{parts:?}, toxml at {}-{}",
        d.start_line,
        d.end_line
    );
    // A package named by its dotted path is its __init__ file.
    let ctx = ask(&idx, &root, "What does xml.dom define?", &[], 2048);
    assert!(
        holds(&ctx, "xml/dom/__init__.py", 1, 9),
        "{:?}",
        content(&ctx)
    );
}

/// A Rust crate in the shape of `similar`: the type a question names lies
/// far down its module file.
fn rust_crate(sb: &Sandbox) -> PathBuf {
    let root = sb.path("work/rs");
    git_init(&root);
    write(
        &root,
        "Cargo.toml",
        "[package]\nname = \"diffy\"\nversion = \"0.1.0\"\n",
    );
    write(&root, "src/lib.rs", "pub mod algorithms;\npub mod text;\n");
    write(
        &root,
        "src/algorithms/mod.rs",
        "pub mod myers;\n/// The algorithms.\npub enum Algorithm { Myers, Patience }\n",
    );
    write(
        &root,
        "src/algorithms/myers.rs",
        "/// Myers' diff.\npub fn diff(old: &[u8], new: &[u8]) -> usize {\n    let snake = find_middle_snake(old, new);\n    snake + 1\n}\n\nfn find_middle_snake(old: &[u8], new: &[u8]) -> usize {\n    old.len().min(new.len())\n}\n",
    );
    let mut text = String::from("use crate::algorithms::Algorithm;\n\n");
    for i in 0..50 {
        text.push_str(&format!(
            "/// Helper {i}.\npub fn helper_{i}(x: usize) -> usize {{\n    x + {i}\n}}\n\n"
        ));
    }
    text.push_str(
        "/// Configures a text diff.\npub struct TextDiffConfig {\n    algorithm: Algorithm,\n}\n\nimpl TextDiffConfig {\n    /// Changes the algorithm.\n    pub fn algorithm(&mut self, alg: Algorithm) -> &mut Self {\n        self.algorithm = alg;\n        self\n    }\n}\n\n/// A diff of two texts.\npub struct TextDiff {\n    algorithm: Algorithm,\n}\n",
    );
    write(&root, "src/text/mod.rs", &text);
    english_noise(&root, "rs");
    root
}

#[test]
fn rust_paths_and_impl_members_resolve() {
    let sb = Sandbox::new();
    let root = rust_crate(&sb);
    let idx = index(&root);
    let line_of = |name: &str| {
        let id = idx.names().get(name).unwrap();
        let d = idx.symbols().definitions(id)[0];
        let def = idx.files()[d.file as usize].defs[d.def as usize];
        (
            idx.files()[d.file as usize].path.clone(),
            def.start_line as usize,
            def.end_line as usize,
        )
    };
    let (path, a, b) = line_of("find_middle_snake");
    let ctx = ask(
        &idx,
        &root,
        "How does crate::algorithms::myers::find_middle_snake work?",
        &[],
        2048,
    );
    assert!(holds(&ctx, &path, a, b), "{:?}", content(&ctx));

    // `Type::method` finds the method in the type's impl.
    let ctx = ask(
        &idx,
        &root,
        "What does TextDiffConfig::algorithm change?",
        &[],
        2048,
    );
    let file = idx.file_index("src/text/mod.rs").unwrap();
    let entry = &idx.files()[file as usize];
    let algorithm = idx.names().get("algorithm").unwrap();
    let m = entry
        .defs
        .iter()
        .find(|d| {
            d.name == algorithm
                && d.container.map(|c| idx.names().name(c)) == Some("TextDiffConfig")
        })
        .expect("the method records its impl");
    assert!(
        holds(
            &ctx,
            "src/text/mod.rs",
            m.start_line as usize,
            m.end_line as usize
        ),
        "{:?}",
        content(&ctx)
    );

    // The type a question names, not the head of its file.
    let (path, a, b) = line_of("TextDiff");
    assert!(a > 250, "the fixture puts TextDiff far down: {a}");
    let ctx = ask(
        &idx,
        &root,
        "How does TextDiff choose its algorithm?",
        &[],
        2048,
    );
    assert!(holds(&ctx, &path, a, b), "{:?}", content(&ctx));
    assert!(!holds(&ctx, &path, 1, 5), "{:?}", content(&ctx));
}

#[test]
fn typescript_module_paths_and_hash_members_resolve() {
    let sb = Sandbox::new();
    let root = sb.path("work/ts");
    git_init(&root);
    write(
        &root,
        "src/api/client.ts",
        "import { User } from '../model/user';\n\nexport class ApiClient {\n  constructor(private base: string) {}\n\n  async fetchUser(id: string): Promise<User> {\n    const r = await fetch(`${this.base}/users/${id}`);\n    return (await r.json()) as User;\n  }\n}\n",
    );
    write(
        &root,
        "src/model/user.ts",
        "export interface User {\n  id: string;\n  name: string;\n}\n",
    );
    write(
        &root,
        "src/index.ts",
        "import { ApiClient } from './api/client';\n\nexport function main() {\n  const c = new ApiClient('http://localhost');\n  return c.fetchUser('1');\n}\n",
    );
    for i in 0..20 {
        write(
            &root,
            &format!("src/other/o{i}.ts"),
            &format!(
                "export function fetchUser{i}() {{ return {i}; }}\nexport class Client{i} {{ fetchUser() {{ return {i}; }} }}\n"
            ),
        );
    }
    let idx = index(&root);
    for q in [
        "How does ApiClient#fetchUser build the URL?",
        "What does api/client fetchUser return?",
    ] {
        let ctx = ask(&idx, &root, q, &[], 1500);
        let parts = content(&ctx);
        assert_eq!(
            parts.first().map(|p| p.0),
            Some("src/api/client.ts"),
            "{q}: {parts:?}"
        );
        assert!(holds(&ctx, "src/api/client.ts", 6, 9), "{q}: {parts:?}");
    }
}

#[test]
fn the_budget_is_used_and_no_file_takes_all_of_it_unless_named() {
    let sb = Sandbox::new();
    let root = sb.path("work/big");
    git_init(&root);
    // One huge file full of matches, and a few other relevant files.
    let mut big = String::new();
    for i in 0..200 {
        big.push_str(&format!(
            "def parse_record_{i}(line):\n    \"\"\"Parse one record.\"\"\"\n    fields = line.split(',')\n    return fields[{i} % len(fields)]\n\n\n"
        ));
    }
    write(&root, "records.py", &big);
    for i in 0..40 {
        write(
            &root,
            &format!("readers/r{i}.py"),
            &format!(
                "def read_records_{i}(path):\n    \"\"\"Parse the records of a file.\"\"\"\n    with open(path) as f:\n        lines = f.readlines()\n    records = []\n    for l in lines:\n        records.append(parse_record_{i}(l))\n    return records\n"
            ),
        );
    }
    let idx = index(&root);
    let budget = 4096;
    let ctx = ask(&idx, &root, "How are records parsed?", &[], budget);
    assert!(ctx.total_tokens <= budget);
    assert!(
        ctx.total_tokens * 10 >= budget * 8,
        "the budget is used: {} of {budget}",
        ctx.total_tokens
    );
    // Its content (bodies; its outline is a list of signatures besides).
    let from_big: usize = ctx
        .parts
        .iter()
        .filter(|p| {
            p.path.as_deref() == Some("records.py")
                && matches!(p.kind, PartKind::File | PartKind::Snippet)
        })
        .map(|p| p.tokens)
        .sum();
    assert!(
        from_big <= budget / 2,
        "records.py took {from_big} of {budget}"
    );
    // Named, the same file may take what it needs.
    let ctx = ask(
        &idx,
        &root,
        "How does records.py parse a record?",
        &[],
        budget,
    );
    let from_big: usize = ctx
        .parts
        .iter()
        .filter(|p| p.path.as_deref() == Some("records.py"))
        .map(|p| p.tokens)
        .sum();
    assert!(from_big > budget / 2, "named records.py got {from_big}");
}

#[test]
fn pinned_files_go_whole_and_a_file_that_does_not_fit_is_reported() {
    let sb = Sandbox::new();
    let root = sb.path("work/pins");
    git_init(&root);
    let types: String = (0..40)
        .map(|i| format!("pub struct Type{i} {{ pub field: u32 }}\n"))
        .collect();
    write(&root, "src/types.rs", &types);
    let iter: String = (0..400)
        .map(|i| format!("pub fn step_{i}(x: u32) -> u32 {{ x + {i} }}\n"))
        .collect();
    write(&root, "src/iter.rs", &iter);
    let idx = index(&root);
    let pinned = vec!["src/types.rs".to_string(), "src/iter.rs".to_string()];
    let ctx = ask(&idx, &root, "How do these fit together?", &pinned, 3000);
    assert!(
        ctx.parts.iter().any(|p| p.kind == PartKind::File
            && p.path.as_deref() == Some("src/types.rs")
            && p.lines.is_none()),
        "the first pinned file goes whole"
    );
    assert_eq!(ctx.cut.len(), 1, "{:?}", ctx.cut);
    let cut = &ctx.cut[0];
    assert_eq!(cut.path, "src/iter.rs");
    assert_eq!(cut.total_lines, 400);
    assert!(cut.tokens > 3000, "{cut:?}");
    assert!(ctx.total_tokens <= 3000);
    let text = ctx.render_text();
    assert!(text.contains("cut: src/iter.rs"), "{text}");

    // The same through `locus context --json`.
    let out = sb.locus(
        &root,
        &[
            "context",
            "--json",
            "--tokens",
            "3000",
            "--file",
            "src/types.rs",
            "--file",
            "src/iter.rs",
            "How do these fit together?",
        ],
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["cut"][0]["path"], "src/iter.rs", "{v}");
    assert!(v["cut"][0]["tokens"].as_u64().unwrap() > 3000);
    assert!(v["elapsed_ms"].as_f64().is_some());
}

#[test]
fn a_broken_file_cannot_fill_the_repo_map_and_generated_files_rank_low() {
    let sb = Sandbox::new();
    let root = sb.path("work/map");
    git_init(&root);
    write(
        &root,
        "src/broken.rs",
        &"fn (((( {{{{ struct impl <<<<\n".repeat(200),
    );
    for i in 0..10 {
        write(
            &root,
            &format!("src/m{i}.rs"),
            &format!("pub fn real_function_{i}(x: u32) -> u32 {{ x }}\npub struct RealType{i};\n"),
        );
    }
    let calls: String = (0..10)
        .map(|i| format!("    real_function_{i}(1);\n"))
        .collect();
    write(&root, "src/main.rs", &format!("fn main() {{\n{calls}}}\n"));
    // Generated and vendored code that everything uses.
    let gen_calls: String = (0..10)
        .map(|i| format!("    generated_fn_{i}();\n"))
        .collect();
    let gen_defs: String = (0..10)
        .map(|i| format!("pub fn generated_fn_{i}() {{}}\n"))
        .collect();
    write(
        &root,
        "src/gen.rs",
        &format!("// @generated by protoc. DO NOT EDIT.\n{gen_defs}"),
    );
    write(
        &root,
        "vendor/dep/lib.rs",
        &gen_defs.replace("generated_fn", "vendored_fn"),
    );
    write(
        &root,
        "src/user.rs",
        &format!(
            "fn user() {{\n{gen_calls}{}}}\n",
            gen_calls.replace("generated_fn", "vendored_fn")
        ),
    );
    let idx = index(&root);
    let broken = &idx.files()[idx.file_index("src/broken.rs").unwrap() as usize];
    assert!(
        broken.defs.len() <= 2,
        "{} definitions from junk",
        broken.defs.len()
    );
    let map = idx.repo_map(&Default::default(), 2048, &EstimateCounter);
    let shown: Vec<&str> = map.files.iter().map(|f| f.path.as_str()).collect();
    for i in 0..10 {
        let m = format!("src/m{i}.rs");
        assert!(shown.contains(&m.as_str()), "{m} missing: {shown:?}");
    }
    let pos = |p: &str| shown.iter().position(|s| *s == p).unwrap_or(usize::MAX);
    assert!(pos("src/m0.rs") < pos("src/gen.rs"), "{shown:?}");
    assert!(pos("src/m0.rs") < pos("vendor/dep/lib.rs"), "{shown:?}");
    assert!(EstimateCounter.count(&map.text) <= 2048);
}

#[test]
fn a_member_of_a_long_class_comes_before_the_class_head() {
    let sb = Sandbox::new();
    let root = sb.path("work/cls");
    git_init(&root);
    let mut text =
        String::from("class SequenceMatcher:\n    \"\"\"Compares pairs of sequences.\n\n");
    for i in 0..60 {
        text.push_str(&format!(
            "    Line {i} of a long docstring about matching.\n"
        ));
    }
    text.push_str("    \"\"\"\n\n");
    for i in 0..20 {
        text.push_str(&format!(
            "    def helper_{i}(self):\n        return {i}\n\n"
        ));
    }
    text.push_str(
        "    def find_longest_match(self, alo, ahi, blo, bhi):\n        \"\"\"Find the longest matching block.\"\"\"\n        best = (alo, blo, 0)\n        for i in range(alo, ahi):\n            best = max(best, (i, blo, 1))\n        return best\n",
    );
    write(&root, "difflib.py", &text);
    english_noise(&root, "py");
    let idx = index(&root);
    let ctx = ask(
        &idx,
        &root,
        "How does SequenceMatcher find the longest matching block?",
        &[],
        2048,
    );
    let file = &idx.files()[idx.file_index("difflib.py").unwrap() as usize];
    let m = file
        .defs
        .iter()
        .find(|d| idx.names().name(d.name) == "find_longest_match")
        .unwrap();
    let parts = content(&ctx);
    assert!(
        holds(
            &ctx,
            "difflib.py",
            m.start_line as usize,
            m.end_line as usize
        ),
        "{parts:?}"
    );
    let [a, _] = parts[0].1.expect("a snippet");
    assert_eq!(a, m.start_line as usize, "the method first: {parts:?}");
}
