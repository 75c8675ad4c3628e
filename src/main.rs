//! The `medopt` binary: parse the command line and hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    medopt::cli::run(medopt::cli::Cli::parse()).await
}
