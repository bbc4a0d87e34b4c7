//! `cargo run -p migration -- up|down|status|fresh|refresh|reset`
//!
//! Uses `DATABASE_URL` (also read from `.env`), defaulting to the SQLite file the app uses.

fn main() {
    dotenvy::dotenv().ok();
    if std::env::var_os("DATABASE_URL").is_none() {
        // SAFETY: no other thread exists yet (the runtime is built below).
        unsafe { std::env::set_var("DATABASE_URL", migration::DEFAULT_DATABASE_URL) };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(sea_orm_migration::cli::run_cli(migration::Migrator));
}
