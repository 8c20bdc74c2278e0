# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip-VERSION.py from ci-files.testing.ansible.com,
which this machine cannot reach. It runs the script as __main__ inside an
empty virtualenv (created --without-pip) with pip-install arguments such as
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``. This
does the same with the standard library's ensurepip and then pip itself.
tests/lint/test_lint.py copies it to ~/.ansible/test/cache/get_pip_X_Y.py.

Both steps run as child processes on purpose. ``ensurepip.bootstrap()`` called
in-process deletes every PIP_* variable from os.environ and sets
PIP_CONFIG_FILE=/dev/null (CPython bpo-19734, bpo-20053); a pip started after
it inherits that and reads no pip.conf at all, so it loses the machine's
``cert =`` (a TLS-intercepting proxy's CA) and fails with "self-signed
certificate in certificate chain". The CLI ``python -m ensurepip`` does the
same to its own process only.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    rc = subprocess.call([sys.executable, "-m", "ensurepip", "--upgrade"])
    if rc != 0:
        return rc
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())
