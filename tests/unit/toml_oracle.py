#!/usr/bin/env python3
"""toml_oracle.py RESULTS - check the C TOML parser against Python's tomllib.

RESULTS holds one line per case: "<path>\t<json or ERROR>". A file named valid_* must be
accepted by both with equal values; invalid_* rejected by both; unsupported_* accepted by
tomllib (it is TOML) but rejected by us (outside our subset). Prints N passed, N failed."""
import json, os, sys, tomllib

passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8"):
    path, ours = line.rstrip("\n").split("\t", 1)
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            theirs = tomllib.load(f)
        theirs_err = None
    except Exception as e:  # tomllib.TOMLDecodeError or UnicodeDecodeError
        theirs, theirs_err = None, e
    ok = True
    if name.startswith("valid_"):
        ok = ours != "ERROR" and theirs_err is None and json.loads(ours) == theirs
    elif name.startswith("invalid_"):
        ok = ours == "ERROR" and theirs_err is not None
    elif name.startswith("unsupported_"):
        ok = ours == "ERROR" and theirs_err is None
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"MISMATCH {name}: ours={ours} tomllib={theirs if theirs_err is None else 'ERROR: ' + str(theirs_err)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
