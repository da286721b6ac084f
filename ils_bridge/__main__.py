"""``python -m ils_bridge`` is the ``ils-bridge`` command."""

from ils_bridge.cli import main

main()
