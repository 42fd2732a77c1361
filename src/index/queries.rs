//! The compiled tags queries, one per language, compiled on first use (a big
//! grammar's query takes tens of milliseconds) and shared by all workers.

use std::sync::OnceLock;

use crate::assets::Assets;

use super::lang::Lang;
use super::tags::{TagQuery, TagsError};

pub struct Queries {
    assets: Assets,
    compiled: [OnceLock<Result<TagQuery, String>>; Lang::ALL.len()],
}

impl Queries {
    pub fn new(assets: Assets) -> Queries {
        Queries {
            assets,
            compiled: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The query for `lang`; a user's override that does not compile is an
    /// error for that language (reported per file), not a crash.
    pub fn get(&self, lang: Lang) -> Result<&TagQuery, &str> {
        let i = Lang::ALL
            .iter()
            .position(|l| *l == lang)
            .expect("every language is in ALL");
        self.compiled[i]
            .get_or_init(|| {
                let path = lang.tags_query_path();
                let src = self.assets.get(&path).map_err(|e| e.to_string())?;
                TagQuery::new(lang, &src).map_err(|e: TagsError| {
                    match self.assets.override_path(&path) {
                        Some(p) => format!("{e} (in {})", p.display()),
                        None => e.to_string(),
                    }
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Where the queries come from (shipped, or the user's overrides).
    pub fn assets(&self) -> &Assets {
        &self.assets
    }

    /// A fingerprint of every query's text, so a cache made with other queries is not trusted.
    pub fn fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for lang in Lang::ALL {
            if let Ok(src) = self.assets.get(&lang.tags_query_path()) {
                h.update(src.as_bytes());
            }
        }
        h.digest()
    }
}
