# SPDX-License-Identifier: GPL-3.0-or-later
"""Verification time per image: _sigverify.verify_image against a real registry.

Run where the verifier runs (a managed host, the authorization plugin's host),
with the collection's module_utils importable from --collections:

  sigverify_bench.py --collections DIR --key a.pub --ca-file ca.crt --rounds 20 REF [REF ...]

Each round verifies every REF once, on fresh connections (as the module and a
plugin without a cache do). Prints one JSON document: the Python and
cryptography versions, and per image the outcome and min / median / max wall
time in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import typing as t


def measure(verify: t.Callable[..., t.Any], ref: str, keys: list[bytes], rounds: int, **kw: t.Any) -> dict[str, t.Any]:
    times, outcome = [], ""
    for _round in range(rounds):
        start = time.perf_counter()
        try:
            verified = verify(ref, keys, **kw)
            outcome = f"verified {verified.digest} ({verified.signature_format})"
        except Exception as exc:  # a refusal is timed too: its cost is what an attacker can cause
            outcome = f"refused at {getattr(exc, 'step', '?')}"
        times.append((time.perf_counter() - start) * 1000)
    return {
        "image": ref,
        "outcome": outcome,
        "rounds": rounds,
        "min_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+")
    parser.add_argument("--collections", required=True, help="directory holding ansible_collections/")
    parser.add_argument("--key", action="append", required=True, help="PEM public key file (repeatable)")
    parser.add_argument("--ca-file")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.collections)
    import cryptography

    from ansible_collections.dockguard.hardening.plugins.module_utils import _sigverify

    keys = []
    for path in args.key:
        with open(path, "rb") as fh:
            keys.append(fh.read())
    results = [measure(_sigverify.verify_image, ref, keys, args.rounds, ca_file=args.ca_file) for ref in args.images]
    doc = {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "host": platform.node(),
        "results": results,
    }
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
