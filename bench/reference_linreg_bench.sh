#!/bin/sh
# bench/reference_linreg_bench.sh: the paper's linear-regression experiment
# (§3.1: 5 reps, up to 500 steps of 8 proposals, w_true=15, b_true=14) run
# by the reference implementation -- google-deepmind/opro's
# opro/optimization/optimize_linear_regression.py under Python 3 + numpy --
# and by opro-lua's examples/linear_regression.lua, both against opro-sim
# with the same latency. Prints a Markdown section (see bench/run).
#
#   OPRO_REF=DIR sh bench/reference_linreg_bench.sh
#
# OPRO_REF names a checkout of google-deepmind/opro (never vendored here).
# Its script and opro/prompt_utils.py are copied into a temporary directory
# (so its outputs/ folder lands there, not in the checkout) and run with
# bench/ref_stub on PYTHONPATH: a stand-in for the old `openai` module
# (openai<1.0: openai.ChatCompletion.create) that sends the calls to
# opro-sim, a stub for google.generativeai (imported, never called) and,
# when absl-py is not installed, a tiny absl (app.run, flags.DEFINE_*).
# Without OPRO_REF the section says it was skipped.
#
# Environment: OPRO_REF_PYTHON (/usr/bin/python3: Debian's, with
# python3-numpy), OPRO_REF_LATENCY_MS (50), OPRO_REF_RUNS (3: runs of each
# configuration; the table shows medians).
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
title="## The reference implementation: linear regression, google-deepmind/opro vs opro-lua"
py=${OPRO_REF_PYTHON:-/usr/bin/python3}
latency=${OPRO_REF_LATENCY_MS:-50}
runs=${OPRO_REF_RUNS:-3}

skip() {
  printf '%s\n\nSkipped: %s\n' "$title" "$1"
  exit 0
}

[ -n "$OPRO_REF" ] || skip "OPRO_REF is not set. Give a checkout of google-deepmind/opro, e.g. \`make bench OPRO_REF=/tmp/opro-ref\` (see bench/README.md)."
ref_script="$OPRO_REF/opro/optimization/optimize_linear_regression.py"
[ -f "$ref_script" ] && [ -f "$OPRO_REF/opro/prompt_utils.py" ] ||
  skip "OPRO_REF=$OPRO_REF is not a checkout of google-deepmind/opro (no opro/optimization/optimize_linear_regression.py or opro/prompt_utils.py)."
[ -x "$py" ] || skip "$py not found (set OPRO_REF_PYTHON)."
"$py" -c 'import numpy' 2>/dev/null || skip "$py has no numpy (apt-get install python3-numpy)."
[ -x bin/opro-sim ] && [ -x bin/opro-lua ] || skip "bin/opro-lua or bin/opro-sim is not built (run \`make\`)."

tmp=$(mktemp -d /tmp/opro-refbench.XXXXXX) || exit 1
sim=
stop_sim() {
  if [ -n "$sim" ]; then kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; fi
  sim=
}
trap 'stop_sim; rm -rf "$tmp"' EXIT
trap 'stop_sim; rm -rf "$tmp"; exit 130' INT TERM

mkdir -p "$tmp/ref/opro/optimization" || exit 1
cp "$OPRO_REF/opro/prompt_utils.py" "$tmp/ref/opro/" || exit 1
cp "$ref_script" "$tmp/ref/opro/optimization/" || exit 1
ref_commit=$(git -C "$OPRO_REF" rev-parse --short HEAD 2>/dev/null || echo "unknown commit")

pypath="$root/bench/ref_stub"
absl=absl-py
if ! "$py" -c 'import absl.app, absl.flags' 2>/dev/null; then
  pypath="$pypath:$root/bench/ref_stub/absl_stub"
  absl="bench/ref_stub/absl_stub (absl-py is not installed)"
fi

# A fresh opro-sim for every run: the reference sends no seed, so the
# simulator's answers follow its request counter; a fresh one makes every
# run of a configuration the same run.
start_sim() {
  rm -f "$tmp/port"
  bin/opro-sim --port-file "$tmp/port" --seed 1 --latency-ms "$latency" --quiet >"$tmp/sim.log" 2>&1 &
  sim=$!
  tries=0
  while [ ! -s "$tmp/port" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ] || ! kill -0 "$sim" 2>/dev/null; then
      echo "reference_linreg_bench: opro-sim did not start" >&2; cat "$tmp/sim.log" >&2; exit 1
    fi
    sleep 0.05
  done
  base="http://127.0.0.1:$(cat "$tmp/port")"
}

sim_requests() {
  "$py" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))["requests"])' "$base"
}

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2"; }

