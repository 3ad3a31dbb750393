fn main() -> std::process::ExitCode {
    stampede_cli::main()
}
