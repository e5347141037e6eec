"""``python -m hotdemo.cli``: the ``hotdemo`` command."""

from hotdemo.cli import main

main()
