//! Hot paths measured side by side in one process: the library's one-shot
//! HMAC and HKDF beside plain RustCrypto, keyrings (precomputed HMAC keys)
//! beside the two-compression floor, the clocks a keyring can
//! read, and the atomic swap under contention.
//!
//! `cargo bench --bench hot [-- --reps N --ms M]`
//!
//! Every group calibrates each row to a sample of about M ms (default 20),
//! then runs N repetitions (default 15); in each repetition every row takes
//! one sample, in an order that rotates. The table gives the median time
//! per call and the median over repetitions of the ratio row/first row of
//! the group (paired, so load on the machine hits both sides alike).

mod harness;
mod rows;

fn main() {
    let settings = harness::Settings::from_args();
    rows::one_shot(&settings);
    rows::keyrings(&settings);
    rows::clocks(&settings);
    rows::contention(&settings);
}
