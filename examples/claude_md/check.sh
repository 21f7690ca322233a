#!/bin/sh
# A stand-in harness for examples/claude_md.lua: prints a score (0..100) for
# the CLAUDE.md candidate in "$1". Replace it with your real harness: run
# your agent with the candidate on a few tasks and print the pass rate.
# This one rewards covering the topics a project's CLAUDE.md should cover
# and penalizes length beyond 600 characters.
f="$1"
[ -r "$f" ] || { echo "check.sh: cannot read '$f'" >&2; exit 2; }
score=0
for topic in test build commit style review error doc small; do
  if grep -qi "$topic" "$f"; then score=$((score + 12)); fi
done
len=$(wc -c < "$f")
if [ "$len" -gt 600 ]; then score=$((score - (len - 600) / 20)); fi
[ "$score" -lt 0 ] && score=0
echo "$score"
