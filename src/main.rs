use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// jemalloc rather than the C library's allocator: on the sign page glibc's malloc and free
/// took about a sixth of the portal's CPU, and with jemalloc the portal spends about a fifth
/// less per page (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts: memory freed is handed back to the system within
/// a second, and two arenas are enough for a handful of threads. With these the portal's peak
/// memory stays where it was with glibc (57 MiB after 300 sign-ins, 68 MiB with 256
/// connections open), where mimalloc, as fast, kept 90 MiB.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2\0";

fn main() -> ExitCode {
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
