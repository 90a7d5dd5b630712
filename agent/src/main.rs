//! The `lucent-agent` binary: a panic hook, then [`lucent_agent::run`] and its exit code.
//!
//! Nothing in the agent catches a panic, so a panic never needs to unwind: the hook prints one
//! line and exits with 101, the code an unwinding panic would have ended the process with (from
//! any thread: ureq's resolver thread included). That is what lets build.rs link this binary
//! without unwind tables (~250 KiB of router flash): without the hook, a panic would find no
//! tables and abort (SIGABRT) instead.

use std::io::Write;

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = match payload.downcast_ref::<&str>() {
            Some(s) => s,
            None => payload
                .downcast_ref::<String>()
                .map_or("(no message)", |s| s),
        };
        let msg = msg.replace('\n', " ");
        // Never panic in here (a second panic aborts): a failed write is ignored.
        let _ = match info.location() {
            Some(at) => writeln!(std::io::stderr(), "lucent-agent: panicked at {at}: {msg}"),
            None => writeln!(std::io::stderr(), "lucent-agent: panicked: {msg}"),
        };
        std::process::exit(101);
    }));
    std::process::exit(lucent_agent::run());
}
