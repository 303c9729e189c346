use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    keep_memory_small();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("aup-portal: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .init();
    let cli = aup_portal::config::Cli::parse();
    match aup_portal::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aup-portal: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Argon2 works in 19 MiB blocks (OWASP's parameters). Once glibc has freed one such block
/// it raises its mmap threshold above that size and serves later blocks from arenas, which
/// keep what they grew to. A fixed threshold hands large blocks straight back. Measured after
/// 600 sign-ins, 64 at a time: peak 76 MiB without it, 57 MiB with it (and 250 MiB before the
/// password threads kept their own block, see `auth::password`).
fn keep_memory_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator, and runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
