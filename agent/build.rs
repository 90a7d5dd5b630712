//! Packs the agent binary's relative relocations (`-z pack-relative-relocs`, DT_RELR): a
//! position-independent Rust binary carries one 24-byte RELA entry per pointer in its
//! read-only data (~75 KiB here), which RELR stores in a few hundred bytes. Same ASLR, smaller
//! file on router flash.
//!
//! Only when it is known to work: a native glibc build (host = target), and a probe program
//! linked with the flag by the system C compiler runs. GNU ld makes such a binary require
//! glibc's `GLIBC_ABI_DT_RELR` (glibc ≥ 2.36), so on an older system the probe fails and the
//! flag is left out; cross builds (OpenWrt SDK, musl) never get it.

use std::env;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    let gnu = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if target != host || !gnu {
        return;
    }
    if relr_works() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Link `int main(){return 0;}` (plus one relative relocation) with the flag and run it.
fn relr_works() -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let src = out.join("relr_probe.c");
    let exe = out.join("relr_probe");
    let code = "static int x; int *p = &x; int main(void) { return *p; }\n";
    if std::fs::write(&src, code).is_err() {
        return false;
    }
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let linked = Command::new(cc)
        .args(["-pie", "-fPIE", "-Wl,-z,pack-relative-relocs", "-o"])
        .arg(&exe)
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    linked
        && Command::new(&exe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
