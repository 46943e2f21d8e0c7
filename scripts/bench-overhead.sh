#!/usr/bin/env bash
# Measures ProfBench itself on this machine (figures for README.md, not a test):
#  1. harness cost per iteration (a loop around blackHole),
#  2. what allocation counting adds to one malloc/free pair,
#  3. run-to-run noise: coefficient of variation of ns/op over 10 runs of a
#     stable benchmark (Sort/n=10000), each run a fresh process.
# Usage: scripts/bench-overhead.sh   (from the repository root; needs cc)
set -euo pipefail
cd "$(dirname "$0")/.."
fixture=fixtures/BenchExamples
swift build -c release --package-path "$fixture" --product ExampleBenchmarks >&2
bench="$(swift build -c release --package-path "$fixture" --show-bin-path)/ExampleBenchmarks"

# Median of the ns/op column of result lines on stdin.
median_ns() {
  awk '/^Benchmark/ { for (i = 3; i < NF; i++) if ($(i + 1) == "ns/op") print $i }' |
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Alloc/objects=0 is a loop around blackHole(i) and nothing else.
overhead=$("$bench" --filter '^Alloc/objects=0$' --count 10 | median_ns)
echo "harness overhead per iteration (loop + blackHole): ${overhead} ns"

baseline_c=$(mktemp)
cc -O2 -o "$baseline_c" scripts/malloc_baseline.c
plain=$(for _ in 1 2 3 4 5; do "$baseline_c"; done | sort -g | sed -n 3p)
rm -f "$baseline_c"
counted=$("$bench" --filter '^Malloc/size=16$' --count 10 | median_ns)
echo "malloc(16)+free: ${plain} ns plain C, ${counted} ns counted in ProfBench" \
  "(difference includes the loop + blackHole overhead above)"

for _ in $(seq 10); do "$bench" --filter '^Sort/n=10000$' --count 1; done |
  awk '/^Benchmark/ { for (i = 3; i < NF; i++) if ($(i + 1) == "ns/op") { x[++n] = $i; s += $i } }
    END { m = s / n; for (i = 1; i <= n; i++) d += (x[i] - m) ^ 2
          printf "Sort/n=10000 over %d runs: mean %.0f ns/op, CV %.2f%%\n", n, m, 100 * sqrt(d / (n - 1)) / m }'
