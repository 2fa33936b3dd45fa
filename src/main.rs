// The allocator: kiln's work is many small JSON values made and dropped; mimalloc serves them
// in about half the instructions of the system allocator (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its position in `mi_option_e` (mimalloc.h, v3), which
/// the crate's bindings do not name. How long freed memory is kept before it is given back to
/// the system (1,000 ms by default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory is kept for reuse while kiln runs, never given back and faulted in again:
/// `kiln graph` of 50,000 objects spent more time in the kernel doing that (2.2-3.0 s) than
/// in kiln itself (1.7-1.9 s).
fn keep_freed_memory() {
    // SAFETY: setting an option is valid at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kiln::cli::main()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: reading and setting options is valid at any time.
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(get(), 1000, "mimalloc v3's default purge delay (options.c)");
        super::keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