median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run NAME CMD...: one run against a fresh sim; appends "wall cpu calls steps" to $tmp/NAME.runs
run() {
  name=$1; shift
  start_sim
  # http://SIM/v1 in the arguments: this run's simulator
  for a do
    shift
    [ "$a" = "http://SIM/v1" ] && a="$base/v1"
    set -- "$@" "$a"
  done
  "$py" "$root/bench/lib/measure.py" "$tmp/measure" env OPENAI_API_BASE="$base/v1" PYTHONPATH="$pypath" \
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  calls=$(sim_requests)
  stop_sim
  if [ "$rc" -ne 0 ]; then
    echo "reference_linreg_bench: $name failed (exit $rc):" >&2
    tail -n 20 "$tmp/$name.err" >&2
    return 1
  fi
  if [ "$name" = reference ]; then
    steps=$(sed -n 's/^num_convergence_steps: \[\(.*\)\]$/\1/p' "$tmp/$name.out" | tr -d ' ')
  else
    steps=$("$py" -c 'import json, sys
s = json.load(open(sys.argv[1]))
print(",".join(str(r["steps"]) if r.get("found") else "not found" for r in s["reps"]))' "$tmp/$name.out")
  fi
  wall=$(field wall "$tmp/measure")
  cpu=$(awk -v u="$(field user "$tmp/measure")" -v s="$(field sys "$tmp/measure")" 'BEGIN { print u + s }')
  echo "$wall $cpu $calls ${steps:-?}" >> "$tmp/$name.runs"
  echo "reference_linreg_bench: $name: wall ${wall}s cpu ${cpu}s calls $calls steps ${steps:-?}" >&2
}

status=0
round=0
while [ "$round" -lt "$runs" ]; do
  round=$((round + 1))
  run reference "$py" "$tmp/ref/opro/optimization/optimize_linear_regression.py" \
    --optimizer=gpt-3.5-turbo --openai_api_key=sk-local || status=1
  run ours bin/opro-lua examples/linear_regression.lua --base-url "http://SIM/v1" --model gpt-3.5-turbo --quiet --json || status=1
  run ours_seq bin/opro-lua examples/linear_regression.lua --base-url "http://SIM/v1" --model gpt-3.5-turbo --quiet --json \
    --concurrency 1 || status=1
done
[ "$status" -eq 0 ] || exit 1

# row NAME LABEL CONCURRENCY
row() {
  f="$tmp/$1.runs"
  wall=$(median $(cut -d' ' -f1 "$f"))
  cpu=$(median $(cut -d' ' -f2 "$f"))
  calls=$(median $(cut -d' ' -f3 "$f"))
  steps=$(head -n1 "$f" | cut -d' ' -f4)
  awk -v l="$2" -v c="$3" -v w="$wall" -v cpu="$cpu" -v n="$calls" -v s="$steps" -v lat="$latency" 'BEGIN {
    ideal = (c == 1) ? sprintf("%.3f", w / (n * lat / 1000)) : "-"
    printf "| %s | %s | %.2f s | %d | %.1f ms | %s | %.2f s | %.0f us | %s |\n", l, c, w, n, w / n * 1e3, s, cpu, cpu / n * 1e6, ideal }'
  echo "$wall" > "$tmp/$1.wall"
}

echo "$title"
echo
echo "The paper's linear-regression experiment (5 reps, up to 500 steps of 8 proposals, 50 points,"
echo "w_true=15, b_true=14, a rep stops when it proposes (w_true, b_true)) against opro-sim with"
echo "${latency} ms latency (a fresh simulator per run, seed 1). Reference: google-deepmind/opro $ref_commit,"
echo "opro/optimization/optimize_linear_regression.py with $($py --version 2>&1), numpy $($py -c 'import numpy; print(numpy.__version__)'),"
echo "bench/ref_stub/openai.py (openai<1.0 API over HTTP, one keep-alive connection) and $absl;"
echo "it calls the LLM one request at a time and runs its reps one after another (plus one test call)."
echo "opro-lua: examples/linear_regression.lua, the same instances (numpy's generator reproduced), reps run"
echo "concurrently. The simulator's answers depend on the request (the reference sends no seed, we send"
echo "the sample index), so the two take different paths to (w_true, b_true): compare the calls too."
echo "CPU = user + system time of the whole process (getrusage). Medians of $runs runs of each."
echo
echo "| implementation | LLM concurrency | wall | LLM calls | wall per call | steps to (w_true, b_true) per rep | CPU | CPU per call | wall / (calls x latency) |"
echo "|---|---:|---:|---:|---:|---|---:|---:|---:|"
row reference "reference (Python 3, numpy)" 1
row ours_seq "opro-lua, --concurrency 1" 1
row ours "opro-lua (default: --concurrency 16)" 16
echo
awk -v r="$(cat "$tmp/reference.wall")" -v o="$(cat "$tmp/ours.wall")" -v s="$(cat "$tmp/ours_seq.wall")" 'BEGIN {
  printf "Wall time, reference / opro-lua: **%.1fx** with the default concurrency, %.2fx with one call at a time.\n", r / o, r / s }'
echo
echo "Commands: \`OPENAI_API_BASE=http://127.0.0.1:PORT/v1 PYTHONPATH=bench/ref_stub[:bench/ref_stub/absl_stub] $py optimize_linear_regression.py --optimizer=gpt-3.5-turbo --openai_api_key=sk-local\`;"
echo "\`bin/opro-lua examples/linear_regression.lua --base-url http://127.0.0.1:PORT/v1 --model gpt-3.5-turbo --quiet --json [--concurrency 1]\`."
