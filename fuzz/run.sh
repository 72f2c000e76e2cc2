#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time: fuzz/run.sh BUILD_DIR SECONDS TARGET...
# (fuzz_h5_arrays reads unsealed files in a forked child, as the library does: when libhdf5 asks
# for tens of GB there, the child's libFuzzer reports out-of-memory and leaves an oom-* file;
# the library turns that child's failure into InputError, and only the parent's result counts.)
# Each target starts from its committed seeds (fuzz/corpus/<target>) plus the inputs earlier
# runs kept (BUILD_DIR/work/<target>); a crash writes BUILD_DIR/artifacts/<target>-crash-*
# and fails the run. Prints one line per target: executions, seconds, corpus size.
set -euo pipefail
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/artifacts"
# allocator_may_return_null: a huge malloc inside libhdf5 fails as it would without ASan (HDF5
# reports it) instead of aborting; the leak suppressions cover third-party libraries only.
export ASAN_OPTIONS=allocator_may_return_null=1:${ASAN_OPTIONS:-}
export LSAN_OPTIONS=suppressions=$here/lsan.supp:${LSAN_OPTIONS:-}
# The file-reading targets write each input to a scratch file there.
export TMPDIR="$build/tmp"
mkdir -p "$TMPDIR"
status=0
for target in "$@"; do
  mkdir -p "$build/work/$target"
  log="$build/work/$target.log"
  start=$(date +%s)
  if ! "$build/$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
      "$build/work/$target" "$here/corpus/$target" >"$log" 2>&1; then
    status=1
    echo "$target: FAILED (see $log and $build/artifacts/)"
    grep -E "^(==[0-9]+==ERROR|SUMMARY)" "$log" | head -4 || true
    continue
  fi
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | tail -1 | grep -Eo "[0-9]+$")
  echo "$target: $runs executions in $(( $(date +%s) - start )) s," \
       "corpus $(ls "$build/work/$target" | wc -l) inputs, no crash"
done
exit $status
