#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ for a bounded time; exit non-zero on a crash.
#
#   tests/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 20 s, every target)
#
# Toolchain: cargo-fuzz defaults to AddressSanitizer, which needs nightly (`-Zsanitizer`).
# On the stable toolchain `--sanitizer none` works (libFuzzer's coverage instrumentation uses
# stable flags only); Rust code is memory-safe here (`unsafe_code = "forbid"`), so ASan adds
# little and panics are what the targets look for. Set FUZZ_SANITIZER=address together with
# RUSTC_BOOTSTRAP=1 (or a nightly toolchain) to use ASan anyway.
# The fuzz crate is its own workspace (empty [workspace] table in fuzz/Cargo.toml): the main
# workspace never builds it. Seeds live in fuzz/seeds/<target>; libFuzzer's growing corpus
# (fuzz/corpus/) and crash inputs (fuzz/artifacts/) are git-ignored.
set -euo pipefail

secs="${1:-20}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi

sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer "$sanitizer"

# Scratch space for targets that need files (api_request's SQLite store): tmpfs if possible.
scratch="$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/lucent-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
export LUCENT_FUZZ_TMP="$scratch"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    seeds=()
    if [ -d "seeds/$t" ]; then
        seeds=("seeds/$t")
    fi
    echo "== fuzz $t for ${secs}s" >&2
    log="$(mktemp)"
    if cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" >&2 || true
    else
        # The panic message first (a backtrace can push it out of the tail), then the tail.
        grep -E -A4 "panicked at" "$log" | head -n 20 >&2 || true
        tail -n 60 "$log" >&2
        failed+=("$t")
    fi
    rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${secs}s each, no crash" >&2
