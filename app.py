#!/usr/bin/env python3
"""CDK entry point: `npx aws-cdk synth|deploy` (cdk.json) or `make synth`."""

from __future__ import annotations

import sys

from infra.app import build_app
from infra.config import ConfigError


def main() -> None:
    try:
        app = build_app()
    except ConfigError as error:
        print(f"labelwatch: invalid deployment parameters:\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()


if __name__ == "__main__":
    main()
