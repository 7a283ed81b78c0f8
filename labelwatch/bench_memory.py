"""The detect function's memory on the worst images it accepts: one per decoded mode, at the limits.

For every mode Pillow decodes an upload into (1-bit, gray, gray+alpha, palette, RGB, RGBA, CMYK,
16-bit gray, 32-bit gray, float gray) the largest image the checks let through is made (a square at
``MAX_DECODED_BYTES`` or ``MAX_PIXELS``, whichever binds), then normalised in a fresh process that
first imports the detect handler, as a Lambda execution environment has it. The peak resident
memory of that process (``VmHWM``) must stay under ``BUDGET_SHARE`` of the function's memory.
``make bench`` prints the table; ``python -m labelwatch.bench_memory`` prints it alone.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
FUNCTION_MEMORY_MB = 1024  # the detect function's MemorySize (infra/workflow.py)
BUDGET_SHARE = 0.6


@dataclass(frozen=True)
class WorstInput:
    name: str  # e.g. "png 16-bit gray"
    source_format: str  # as image_check names it: png, tiff, gif, webp, bmp, jpeg
    mode: str  # the Pillow mode the file decodes into
    save_as: str  # Pillow's format name
    save_options: tuple[tuple[str, object], ...] = ()


WORST_INPUTS = (
    WorstInput("png 1-bit", "png", "1", "PNG"),
    WorstInput("png gray", "png", "L", "PNG"),
    WorstInput("png gray+alpha", "png", "LA", "PNG"),
    WorstInput("gif palette", "gif", "P", "GIF"),
    WorstInput("png rgb", "png", "RGB", "PNG"),
    WorstInput("png rgba", "png", "RGBA", "PNG"),
    WorstInput("png 16-bit gray", "png", "I;16", "PNG"),
    WorstInput("tiff cmyk", "tiff", "CMYK", "TIFF", (("compression", "tiff_adobe_deflate"),)),
    WorstInput("tiff 16-bit gray", "tiff", "I;16", "TIFF", (("compression", "tiff_adobe_deflate"),)),
    WorstInput("tiff 32-bit gray", "tiff", "I", "TIFF", (("compression", "tiff_adobe_deflate"),)),
    WorstInput("tiff float gray", "tiff", "F", "TIFF", (("compression", "tiff_adobe_deflate"),)),
    WorstInput("webp rgba", "webp", "RGBA", "WEBP", (("lossless", True), ("quality", 0), ("method", 0))),
    WorstInput("heic rgb", "heic", "RGB", "HEIF", (("quality", 10),)),
    WorstInput("avif rgb", "avif", "RGB", "AVIF", (("quality", 10), ("speed", 10))),
    WorstInput("bmp rgb", "bmp", "RGB", "BMP"),
    WorstInput("jpeg cmyk (decoded at 1/8)", "jpeg", "CMYK", "JPEG"),
)

_MAKE = """
import sys
from PIL import Image
sys.path.insert(0, sys.argv[1])
import ast, os
from detect.image_check import MAX_INPUT_BYTES
from detect.normalise import MAX_PIXELS, decoded_bytes, MAX_DECODED_BYTES
mode, fmt, path = sys.argv[2], sys.argv[3], sys.argv[4]
options = ast.literal_eval(sys.argv[5])
if fmt == "HEIF":
    import pillow_heif  # the dev dependency that encodes HEIC (the function decodes it with pi-heif)
    pillow_heif.register_heif_opener()
side = int(MAX_PIXELS ** 0.5)
if fmt != "JPEG":  # a JPEG is decoded at 1/8 scale: only the pixel limit binds
    while decoded_bytes(side, side, mode, fmt) > MAX_DECODED_BYTES:
        side -= 1
while True:  # the largest the function downloads, for formats that do not compress (BMP)
    Image.new(mode, (side, side)).save(path, fmt, **options)
    if os.path.getsize(path) <= MAX_INPUT_BYTES:
        break
    side = int(side * (MAX_INPUT_BYTES / os.path.getsize(path)) ** 0.5)
print(side)
"""

_MEASURE = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
import detect.handler  # the execution environment's own imports, as on Lambda
from detect.errors import ImageRejected
from detect.normalise import normalise
data = open(sys.argv[2], "rb").read()
started = time.process_time()
try:
    result, _w, _h = normalise(data, source_format=sys.argv[3])
    outcome = "ok " + result.description
except ImageRejected as rejected:
    outcome = "rejected " + rejected.reason
# VmHWM, this process's own peak: ru_maxrss would start from the parent's peak (Linux keeps it
# across fork and exec), and make bench's process holds the twin and the model
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(peak_kb // 1024, time.process_time() - started, outcome)
"""


@dataclass(frozen=True)
class Peak:
    input: WorstInput
    side: int
    file_bytes: int
    peak_mb: int
    cpu_seconds: float
    outcome: str

    @property
    def share(self) -> float:
        return self.peak_mb / FUNCTION_MEMORY_MB


def lambda_environment() -> dict[str, str]:
    from labelwatch.bench import LAMBDA_INIT_ENV

    env = {**os.environ, **LAMBDA_INIT_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("AWS_ENDPOINT_URL", "PYTHONPATH"):
        env.pop(name, None)
    return env


def measure(worst: WorstInput, directory: Path) -> Peak:
    path = directory / f"{worst.name.split(' (')[0].replace(' ', '-')}.{worst.source_format}"
    made = subprocess.run(
        [sys.executable, "-c", _MAKE, str(FUNCTIONS_DIR), worst.mode, worst.save_as, str(path)]
        + [repr(dict(worst.save_options))],
        check=True,
        capture_output=True,
        text=True,
    )
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(FUNCTIONS_DIR), str(path), worst.source_format],
        env=lambda_environment(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split(maxsplit=2)
    size = path.stat().st_size
    path.unlink()
    return Peak(worst, int(made.stdout), size, int(measured[0]), float(measured[1]), measured[2].strip())


def measure_all(inputs: tuple[WorstInput, ...] = WORST_INPUTS) -> list[Peak]:
    with tempfile.TemporaryDirectory(prefix="labelwatch-peaks-") as scratch:
        return [measure(worst, Path(scratch)) for worst in inputs]


def print_peaks(console, peaks: list[Peak]) -> None:
    from rich.table import Table

    table = Table(
        title=f"detect function memory: the worst accepted input of each mode "
        f"(limit {BUDGET_SHARE:.0%} of {FUNCTION_MEMORY_MB} MB)",
        title_justify="left",
    )
    for column in ("input", "pixels", "file", "peak RSS", "of memory", "cpu", "outcome"):
        table.add_column(column, justify="left" if column in ("input", "outcome") else "right")
    for peak in peaks:
        table.add_row(
            peak.input.name,
            f"{peak.side}²",
            f"{math.ceil(peak.file_bytes / 1024)} KB",
            f"{peak.peak_mb} MB",
            f"{peak.share:.0%}",
            f"{peak.cpu_seconds:.1f} s",
            peak.outcome,
        )
    console.print(table)
    worst = max(peaks, key=lambda peak: peak.peak_mb)
    verdict = "within" if worst.share < BUDGET_SHARE else "OVER"
    console.print(
        f"highest peak: {worst.peak_mb} MB ({worst.share:.0%}, {worst.input.name}): {verdict} the "
        f"{BUDGET_SHARE:.0%} budget"
    )


def main() -> None:
    from rich.console import Console

    print_peaks(Console(width=None if sys.stdout.isatty() else 140), measure_all())


if __name__ == "__main__":
    main()
