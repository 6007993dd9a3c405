#!/usr/bin/env bash
# label: unit  timeout: 60
# The README's option list is the option table's own Markdown: they must not drift.
# (Regenerate with scripts/update-readme-options.sh.)
set -euo pipefail
: "${NEWSDEDUP:?set by ctest}"
src=${ND_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
want=$("$NEWSDEDUP" help --markdown)
got=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$src/README.md" | sed '1d;$d')
if [ "$want" != "$got" ]; then
  echo "README.md option list differs from 'newsdedup help --markdown':"
  diff <(echo "$want") <(echo "$got") | head -20
  echo "run scripts/update-readme-options.sh"
  echo "0 passed, 1 failed"
  exit 1
fi
# Every subcommand's --help names every option of the table for it.
for cmd in dedup run broker demo; do
  "$NEWSDEDUP" "$cmd" --help >/dev/null
done
echo "1 passed, 0 failed"
