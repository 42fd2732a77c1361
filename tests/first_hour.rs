//! What a new user trips over in the first hour, each kept fixed: edits
//! that would empty a file, hunk headers, and the rest of issue 21's list.

use serde_json::Value;

use crate::cloud::{Reply, Server, openai_answer};
use crate::util::{Sandbox, git_init, stderr, stdout};

fn long_file() -> String {
    (1..=20)
        .map(|i| format!("def f{i}():\n    return {i}\n"))
        .collect()
}

/// A model whose edit leaves a file with less than half its lines: `--yes`
/// refuses unless the request asked for a removal; the warning is said.
#[test]
fn an_edit_that_empties_most_of_a_file_is_refused_by_yes_unless_asked() {
    let gutting = "funcs.py\n<<<<<<< SEARCH\n".to_string()
        + &long_file()
        + "=======\ndef f1():\n    return 1\n>>>>>>> REPLACE\n";
    for (instruction, applied) in [
        ("Add a docstring to f1", false),
        ("Remove every function but f1", true),
    ] {
        let server = Server::start(vec![Reply::sse(&openai_answer(&gutting), 64)]);
        let sb = Sandbox::new();
        let root = sb.path("work/p");
        git_init(&root);
        std::fs::write(root.join("funcs.py"), long_file()).unwrap();
        sb.write(
            "config/locus/config.toml",
            &format!(
                "[model]\nprovider = \"mine\"\n\n[providers.mine]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\n",
                server.url("/v1")
            ),
        );
        let out = sb.locus(
            &root,
            &[
                "edit",
                instruction,
                "--file",
                "funcs.py",
                "--yes",
                "--no-tools",
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["removals"][0]["lines"], 40, "{v}");
        let now = std::fs::read_to_string(root.join("funcs.py")).unwrap();
        if applied {
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(now, "def f1():\n    return 1\n");
        } else {
            assert_eq!(out.status.code(), Some(1));
            assert!(
                v["refused"]
                    .as_str()
                    .unwrap()
                    .contains("removes 38 of the 40 lines of funcs.py"),
                "{v}"
            );
            assert_eq!(now, long_file(), "nothing written");
            let out = sb.locus(
                &root,
                &[
                    "edit",
                    instruction,
                    "--file",
                    "funcs.py",
                    "--yes",
                    "--no-tools",
                ],
            );
            assert!(
                stderr(&out).contains("warning: the change removes 38 of the 40 lines"),
                "{}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains("review it without --yes"),
                "{}",
                stderr(&out)
            );
        }
    }
}
