#!/usr/bin/env bash
# The one-command tour (just demo). Grows with the product.
set -euo pipefail
echo "demo: nothing to show yet" >&2
exit 1
