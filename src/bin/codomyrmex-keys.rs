//! Operator command-line tool (being written).

fn main() {}
