//! Key directories that someone tampered with: symbolic links, hard links,
//! FIFOs, directories and sockets where files belong, wrong modes and
//! owners, a lock file that is not ours, the directory renamed or replaced
//! after open.
//!
//! A table: each row names a setup, an operation and the expected result,
//! and every row is also checked for what must never happen. Nothing
//! outside the key directory changes (the whole temporary tree is compared
//! before and after); when the operation fails, the keys survive byte for
//! byte (contents, versions, listing, and every entry not starting with a
//! dot), and the error message is one printable line that holds no key
//! material. The rows are in `files` (the key files, records and lock file)
//! and `dirs` (the key directory), the machinery in `table`.

#[path = "../common/mod.rs"]
mod common;
mod dirs;
mod files;
mod table;

use std::time::Instant;
use table::{Case, Expect, run_case};

#[test]
fn tampered_files_and_directories_are_refused_without_damage() {
    let started = Instant::now();
    let cases: Vec<Case> = files::file_attack_cases()
        .into_iter()
        .chain(dirs::dir_attack_cases())
        .collect();
    // Every case runs, so that one report names all that fail.
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case)));
        if let Err(panic) = outcome {
            failures.push(common::panic_message(panic.as_ref()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    let failing = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Err(_)))
        .count();
    println!(
        "hostile: {} file and directory cases ran ({failing} expected failures, {} successes) in {:.1?}",
        cases.len(),
        cases.len() - failing,
        started.elapsed()
    );
    assert!(cases.len() > 150);
}
