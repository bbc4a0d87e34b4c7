//! `verta-bench`: Verta's benchmarks. Each measurement prints one machine-readable line,
//! `BENCH <name> backend=<sqlite|mariadb> <key>=<value> ...` (DESIGN.md, Benchmarks).

fn main() {}
