#!/bin/sh
# run.sh - builds the libFuzzer harnesses (clang, ASan + UBSan), writes
# their seed corpora from the project's own fixtures, and runs each one for
# SECONDS (default 60). Fails when any harness finds a crash, a leak, a
# timeout or an out-of-memory. See docs/fuzzing.md.
#
#   tests/fuzz/run.sh            # 60 s per harness (CI)
#   tests/fuzz/run.sh 600        # longer
#   DW_FUZZ_ONLY="fuzz_xml fuzz_evtx" tests/fuzz/run.sh 120
#
# Environment: DW_FUZZ_BUILD (build dir, default build-fuzz), DW_FUZZ_JOBS
# (harnesses run at once, default 2), DW_FUZZ_ONLY (harness names),
# DW_SAMPLES (real logs, added read-only to the EVTX corpora when present).
set -eu

secs=${1:-60}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DW_FUZZ_BUILD:-$root/build-fuzz}
jobs=${DW_FUZZ_JOBS:-2}
samples=${DW_SAMPLES:-$root/../shared/samples}
out=$build/fuzz-out

# The fuzz build's own configuration. Warnings are not errors here: the gcc
# builds hold that line, and a clang-only warning must not stop fuzzing.
echo "== building the harnesses in $build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DDUPWATCH_FUZZ=ON \
	-DDUPWATCH_BENCH=OFF -DBUILD_TESTING=ON -DDUPWATCH_WERROR=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_all >/dev/null
bin=$build/tests/fuzz

harnesses=${DW_FUZZ_ONLY:-$(tr ';' ' ' <"$bin/harnesses.txt")}

# Leaks inside libevtx itself are known and not ours (see lsan.supp).
LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

echo "== seed corpora in $out/corpus"
mkdir -p "$out/corpus" "$out/logs" "$out/artifacts"
"$bin/fuzz_seeds" "$out/corpus"

# Real logs, if present, are extra read-only corpora (never copied into the
# repository): whole files for fuzz_evtx, their chunks for fuzz_binxml.
extra_evtx=
extra_chunks=
if [ -d "$samples" ] && ls "$samples"/*.evtx >/dev/null 2>&1; then
	extra_evtx=$samples
	extra_chunks=$out/sample-chunks
	mkdir -p "$extra_chunks"
	for f in "$samples"/*.evtx; do
		n=$(( ($(wc -c <"$f") - 4096) / 65536 ))
		i=0
		while [ "$i" -lt "$n" ] && [ "$i" -lt 8 ]; do
			dd if="$f" of="$extra_chunks/$(basename "$f").$i" bs=65536 count=1 \
				iflag=skip_bytes skip=$((4096 + i * 65536)) 2>/dev/null
			i=$((i + 1))
		done
	done
	echo "== adding $samples (read-only) to the EVTX corpora"
fi

# Per harness: the largest input worth making, and the time one input may take.
opts_for() {
	case $1 in
	fuzz_evtx) echo "-max_len=135168 -timeout=30" ;;     # header + 2 chunks
	fuzz_evtx_tail) echo "-max_len=270336 -timeout=30" ;; # 2 x (header + 2 chunks)
	fuzz_binxml) echo "-max_len=65536 -timeout=10" ;;
	fuzz_xml) echo "-max_len=16384 -timeout=10" ;;
	*) echo "-max_len=8192 -timeout=10" ;;
	esac
}
extra_for() {
	case $1 in
	fuzz_evtx) echo "$extra_evtx" ;;
	fuzz_binxml) echo "$extra_chunks" ;;
	esac
}

run_one() {
	h=$1
	mkdir -p "$out/artifacts/$h"
	# shellcheck disable=SC2046 # options are words
	if "$bin/$h" $(opts_for "$h") -max_total_time="$secs" -print_final_stats=1 \
		-rss_limit_mb=2048 -artifact_prefix="$out/artifacts/$h/" \
		"$out/corpus/$h" "$root/tests/fuzz/regress/$h" $(extra_for "$h") \
		>"$out/logs/$h.log" 2>&1; then
		echo 0 >"$out/logs/$h.rc"
	else
		echo $? >"$out/logs/$h.rc"
	fi
}

echo "== fuzzing for $secs s per harness, $jobs at a time"
n=0
for h in $harnesses; do
	run_one "$h" &
	n=$((n + 1))
	if [ "$n" -ge "$jobs" ]; then
		wait
		n=0
	fi
done
wait

status=0
printf '\n%-16s %8s %12s %8s %8s  %s\n' harness seconds executions exec/s cov result
for h in $harnesses; do
	log=$out/logs/$h.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	rc=$(cat "$out/logs/$h.rc")
	result=ok
	if [ "$rc" != 0 ]; then
		result="FAILED (exit $rc): see $log and $out/artifacts/$h/"
		status=1
	fi
	printf '%-16s %8s %12s %8s %8s  %s\n' "$h" "$secs" "${execs:--}" "${rate:--}" \
		"${cov:--}" "$result"
done
if [ "$status" != 0 ]; then
	echo
	for h in $harnesses; do
		[ "$(cat "$out/logs/$h.rc")" = 0 ] && continue
		echo "== $h: end of $out/logs/$h.log"
		grep -v -e '^#' -e '^INFO' "$out/logs/$h.log" | tail -40
	done
	echo
	echo "To keep a finding as a regression test:"
	echo "  $bin/HARNESS -minimize_crash=1 -runs=10000 ARTIFACT"
	echo "  cp the minimised input to tests/fuzz/regress/HARNESS/"
fi
exit $status
