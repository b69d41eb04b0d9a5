#!/usr/bin/env bash
# run.sh runs every demo and prints one summary row per demo.
#
#   ./run.sh                        every demo in every chapter
#   ./run.sh 02-protocols           one chapter
#   ./run.sh 04-execution/sharding  one demo (or several paths)
#
# A demo is any `package main` under the chapter folders; run.sh finds them
# with `go list`, builds each once, runs it with no flags (its self-contained
# scenario) under a timeout, prints the output of any demo that failed, and
# exits non-zero if one did. RUN_TIMEOUT (seconds, default 60) bounds each.
set -u
cd "$(dirname "$0")" || exit 2

chapters=(01-patterns 02-protocols 03-https 04-execution 05-proxying)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for c in "${chapters[@]}"; do
    [ -d "$c" ] && targets+=("$c")
  done
fi
limit=${RUN_TIMEOUT:-60}

demos=()
for t in "${targets[@]}"; do
  t=${t%/}
  t=${t#./}
  if [ ! -d "$t" ]; then
    echo "run.sh: no such chapter or demo: $t" >&2
    exit 2
  fi
  # go list skips nested test-only modules and testdata by itself.
  while IFS= read -r d; do
    [ -n "$d" ] && demos+=("$d")
  done < <(go list -f '{{if eq .Name "main"}}{{.Dir}}{{end}}' "./$t/..." 2>/dev/null)
done
if [ ${#demos[@]} -eq 0 ]; then
  echo "run.sh: no demos under: ${targets[*]}" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$(pwd)

printf 'building %d demos...\n' "${#demos[@]}"
for dir in "${demos[@]}"; do
  rel=${dir#"$root"/}
  name=${rel//\//__}
  if ! go build -o "$work/$name" "./$rel" 2>"$work/$name.build"; then
    echo "build failed: $rel"
    cat "$work/$name.build"
  fi
done

failed=0
rows=()
for dir in "${demos[@]}"; do
  rel=${dir#"$root"/}
  name=${rel//\//__}
  chapter=${rel%%/*}
  demo=${rel#*/}
  start=$(date +%s.%N)
  if [ -x "$work/$name" ]; then
    timeout -k 5 "$limit" "$work/$name" >"$work/$name.out" 2>&1
    rc=$?
  else
    cp "$work/$name.build" "$work/$name.out"
    rc=1
  fi
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
  if [ $rc -eq 0 ]; then
    status=pass
  else
    status=FAIL
    failed=$((failed + 1))
    [ $rc -eq 124 ] && echo "$rel: killed after ${limit}s" >>"$work/$name.out"
    echo "---- $rel failed (exit $rc); its output:"
    sed 's/^/    /' "$work/$name.out"
  fi
  printf '%-14s %-28s %s %6ss\n' "$chapter" "$demo" "$status" "$secs"
  rows+=("$(printf '%-14s %-28s %-5s %6ss' "$chapter" "$demo" "$status" "$secs")")
done

echo
printf '%-14s %-28s %-5s %7s\n' chapter demo result time
printf '%s\n' "${rows[@]}"
echo
if [ $failed -gt 0 ]; then
  echo "$failed of ${#demos[@]} demos failed"
  exit 1
fi
echo "all ${#demos[@]} demos passed"
