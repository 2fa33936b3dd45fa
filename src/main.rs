// The allocator: kiln's work is many small JSON values made and dropped; mimalloc serves them
// in about half the instructions of the system allocator (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kiln::cli::main()
}
