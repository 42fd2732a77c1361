//! Every language's tags query on a realistic snippet yields the definitions
//! and references a reader would point at.

use locus::assets::Assets;
use locus::index::{DefKind, Lang, Queries, RefKind, extract};

struct Case {
    lang: Lang,
    source: &'static str,
    defs: &'static [(&'static str, DefKind, u32)],
    refs: &'static [(&'static str, RefKind)],
}

fn check(case: &Case, queries: &Queries) -> Vec<String> {
    let q = queries.get(case.lang).unwrap();
    let (defs, refs) = extract(q, case.source.as_bytes()).unwrap();
    let mut problems = Vec::new();
    for (name, kind, line) in case.defs {
        if !defs
            .iter()
            .any(|d| d.name == *name && d.kind == *kind && d.start_line == *line)
        {
            problems.push(format!(
                "{}: missing definition {name} {kind:?} at line {line}; got {:?}",
                case.lang.name(),
                defs.iter()
                    .map(|d| (&d.name, d.kind, d.start_line))
                    .collect::<Vec<_>>()
            ));
        }
    }
    for (name, kind) in case.refs {
        if !refs.iter().any(|r| r.name == *name && r.kind == *kind) {
            problems.push(format!(
                "{}: missing reference {name} {kind:?}; got {:?}",
                case.lang.name(),
                refs.iter().map(|r| (&r.name, r.kind)).collect::<Vec<_>>()
            ));
        }
    }
    for d in &defs {
        if d.signature.is_empty() || d.end_line < d.start_line {
            problems.push(format!("{}: bad definition {d:?}", case.lang.name()));
        }
    }
    problems
}

