#!/usr/bin/env bash
# Runs commands side by side and fails if any of them fails: `npm test`'s steps that do not
# depend on each other (lint, format, types; the build, then the test tools and the NestJS
# 12 fixture), which one after another left a core idle (each is one process on one core,
# or waits on the network or apt). Each command's output is kept and printed whole once
# all have ended, in the order given, with how long it took, so that the log reads as if
# they had run in turn.
set -uo pipefail

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pids=()
for i in $(seq 1 $#); do
  (
    start=$SECONDS
    bash -c "${!i}" >"$dir/$i.out" 2>&1
    code=$?
    echo "$code $((SECONDS - start))" >"$dir/$i.status"
    exit "$code"
  ) &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
for i in $(seq 1 $#); do
  read -r code took <"$dir/$i.status"
  echo "> ${!i}: $([ "$code" = 0 ] && echo ok || echo "FAILED ($code)"), ${took} s"
  cat "$dir/$i.out"
done
exit "$failed"
