"""``labelwatch upload PATH…``: files and folders into the input bucket, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labelwatch.cli.console import console, progress
from labelwatch.cli.errors import BAD_INPUT, CliError
from labelwatch.uploads import plan_uploads, upload_all


def register(app: typer.Typer) -> None:
    @app.command()
    def upload(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Image files or folders (recursively)")],
        prefix: Annotated[str, typer.Option(help="Key prefix in the input bucket")] = "",
    ) -> None:
        """Upload images to the input bucket (local stack, or deployed with --profile)."""
        try:
            uploads = plan_uploads(paths, prefix)
        except FileNotFoundError as error:
            raise CliError(str(error), BAD_INPUT) from None
        if not uploads:
            raise CliError("nothing to upload: the folders hold no files", BAD_INPUT)
        target = ctx.obj.target()
        bucket = target.output("InputBucketName")
        with progress() as bar:
            task = bar.add_task("uploading", total=len(uploads))
            upload_all(target.client("s3"), bucket, uploads, on_done=lambda _u: bar.advance(task))
        size = sum(u.size for u in uploads)
        console.print(
            f"uploaded {len(uploads)} file(s), {size / 1e6:.1f} MB, to s3://{bucket}/ "
            f"({target.description}); follow them with `labelwatch results`",
            highlight=False,
        )
