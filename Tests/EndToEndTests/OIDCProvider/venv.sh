#!/usr/bin/env bash
# The Python environment of the test OpenID Connect provider (IdentityPython's idpyoidc from
# PyPI), made once under DIR (default .build/oidc-venv) and reused: `make test` and the
# end-to-end test call this. Prints the venv's python.
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/../../.." && pwd)/.build/oidc-venv}"
if ! "$dir/bin/python" -c 'import idpyoidc' 2>/dev/null; then
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check 'idpyoidc==5.0.0' >&2
fi
echo "$dir/bin/python"
