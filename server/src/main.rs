use std::process::ExitCode;

use clap::Parser;
use schalter_server::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    schalter_server::http::telemetry::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("schalter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, no panic, no backtrace: operators read this in a terminal or a unit log.
            eprintln!("schalter: {e}");
            ExitCode::FAILURE
        }
    }
}
