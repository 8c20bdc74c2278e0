# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip-VERSION.py from ci-files.testing.ansible.com,
which this machine cannot reach. It runs the script as __main__ inside an
empty virtualenv with pip-install arguments; this does the same with the
standard library's ensurepip and pip itself (from PyPI, which is reachable).
tests/lint/test_lint.py copies it to ~/.ansible/test/cache/get_pip_X_Y.py.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main() -> int:
    ensurepip.bootstrap(upgrade=True)
    # ansible-test runs pip with a scrubbed environment (no PIP_CERT): give this
    # virtualenv the system CA bundle in its own pip.conf for every later install.
    if os.path.exists(CA_BUNDLE):
        with open(os.path.join(sys.prefix, "pip.conf"), "w", encoding="utf-8") as fh:
            fh.write(f"[global]\ncert = {CA_BUNDLE}\n")
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())
