#!/usr/bin/env bash
# Regenerate the option list in README.md from the option table
# (`newsdedup help --markdown`). Usage: scripts/update-readme-options.sh [path/to/newsdedup]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/cli/newsdedup}
python3 - "$bin" <<'PY'
import subprocess, sys, re
md = subprocess.run([sys.argv[1], "help", "--markdown"], check=True,
                    capture_output=True, text=True).stdout
readme = open("README.md", encoding="utf-8").read()
new = re.sub(r"(<!-- options:begin -->\n).*?(<!-- options:end -->)",
             lambda m: m.group(1) + md + m.group(2), readme, flags=re.S)
open("README.md", "w", encoding="utf-8").write(new)
PY
