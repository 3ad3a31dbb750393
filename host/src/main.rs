use std::process::ExitCode;

use clap::Parser;
use stampede::cli::{self, Cli, Command, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stampede: cannot start the async runtime: {e}");
            return ExitCode::from(exit::CONFIG_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => {
                let cfg = args.config()?;
                let thresholds = cli::parse_thresholds(&args.thresholds)?;
                cli::execute(cfg, &thresholds, &args.outputs, args.quiet).await
            }
            Command::Demo(args) => cli::demo(args).await,
            Command::DemoTarget(args) => stampede::demo::run_target(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line: the error and its causes, joined.
            eprintln!("stampede: error: {e:#}");
            ExitCode::from(exit::CONFIG_ERROR)
        }
    }
}
