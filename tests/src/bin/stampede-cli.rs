//! The `stampede` program, built inside the test package so its integration tests get
//! the binary's path from cargo (a package's tests cannot ask for another's binary).
fn main() -> std::process::ExitCode {
    stampede::cli::main()
}
