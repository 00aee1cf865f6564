use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = scrapcert::cli::Cli::parse();
    match scrapcert::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
