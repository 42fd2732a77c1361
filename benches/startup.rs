//! Start-up costs a user pays on every invocation: parsing the command line
//! and loading the layered config.

use clap::Parser;
use criterion::{Criterion, criterion_group, criterion_main};
use locus::cli::Cli;

fn startup(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("user.toml");
    let repo = dir.path().join("repo.toml");
    std::fs::write(
        &user,
        "[ui]\ntheme = \"light\"\n[index]\nmax_file_bytes = 2000000\n",
    )
    .unwrap();
    std::fs::write(&repo, "[index]\nexclude = [\"*.gen.rs\"]\n").unwrap();
    c.bench_function("config_load_user_repo_env", |b| {
        b.iter(|| {
            let env = vec![("LOCUS_LOG".to_string(), "debug".to_string())];
            locus::config::load(&user, Some(&repo), env).unwrap()
        })
    });
    c.bench_function("cli_parse_help", |b| {
        b.iter(|| Cli::try_parse_from(["locus", "--help"]).unwrap_err())
    });
}

criterion_group!(benches, startup);
criterion_main!(benches);
