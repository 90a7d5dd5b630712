//! Two link options for the agent binary (not its tests), each only where a probe shows that it
//! works, and only for native builds (host = target: a probe must run); cross builds (OpenWrt
//! SDK, musl) never get them.
//!
//! - Packed relative relocations (`-z pack-relative-relocs`, DT_RELR): a position-independent
//!   Rust binary carries one 24-byte RELA entry per pointer in its read-only data (~75 KiB
//!   here), which RELR stores in a few hundred bytes. Same ASLR, smaller file on router flash.
//!   Native glibc builds only, when a probe program linked with the flag by the system C
//!   compiler runs: GNU ld makes such a binary require glibc's `GLIBC_ABI_DT_RELR` (glibc ≥
//!   2.36), so on an older system the probe fails and the flag is left out.
//! - No unwind tables: a linker script that discards `.eh_frame`, `.eh_frame_hdr` and
//!   `.gcc_except_table` (~250 KiB). The workspace keeps `panic = "unwind"` for lucentd, so
//!   rustc emits the tables, but the agent never unwinds: main.rs installs a panic hook that
//!   prints one line and exits with 101 before any unwinding starts. The probe is a Rust program
//!   with such a hook, built by the same rustc, flags and linker as the agent, that must link
//!   with the script, panic and exit through its hook. Debuggers and profilers lose the tables
//!   too (the release binary is stripped anyway).
//! - Identical code folding (`--icf=all`, rust-lld's and gold's; GNU ld has none): functions
//!   whose machine code and relocations are identical, mostly generic instances, are kept once
//!   (~8 KiB). Rust does not promise distinct addresses for distinct functions (rustc marks them
//!   `unnamed_addr`), and neither the agent nor its dependencies compare function pointers; data
//!   is never folded. Same Rust probe as above, linked with the flag.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    if target != host {
        return;
    }
    let gnu = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if gnu && relr_works(&out) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if let Some(arg) = no_unwind_tables(&out, &target) {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    if rust_probe_runs(&out, &target, "icf", "-Wl,--icf=all") {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// Link `int main(){return 0;}` (plus one relative relocation) with the flag and run it.
fn relr_works(out: &Path) -> bool {
    let src = out.join("relr_probe.c");
    let exe = out.join("relr_probe");
    let code = "static int x; int *p = &x; int main(void) { return *p; }\n";
    if std::fs::write(&src, code).is_err() {
        return false;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(cc);
    cmd.args(["-pie", "-fPIE", "-Wl,-z,pack-relative-relocs", "-o"])
        .arg(&exe)
        .arg(&src);
    succeeds(&mut cmd) && runs_with(&exe, 0)
}

const NO_UNWIND_SCRIPT: &str = "\
/* lucent-agent: no unwind tables (agent/build.rs). Added to the default script. */
SECTIONS
{
  /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.gcc_except_table) *(.gcc_except_table.*) }
}
INSERT AFTER .text;
";

/// A program that panics with a hook that exits 42, as the agent's does with 101.
const PROBE: &str = "\
fn main() {
    std::panic::set_hook(Box::new(|_| std::process::exit(42)));
    if std::env::args().count() < 1000 {
        panic!(\"probe\");
    }
}
";

/// The linker argument that drops the unwind tables, if the probe links with it and exits
/// through its panic hook.
fn no_unwind_tables(out: &Path, target: &str) -> Option<String> {
    let script = out.join("no-unwind-tables.ld");
    // `-Wl,` splits at commas: a path with one cannot be passed this way.
    let arg = format!("-Wl,-T,{}", script.to_str().filter(|s| !s.contains(','))?);
    std::fs::write(&script, NO_UNWIND_SCRIPT).ok()?;
    rust_probe_runs(out, target, "no_unwind", &arg).then_some(arg)
}

/// Builds the probe program with `link_arg` as the agent would be built (same rustc, target,
/// flags and linker), runs it, and tells whether it exited through its panic hook.
fn rust_probe_runs(out: &Path, target: &str, name: &str, link_arg: &str) -> bool {
    let src = out.join(format!("{name}_probe.rs"));
    let exe = out.join(format!("{name}_probe"));
    if std::fs::write(&src, PROBE).is_err() {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.args(["--edition=2021", "--crate-type=bin", "--target", target]);
    // The flags and linker cargo gives rustc for this target, so the probe links like the agent.
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        cmd.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        let mut l = std::ffi::OsString::from("linker=");
        l.push(linker);
        cmd.arg("-C").arg(l);
    }
    cmd.arg("-C")
        .arg(format!("link-arg={link_arg}"))
        .arg("-o")
        .arg(&exe)
        .arg(&src);
    succeeds(&mut cmd) && runs_with(&exe, 42)
}

/// Run `cmd` with its output discarded; did it exit 0?
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn runs_with(exe: &Path, code: i32) -> bool {
    Command::new(exe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.code() == Some(code))
}
