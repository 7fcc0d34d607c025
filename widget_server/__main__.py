"""``python -m widget_server``: the same as the ``vitrine`` command."""

from widget_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
