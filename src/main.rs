//! The `kingress` binary: parse the command line once, then run a mode.
#![forbid(unsafe_code)]

use clap::Parser;
use kingress::cli::{Cli, Command, EXIT_USAGE};
use kingress::run::{self, RunError};
use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: the proxy allocates and frees many
/// small and 8 KiB buffers per request, and glibc spent over a tenth of the
/// proxy's CPU in malloc, free and chunk consolidation under load.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            // --help and --version print and exit 0; real errors exit 64.
            let _ = e.print();
            return if usage {
                ExitCode::from(EXIT_USAGE as u8)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let log_format = match &cli.command {
        Command::Run(a) => a.serve.log_format.clone(),
        Command::Standalone(a) => a.serve.log_format.clone(),
        Command::Crds => "text".into(),
    };
    // Held to the end of `main`: dropping it writes out the last lines.
    let _log_writer = init_tracing(&log_format);

    // TOKIO_WORKER_THREADS=1 (one core per proxy, as in bench/run): a
    // current-thread runtime runs every task on this thread, without the
    // multi-thread scheduler's atomics, queues and wake-ups across the main
    // and the worker thread; it cut the proxy's CPU per request by a sixth.
    // Blocking work still goes to `spawn_blocking` threads either way.
    let one_worker = std::env::var("TOKIO_WORKER_THREADS").is_ok_and(|v| v.trim() == "1");
    let mut builder = if one_worker {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kingress: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Crds => {
                print!("{}", kingress::crd::generate::yaml());
                Ok(())
            }
            Command::Standalone(args) => run::standalone(args).await,
            Command::Run(args) => run::cluster::run_from_args(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Usage(msg)) => {
            eprintln!("kingress: {msg}");
            ExitCode::from(EXIT_USAGE as u8)
        }
        Err(e) => {
            eprintln!("kingress: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines, one per request with the access log on, are formatted on the
/// thread that logs and written to stderr by a thread of their own that
/// writes whatever has queued up in one go: a `write` per line cost the proxy
/// about a sixth of its CPU per request. The queue is bounded and not lossy:
/// when the writer falls behind, loggers wait rather than drop lines.
fn init_tracing(format: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("kingress-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINGRESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}
