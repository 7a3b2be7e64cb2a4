"""Stand-in for ansible-test's downloaded get-pip script (no internet here).

ansible-test runs it as ``python get_pip.py [pip options] pip==X ...``; it bootstraps pip from the
interpreter's own ensurepip, then lets that pip install what was asked for from the configured
package index. ``--no-setuptools`` / ``--no-wheel`` are get-pip-only switches and are dropped.
"""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
