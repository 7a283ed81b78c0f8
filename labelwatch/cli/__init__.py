"""The labelwatch command (entry point ``labelwatch``)."""


def main() -> None:
    from labelwatch.cli.app import main as run_main

    run_main()
