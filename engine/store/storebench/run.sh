#!/usr/bin/env bash
# The full storebench run (about 8 minutes on 2 cores). Results go to the
# directory given as $1 (default: a new temp dir); data files go under $TMPDIR.
# STOREBENCH_SCALE sets the message count of TestScale (default here 200000;
# the README also reports 1000000, a separate run of about 5 minutes).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-$(mktemp -d)}
mkdir -p "$out"
export CGO_ENABLED=0
{ nproc; grep -m1 'model name' /proc/cpuinfo; go version; } | tee "$out/machine.txt"
go test -run XXX -bench . -benchtime 1s -count 3 -timeout 30m . | tee "$out/bench.txt"
go run ./benchtable < "$out/bench.txt" | tee "$out/bench.md"
go test -run 'TestGen|TestStores|TestCrash' -count 1 -v . | tee "$out/crash.txt"
STOREBENCH_SCALE=${STOREBENCH_SCALE:-200000} go test -run TestScale -count 1 -v -timeout 30m . | tee "$out/scale.txt"
STOREBENCH_SIZES=1 go test -run TestBinarySize -count 1 -v . | tee "$out/size.txt"
echo "results in $out"