const CASES: &[Case] = &[
    Case {
        lang: Lang::Rust,
        source: r#"use std::collections::HashMap;
use crate::index::{Index, rank};

pub struct Store { map: HashMap<String, u32> }
pub enum Mode { Fast, Slow }
pub trait Greeter { fn greet(&self) -> String; }
pub const LIMIT: usize = 10;
type Alias = Vec<u8>;
mod inner {}
macro_rules! shout { () => {} }

impl Store {
    pub fn new() -> Self {
        let idx = Index::open();
        Store { map: HashMap::new() }
    }
}

fn helper(s: &Store) -> usize {
    s.map.len() + compute::<u8>(1)
}
"#,
        defs: &[
            ("Store", DefKind::Struct, 4),
            ("Mode", DefKind::Enum, 5),
            ("Greeter", DefKind::Trait, 6),
            ("greet", DefKind::Function, 6),
            ("LIMIT", DefKind::Constant, 7),
            ("Alias", DefKind::Type, 8),
            ("inner", DefKind::Module, 9),
            ("shout", DefKind::Macro, 10),
            ("new", DefKind::Method, 13),
            ("helper", DefKind::Function, 19),
        ],
        refs: &[
            ("HashMap", RefKind::Import),
            ("Index", RefKind::Import),
            ("rank", RefKind::Import),
            ("open", RefKind::Call),
            ("len", RefKind::Call),
            ("compute", RefKind::Call),
            ("Store", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Python,
        source: r#"import os
from pkg.models import User, Group as G

MAX_USERS = 100

class Repo(Base):
    @property
    def name(self):
        return self._name

    def load(self, path: Path) -> User:
        return read_file(os.path.join(path))

@cache
def helper(x):
    return Repo(x)
"#,
        defs: &[
            ("MAX_USERS", DefKind::Constant, 4),
            ("Repo", DefKind::Class, 6),
            ("name", DefKind::Method, 7),
            ("load", DefKind::Method, 11),
            ("helper", DefKind::Function, 14),
        ],
        refs: &[
            ("os", RefKind::Import),
            ("User", RefKind::Import),
            ("Group", RefKind::Import),
            ("read_file", RefKind::Call),
            ("join", RefKind::Call),
            ("Base", RefKind::Type),
            ("Path", RefKind::Type),
            ("Repo", RefKind::Call),
        ],
    },
    Case {
        lang: Lang::JavaScript,
        source: r#"import React, { useState } from 'react';

export const API_URL = "https://example.test";

export function App(props) {
  const [s, set] = useState(0);
  return <Button onClick={() => set(s + 1)} />;
}

class Store extends Base {
  load(id) { return fetchItem(id); }
}

const handler = async (req) => new Response(req.body);
"#,
        defs: &[
            ("API_URL", DefKind::Constant, 3),
            ("App", DefKind::Function, 5),
            ("Store", DefKind::Class, 10),
            ("load", DefKind::Method, 11),
            ("handler", DefKind::Function, 14),
        ],
        refs: &[
            ("React", RefKind::Import),
            ("useState", RefKind::Import),
            ("useState", RefKind::Call),
            ("Button", RefKind::Call),
            ("fetchItem", RefKind::Call),
            ("Base", RefKind::Type),
            ("Response", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::TypeScript,
        source: r#"import { Config } from "./config";

export interface Shape { area(): number; }
export type Id = string | number;
export enum Color { Red, Green }
namespace Geo { export const x = 1; }

export abstract class Base implements Shape {
  abstract area(): number;
}

export class Circle extends Base {
  constructor(private r: number) { super(); }
  area(): number { return Math.PI * square(this.r); }
}

export function makeConfig(c: Config): Config { return c; }
"#,
        defs: &[
            ("Shape", DefKind::Interface, 3),
            ("Id", DefKind::Type, 4),
            ("Color", DefKind::Enum, 5),
            ("Geo", DefKind::Module, 6),
            ("Base", DefKind::Class, 8),
            ("Circle", DefKind::Class, 12),
            ("area", DefKind::Method, 14),
            ("makeConfig", DefKind::Function, 17),
        ],
        refs: &[
            ("Config", RefKind::Import),
            ("Config", RefKind::Type),
            ("square", RefKind::Call),
            ("Base", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Tsx,
        source: r#"import { Card } from "./card";
type Props = { title: string };
export function Panel({ title }: Props) {
  return <Card title={title}><Header /></Card>;
}
"#,
        defs: &[("Props", DefKind::Type, 2), ("Panel", DefKind::Function, 3)],
        refs: &[
            ("Card", RefKind::Import),
            ("Card", RefKind::Call),
            ("Header", RefKind::Call),
            ("Props", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Go,
        source: r#"package store

import (
	"fmt"
	"github.com/acme/kv"
)

const MaxItems = 10

type Store struct { db *kv.DB }
type Getter interface { Get(key string) string }
type ID int

func New() *Store { return &Store{} }

func (s *Store) Get(key string) string {
	return fmt.Sprintf("%s", lookup(key))
}
"#,
        defs: &[
            ("store", DefKind::Module, 1),
            ("MaxItems", DefKind::Constant, 8),
            ("Store", DefKind::Struct, 10),
            ("Getter", DefKind::Interface, 11),
            ("Get", DefKind::Method, 11),
            ("ID", DefKind::Type, 12),
            ("New", DefKind::Function, 14),
            ("Get", DefKind::Method, 16),
        ],
        refs: &[
            ("fmt", RefKind::Import),
            ("kv", RefKind::Import),
            ("Sprintf", RefKind::Call),
            ("lookup", RefKind::Call),
            ("DB", RefKind::Type),
            ("Store", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Java,
        source: r#"package com.acme.store;

import java.util.List;

public class Store extends Base implements Closeable {
    public static final int LIMIT = 5;
    public Store() {}
    public List<Item> items() { return repo.findAll(); }
}

interface Closeable { void close(); }
enum Kind { A, B }
record Point(int x, int y) {}
"#,
        defs: &[
            ("com.acme.store", DefKind::Module, 1),
            ("Store", DefKind::Class, 5),
            ("LIMIT", DefKind::Constant, 6),
            ("Store", DefKind::Method, 7),
            ("items", DefKind::Method, 8),
            ("Closeable", DefKind::Interface, 11),
            ("close", DefKind::Method, 11),
            ("Kind", DefKind::Enum, 12),
            ("Point", DefKind::Class, 13),
        ],
        refs: &[
            ("List", RefKind::Import),
            ("findAll", RefKind::Call),
            ("Item", RefKind::Type),
            ("Base", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::C,
        source: r#"#include <stdio.h>
#include "store.h"
#define MAX 10
#define SQUARE(x) ((x) * (x))

typedef struct item { int id; } item_t;
struct store { item_t items[MAX]; };
enum color { RED, GREEN };

int store_add(struct store *s, item_t it);

static char *name_of(item_t *it) {
    return format_name(it->id);
}

int main(void) { printf("%d", store_add(0, (item_t){0})); }
"#,
        defs: &[
            ("MAX", DefKind::Constant, 3),
            ("SQUARE", DefKind::Macro, 4),
            ("item", DefKind::Struct, 6),
            ("item_t", DefKind::Type, 6),
            ("store", DefKind::Struct, 7),
            ("color", DefKind::Enum, 8),
            ("store_add", DefKind::Function, 10),
            ("name_of", DefKind::Function, 12),
            ("main", DefKind::Function, 16),
        ],
        refs: &[
            ("stdio.h", RefKind::Import),
            ("store.h", RefKind::Import),
            ("format_name", RefKind::Call),
            ("printf", RefKind::Call),
            ("item_t", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Cpp,
        source: r#"#include <vector>
namespace acme {
class Store : public Base {
public:
    Store();
    void add(const Item& it);
    ~Store();
};
Store::Store() {}
void Store::add(const Item& it) { items_.push_back(it); helper(it); }
template <typename T> T twice(T x) { return x * 2; }
using Items = std::vector<Item>;
}
"#,
        defs: &[
            ("acme", DefKind::Module, 2),
            ("Store", DefKind::Class, 3),
            ("add", DefKind::Method, 6),
            ("Store", DefKind::Method, 9),
            ("add", DefKind::Method, 10),
            ("twice", DefKind::Function, 11),
            ("Items", DefKind::Type, 12),
        ],
        refs: &[
            ("vector", RefKind::Import),
            ("push_back", RefKind::Call),
            ("helper", RefKind::Call),
            ("Item", RefKind::Type),
            ("Base", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::CSharp,
        source: r#"using System.Collections.Generic;

namespace Acme.Store
{
    public interface IRepo { Item Find(int id); }
    public struct Point { public int X; }
    public enum Kind { A, B }
    public class Store : Base, IRepo
    {
        public Store() {}
        public int Count { get; }
        public Item Find(int id) { return Lookup(id); }
    }
}
"#,
        defs: &[
            ("Acme.Store", DefKind::Module, 3),
            ("IRepo", DefKind::Interface, 5),
            ("Find", DefKind::Method, 5),
            ("Point", DefKind::Struct, 6),
            ("Kind", DefKind::Enum, 7),
            ("Store", DefKind::Class, 8),
            ("Store", DefKind::Method, 10),
            ("Count", DefKind::Method, 11),
            ("Find", DefKind::Method, 12),
        ],
        refs: &[
            ("System.Collections.Generic", RefKind::Import),
            ("Lookup", RefKind::Call),
            ("Base", RefKind::Type),
            ("IRepo", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Ruby,
        source: r#"require 'json'
require_relative "lib/store"

module Acme
  VERSION = "1.0"
  class Store < Base
    attr_reader :items
    def initialize(items)
      @items = items
    end

    def self.load(path)
      new(JSON.parse(File.read(path)))
    end
  end
end
"#,
        defs: &[
            ("Acme", DefKind::Module, 4),
            ("VERSION", DefKind::Constant, 5),
            ("Store", DefKind::Class, 6),
            ("initialize", DefKind::Method, 8),
            ("load", DefKind::Method, 12),
        ],
        refs: &[
            ("json", RefKind::Import),
            ("store", RefKind::Import),
            ("parse", RefKind::Call),
            ("read", RefKind::Call),
            ("Base", RefKind::Type),
            ("JSON", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Php,
        source: r#"<?php
namespace Acme\Store;

use Acme\Models\Item;

const LIMIT = 10;

interface Repo { public function find(int $id): Item; }
trait Logs { public function log($m) { error_log($m); } }

class Store extends Base implements Repo {
    use Logs;
    public function find(int $id): Item {
        return new Item(helper($id));
    }
}

function helper($x) { return $x; }
"#,
        defs: &[
            ("Acme\\Store", DefKind::Module, 2),
            ("LIMIT", DefKind::Constant, 6),
            ("Repo", DefKind::Interface, 8),
            ("Logs", DefKind::Trait, 9),
            ("log", DefKind::Method, 9),
            ("Store", DefKind::Class, 11),
            ("find", DefKind::Method, 13),
            ("helper", DefKind::Function, 18),
        ],
        refs: &[
            ("Item", RefKind::Import),
            ("Item", RefKind::Type),
            ("helper", RefKind::Call),
            ("error_log", RefKind::Call),
            ("Base", RefKind::Type),
            ("Repo", RefKind::Type),
        ],
    },
    Case {
        lang: Lang::Bash,
        source: r#"#!/usr/bin/env bash
set -euo pipefail
source ./lib/common.sh
PREFIX=/usr/local

build() {
  make -j4 "$@"
}

function deploy {
  build && rsync -a out/ "$PREFIX"
}

deploy
"#,
        defs: &[
            ("PREFIX", DefKind::Constant, 4),
            ("build", DefKind::Function, 6),
            ("deploy", DefKind::Function, 10),
        ],
        refs: &[
            ("common.sh", RefKind::Import),
            ("make", RefKind::Call),
            ("rsync", RefKind::Call),
            ("build", RefKind::Call),
            ("deploy", RefKind::Call),
        ],
    },
];

#[test]
fn every_language_yields_the_expected_tags() {
    let queries = Queries::new(Assets::new(None));
    let mut problems = Vec::new();
    for case in CASES {
        problems.extend(check(case, &queries));
    }
    let covered: Vec<Lang> = CASES.iter().map(|c| c.lang).collect();
    for lang in Lang::ALL {
        if !covered.contains(&lang) {
            problems.push(format!("no snippet for {}", lang.name()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn broken_source_still_yields_what_parses() {
    let queries = Queries::new(Assets::new(None));
    let src = "fn good() {}\nfn broken( {\n struct Also;\n";
    let (defs, _) = extract(queries.get(Lang::Rust).unwrap(), src.as_bytes()).unwrap();
    assert!(defs.iter().any(|d| d.name == "good"), "{defs:?}");
}

#[test]
fn invalid_utf8_is_tagged_lossily() {
    let queries = Queries::new(Assets::new(None));
    let mut src = b"def caf".to_vec();
    src.push(0xe9);
    src.extend_from_slice(b"():\n    pass\n\ndef ok():\n    pass\n");
    let (defs, _) = extract(queries.get(Lang::Python).unwrap(), &src).unwrap();
    assert!(defs.iter().any(|d| d.name == "ok"), "{defs:?}");
}

#[test]
fn containers_and_doc_comments_are_read_for_every_definition() {
    let queries = Queries::new(Assets::new(None));
    // A flat file of many items (as bindings are), then an impl whose
    // method has a doc comment separated from it by an attribute, and a
    // function whose body the parser never reads.
    let mut src = String::new();
    for i in 0..2000 {
        src.push_str(&format!(
            "/// Item number {i}.\npub const C{i}: u32 = {i};\n"
        ));
    }
    src.push_str(
        "pub struct Store;\n\nimpl Store {\n    /// Opens the store.\n    #[inline]\n    pub fn open() -> Self {\n        fn inner() {}\n        Store\n    }\n}\n",
    );
    let (defs, _) = extract(queries.get(Lang::Rust).unwrap(), src.as_bytes()).unwrap();
    let c1999 = defs
        .iter()
        .find(|d| d.name == "C1999")
        .expect("the last const");
    assert_eq!(
        (c1999.doc.as_str(), c1999.container.as_deref()),
        ("Item number 1999.", None)
    );
    assert_eq!(c1999.start_line, 4000);
    let open = defs.iter().find(|d| d.name == "open").expect("open");
    assert_eq!(open.container.as_deref(), Some("Store"));
    assert_eq!(open.doc, "Opens the store.");
    assert_eq!((open.start_line, open.end_line), (4006, 4009));
    assert!(
        !defs.iter().any(|d| d.name == "inner"),
        "a function's body is not parsed: {defs:?}"
    );

    let py = "class Repo:\n    def load(self):\n        \"\"\"Loads it. Then more.\"\"\"\n        return 1\n";
    let (defs, _) = extract(queries.get(Lang::Python).unwrap(), py.as_bytes()).unwrap();
    let load = defs.iter().find(|d| d.name == "load").unwrap();
    assert_eq!(load.container.as_deref(), Some("Repo"));
    assert_eq!(load.doc, "Loads it.");
}

/// The registry's sources of a crate locus depends on (cargo downloaded
/// them to build locus): `$CARGO_HOME/registry/src/*/NAME-*`.
fn registry_crate(prefix: &str) -> std::path::PathBuf {
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"),
        std::path::PathBuf::from,
    );
    let mut found: Vec<_> = std::fs::read_dir(home.join("registry/src"))
        .expect("the cargo registry's sources")
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("no {prefix}* in the cargo registry"))
}

#[test]
fn generated_rust_read_by_the_lexer_matches_the_parser_on_real_bindings() {
    // linux-raw-sys (a dependency of locus): bindgen's output, the bulk of
    // the generated Rust a cold index meets. Every definition the parser
    // and query find, the lexer finds with the same kind, lines, first
    // line, container and doc comment, and nothing more.
    let queries = Queries::new(Assets::new(None));
    let q = queries.get(Lang::Rust).unwrap();
    let dir = registry_crate("linux-raw-sys-").join("src/x86_64");
    let (mut files, mut defs, mut methods) = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            locus::index::says_generated(&bytes[..bytes.len().min(2048)]),
            "{path:?}"
        );
        let (want, want_refs) = extract(q, &bytes).unwrap();
        let (got, got_refs) = locus::index::file_tags(q, &bytes, true).unwrap();
        assert_eq!(got, want, "{path:?}");
        // Uses: the lexer's are its own reading, but the imports and the
        // capitalised types the parser saw (`Self` and the definitions'
        // own names aside) are there.
        for r in want_refs.iter().filter(|r| {
            r.kind == RefKind::Import
                || (r.name != "Self"
                    && r.name.starts_with(|c: char| c.is_ascii_uppercase())
                    && !want
                        .iter()
                        .any(|d| d.name == r.name && d.start_line == r.line))
        }) {
            assert!(
                got_refs
                    .iter()
                    .any(|g| g.name == r.name && g.line == r.line),
                "{path:?}: {r:?}"
            );
        }
        files += 1;
        defs += want.len();
        methods += want.iter().filter(|d| d.kind == DefKind::Method).count();
    }
    assert!(
        files >= 10 && defs >= 10_000 && methods >= 50,
        "{files} {defs} {methods}"
    );
}

#[test]
fn large_rust_files_read_by_the_lexer_match_the_parser_on_real_crates() {
    // A Rust file of 64 KiB or more is read by the lexer (file_tags): on
    // the large files of syn, regex-syntax and tokio (dependencies of
    // locus, hand-written and generated), its definitions are the
    // parser's, field for field.
    let queries = Queries::new(Assets::new(None));
    let q = queries.get(Lang::Rust).unwrap();
    let (mut files, mut defs) = (0, 0);
    for prefix in ["syn-2.", "regex-syntax-", "tokio-1."] {
        let mut stack = vec![registry_crate(prefix)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                if path.extension().is_none_or(|e| e != "rs") || bytes.len() < 64 * 1024 {
                    continue;
                }
                let (want, _) = extract(q, &bytes).unwrap();
                let (got, _) = locus::index::file_tags(q, &bytes, false).unwrap();
                assert_eq!(got, want, "{path:?}");
                files += 1;
                defs += want.len();
            }
        }
    }
    assert!(
        files >= 15 && defs >= 2_000,
        "{files} files, {defs} definitions"
    );
}
