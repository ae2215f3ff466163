"""``python -m klcli``."""

from klcli.cli import main

main()
