use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = match scrapcert::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A wrong command line exits 64 (EX_USAGE); --help and --version 0.
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return std::process::ExitCode::from(if usage {
                scrapcert::verifier::EXIT_USAGE
            } else {
                0
            });
        }
    };
    match scrapcert::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
