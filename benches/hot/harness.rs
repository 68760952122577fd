//! Paired timing: rows of a group alternate within each repetition.

use std::time::Instant;

/// Repetitions and sample length, from `--reps N --ms M`.
pub struct Settings {
    pub reps: usize,
    pub sample_ms: f64,
    pub filter: Option<String>,
}

impl Settings {
    pub fn from_args() -> Settings {
        let mut settings = Settings {
            reps: 15,
            sample_ms: 20.0,
            filter: None,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < args.len() {
            match (args[i].as_str(), args.get(i + 1)) {
                ("--reps", Some(n)) => settings.reps = n.parse().expect("--reps N"),
                ("--ms", Some(ms)) => settings.sample_ms = ms.parse().expect("--ms M"),
                ("--filter", Some(text)) => settings.filter = Some(text.clone()),
                // `cargo bench` passes `--bench`; anything else is ignored.
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        settings
    }
}

/// One row: a name and a call to time.
pub struct Row<'a> {
    pub name: String,
    pub call: Box<dyn FnMut() + 'a>,
}

pub fn row<'a>(name: impl Into<String>, call: impl FnMut() + 'a) -> Row<'a> {
    Row {
        name: name.into(),
        call: Box::new(call),
    }
}

fn sample(call: &mut dyn FnMut(), iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        call();
    }
    start.elapsed().as_secs_f64() / iters as f64
}

fn calibrate(call: &mut dyn FnMut(), target_s: f64) -> u64 {
    let mut iters = 1u64;
    loop {
        let per_call = sample(call, iters);
        if per_call * iters as f64 >= target_s * 0.3 {
            return ((target_s / per_call) as u64).max(1);
        }
        iters *= 4;
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Times `rows` paired and prints the group; returns the median time per
/// call of each row, in nanoseconds.
pub fn group(settings: &Settings, title: &str, mut rows: Vec<Row<'_>>) -> Vec<f64> {
    if let Some(filter) = &settings.filter
        && !title.contains(filter.as_str())
    {
        return Vec::new();
    }
    let target_s = settings.sample_ms / 1e3;
    let iters: Vec<u64> = rows
        .iter_mut()
        .map(|row| calibrate(&mut row.call, target_s))
        .collect();
    let n = rows.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(settings.reps); n];
    for rep in 0..settings.reps {
        for k in 0..n {
            // A different order every repetition.
            let i = (k + rep) % n;
            let per_call = sample(&mut rows[i].call, iters[i]);
            times[i].push(per_call);
        }
    }
    println!("\n== {title} ==");
    println!("{:<58} {:>10} {:>10}", "row", "median", "ratio");
    let mut medians = Vec::new();
    for i in 0..n {
        let med = median(&mut times[i].clone()) * 1e9;
        let mut ratios: Vec<f64> = (0..settings.reps)
            .map(|r| times[i][r] / times[0][r])
            .collect();
        let ratio = median(&mut ratios);
        println!("{:<58} {:>7.1} ns {:>10.3}", rows[i].name, med, ratio);
        medians.push(med);
    }
    medians
}
