fn main() -> std::process::ExitCode {
    tetrascope::cli::run()
}
