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
        Command::Crds | Command::Check(_) => "text".into(),
    };
    // Held to the end of `main`: dropping it writes out the last lines.
    let _log_writer = run::logging::init(&log_format);

    if let Command::Check(args) = &cli.command {
        // Exit 1 on problems, as linters do: CI fails the step.
        return match run::check::run(args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("kingress: {e}");
                ExitCode::from(EXIT_USAGE as u8)
            }
        };
    }

    let workers = match run::workers() {
        Ok(workers) => workers,
        Err(msg) => {
            eprintln!("kingress: {msg}");
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    // One worker (one core per proxy, as in bench/run): a current-thread
    // runtime runs every task on this thread, without the multi-thread
    // scheduler's atomics, queues and wake-ups across threads; it cut the
    // proxy's CPU per request by a sixth. With more, the proxy's workers
    // are threads with runtimes of their own (see `ProxyConfig::workers`)
    // and this runtime keeps the control plane, the Admin API, the status
    // listener and the health checks, on two threads so that a long
    // translation does not hold up the others.
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    };
    // Blocking work goes to `spawn_blocking` threads either way.
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
            Command::Check(_) => Ok(()),
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
