//! The `trireme` binary: parses arguments and hands over to [`trireme_cli::run_main`].

fn main() -> std::process::ExitCode {
    trireme_cli::run_main()
}
