"""Synthetic plant-leaf photos for demoing a three-label image classifier.

Every picture is drawn with Pillow alone from a ``random.Random``, so a seed fixes every pixel: the same
seed gives byte-identical JPEG files (fixed quality, no EXIF or other metadata, no timestamps).

A picture is one leaf (an almond-shaped blade with a midrib, curved side veins and an optional stalk) in
one of many greens, on one of several backgrounds (soil, a grey table, sky, a colour gradient, blurry
foliage), rotated, scaled, shifted, lit and blurred at random. The labels differ only in the symptoms
drawn on the blade:

* ``healthy``: the green blade with its natural vein shading and mottling;
* ``leaf-smut``: many small dark brown to black spots and a few blotches scattered over the blade;
* ``bacterial-leaf-blight``: yellow to straw-coloured lesions running in from the tip and the edges along
  the length of the blade, with wavy, yellow margins.

Greens, backgrounds and lighting are drawn from the same ranges for every label, so the mean colour of a
picture says little about its label; the symptoms are what tells them apart.
"""

from __future__ import annotations

import colorsys
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

LABELS = ("healthy", "leaf-smut", "bacterial-leaf-blight")
DEFAULT_MIX: dict[str, float] = {"healthy": 0.60, "leaf-smut": 0.25, "bacterial-leaf-blight": 0.15}
JPEG_QUALITY = 90
_FORMATS = {"JPEG": ".jpg", "JPG": ".jpg", "PNG": ".png"}
_SUPERSAMPLE = 2  # the leaf is drawn at twice its final size, then shrunk: smooth edges and veins

RGB = tuple[int, int, int]
_BICUBIC = Image.Resampling.BICUBIC


# --- colours and noise ------------------------------------------------------------------------------


def _hsv(hue_deg: float, sat: float, val: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360) / 360, min(max(sat, 0.0), 1.0), min(max(val, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _noise(rng: random.Random, size: tuple[int, int], cells: tuple[int, int]) -> Image.Image:
    """Value noise: a ``cells`` grid of random greys enlarged smoothly to ``size`` (Python's RNG, not C's)."""
    cw, ch = max(cells[0], 1), max(cells[1], 1)
    small = Image.frombytes("L", (cw, ch), rng.randbytes(cw * ch))
    if (cw, ch) == size:
        return small
    radius = 0.6 * min(size[0] / cw, size[1] / ch)  # hides the grid that plain bicubic enlarging leaves
    return small.resize(size, _BICUBIC).filter(ImageFilter.GaussianBlur(radius))


def _fractal(rng: random.Random, size: tuple[int, int], octaves: list[tuple[int, float]]) -> Image.Image:
    """Noise at several scales (cells across the longer side, weight), stretched to the full grey range."""
    w, h = size
    longest = max(w, h)
    img: Image.Image | None = None
    for cells, weight in octaves:
        layer = _noise(rng, size, (max(1, round(cells * w / longest)), max(1, round(cells * h / longest))))
        img = layer if img is None else Image.blend(img, layer, weight)
    assert img is not None
    return ImageOps.autocontrast(img, cutoff=1)


def _soften(img: Image.Image, amount: float) -> Image.Image:
    """Pull a grey image towards mid-grey (``amount`` 0..1 of its contrast is kept)."""
    return img.point(lambda v: round(128 + (v - 128) * amount))


def _ramp(size: int, angle: float) -> Image.Image:
    """A linear black-to-white ramp across a ``size`` square, running at ``angle`` degrees."""
    big = Image.linear_gradient("L").resize((2 * size, 2 * size), Image.Resampling.BILINEAR)
    big = big.rotate(angle, resample=_BICUBIC)
    q = size // 2
    return big.crop((q, q, q + size, q + size))


# --- backgrounds ------------------------------------------------------------------------------------


def _bg_soil(rng: random.Random, n: int) -> Image.Image:
    hue = rng.uniform(16, 36)
    dark = _hsv(hue, rng.uniform(0.45, 0.75), rng.uniform(0.14, 0.32))
    light = _hsv(hue + rng.uniform(-5, 5), rng.uniform(0.3, 0.6), rng.uniform(0.42, 0.66))
    tex = _fractal(rng, (n, n), [(5, 1.0), (18, 0.45), (n // 3, 0.35), (n, 0.35)])
    img = ImageOps.colorize(tex, dark, light)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(10, 45)):  # crumbs and pebbles
        r = rng.uniform(0.004, 0.022) * n
        x, y = rng.uniform(0, n), rng.uniform(0, n)
        colour = _hsv(rng.uniform(12, 45), rng.uniform(0.05, 0.5), rng.uniform(0.15, 0.75))
        draw.ellipse(
            (x - r, y - r * rng.uniform(0.5, 1.0), x + r, y + r * rng.uniform(0.5, 1.0)), fill=colour
        )
    return img.filter(ImageFilter.GaussianBlur(0.5))


def _bg_table(rng: random.Random, n: int) -> Image.Image:
    base = _hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.08), rng.uniform(0.4, 0.88))
    grain = _noise(rng, (n, n), (rng.randint(2, 4), rng.randint(30, 70)))  # long streaks, like a worktop
    if rng.random() < 0.5:
        grain = grain.transpose(Image.Transpose.ROTATE_90)
    tex = Image.blend(grain, _noise(rng, (n, n), (n, n)), 0.25)
    img = ImageOps.colorize(_soften(tex, 0.35), _mix(base, (0, 0, 0), 0.3), _mix(base, (255, 255, 255), 0.2))
    shade = _ramp(n, rng.uniform(0, 360)).point(lambda v: v * 2 // 3)
    return Image.composite(ImageEnhance.Brightness(img).enhance(0.75), img, shade)


def _bg_sky(rng: random.Random, n: int) -> Image.Image:
    top = _hsv(rng.uniform(195, 222), rng.uniform(0.3, 0.7), rng.uniform(0.65, 0.95))
    bottom = _mix(top, (235, 240, 245), rng.uniform(0.4, 0.85))
    img = ImageOps.colorize(_ramp(n, rng.uniform(-25, 25)), top, bottom)
    clouds = _fractal(rng, (n, n), [(4, 1.0), (10, 0.4), (24, 0.2)])
    cut = rng.uniform(110, 190)
    clouds = clouds.point(lambda v: min(255, max(0, round((v - cut) * 2.5))))
    return Image.composite(Image.new("RGB", (n, n), _mix(bottom, (255, 255, 255), 0.6)), img, clouds)


def _bg_gradient(rng: random.Random, n: int) -> Image.Image:
    a = _hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.6), rng.uniform(0.2, 0.95))
    b = _hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.6), rng.uniform(0.2, 0.95))
    img = ImageOps.colorize(_ramp(n, rng.uniform(0, 360)), a, b)
    grain = _soften(_noise(rng, (n, n), (n, n)), 0.08)
    return Image.blend(img, Image.merge("RGB", (grain, grain, grain)), 0.15)


def _bg_foliage(rng: random.Random, n: int) -> Image.Image:
    """Out-of-focus garden: blotches of dark greens, browns and greys with soft light discs."""
    hues = [rng.uniform(70, 140), rng.uniform(20, 50), rng.uniform(0, 360)]
    dark = _hsv(hues[0], rng.uniform(0.3, 0.8), rng.uniform(0.08, 0.3))
    mid = _hsv(hues[1], rng.uniform(0.2, 0.7), rng.uniform(0.3, 0.6))
    light = _hsv(hues[2], rng.uniform(0.05, 0.5), rng.uniform(0.55, 0.95))
    tex = _fractal(rng, (n, n), [(3, 1.0), (7, 0.5), (16, 0.3)])
    img = ImageOps.colorize(tex, dark, light, mid=mid)
    discs = Image.new("L", (n, n), 0)
    draw = ImageDraw.Draw(discs)
    for _ in range(rng.randint(3, 14)):
        r = rng.uniform(0.03, 0.1) * n
        x, y = rng.uniform(0, n), rng.uniform(0, n)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(40, 140))
    discs = discs.filter(ImageFilter.GaussianBlur(n * 0.01))
    img = Image.composite(Image.new("RGB", (n, n), _mix(light, (255, 255, 255), 0.5)), img, discs)
    return img.filter(ImageFilter.GaussianBlur(n * 0.008))


_BACKGROUNDS: tuple[Callable[[random.Random, int], Image.Image], ...] = (
    _bg_soil,
    _bg_table,
    _bg_sky,
    _bg_gradient,
    _bg_foliage,
)


# --- the leaf ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Blade:
    """Where things are on a leaf drawn lying along x: ``t`` runs 0 (base) to 1 (tip) along the midrib,
    ``s`` runs -1 (one edge) to +1 (the other) across the blade."""

    x0: float
    length: float
    cy: float
    half: float
    widest: float
    point: float
    bend: float
    wave_amp: float
    wave_freq: float
    wave_phase: float

    @classmethod
    def random(cls, rng: random.Random, x0: float, length: float, cy: float) -> _Blade:
        return cls(
            x0=x0,
            length=length,
            cy=cy,
            half=length * rng.uniform(0.16, 0.26),
            widest=rng.uniform(0.7, 1.0),
            point=rng.uniform(0.6, 0.95),
            bend=rng.uniform(-0.07, 0.07),
            wave_amp=rng.uniform(0.0, 0.025),
            wave_freq=rng.uniform(30, 80),
            wave_phase=rng.uniform(0, 2 * math.pi),
        )

    def half_width(self, t: float) -> float:
        if t <= 0 or t >= 1:
            return 0.0
        shape = math.sin(math.pi * t**self.widest) ** self.point
        return self.half * shape * (1 + self.wave_amp * math.sin(self.wave_freq * t + self.wave_phase))

    def at(self, t: float, s: float) -> tuple[float, float]:
        y = self.cy + self.bend * self.length * math.sin(math.pi * t) + s * self.half_width(t)
        return (self.x0 + t * self.length, y)


def _steps(a: float, b: float, n: int) -> list[float]:
    return [a + (b - a) * i / n for i in range(n + 1)]


def _blade_outline(blade: _Blade, s_from: float = -1.0, s_to: float = 1.0) -> list[tuple[float, float]]:
    ts = _steps(0.0, 1.0, 160)
    return [blade.at(t, s_from) for t in ts] + [blade.at(t, s_to) for t in reversed(ts)]


def _draw_veins(rng: random.Random, blade: _Blade, size: tuple[int, int]) -> Image.Image:
    """A grey mask of the midrib (strong) and the side veins (fainter), tapering towards the tip."""
    veins = Image.new("L", size, 0)
    draw = ImageDraw.Draw(veins)
    width = blade.length * rng.uniform(0.011, 0.018)
    ts = _steps(0.0, 0.97, 40)
    for a, b in zip(ts, ts[1:], strict=False):
        draw.line((blade.at(a, 0), blade.at(b, 0)), fill=255, width=max(1, round(width * (1 - 0.75 * a))))
    per_side = rng.randint(5, 9)
    strength = rng.randint(110, 190)
    for side in (-1, 1):
        for k in range(per_side):
            t0 = 0.06 + 0.8 * (k + rng.uniform(0.1, 0.9)) / per_side
            reach = rng.uniform(0.07, 0.16)
            us = _steps(0.0, 1.0, 8)
            pts = [blade.at(min(t0 + reach * u**1.6, 0.99), side * 0.88 * u) for u in us]
            for i, (p, q) in enumerate(zip(pts, pts[1:], strict=False)):
                w = max(1, round(width * 0.45 * (1 - 0.6 * i / len(us)) * (1 - 0.5 * t0)))
                draw.line((p, q), fill=strength, width=w)
    return veins.filter(ImageFilter.GaussianBlur(max(0.6, width * 0.12)))


def _smut(rng: random.Random, canvas: Image.Image, blade: _Blade) -> None:
    """Many small dark brown/black spots, some with a dusky halo, plus a few blotches of merged spots."""
    paint = Image.new("RGB", canvas.size, (0, 0, 0))
    alpha = Image.new("L", canvas.size, 0)
    dp, da = ImageDraw.Draw(paint), ImageDraw.Draw(alpha)

    def spot(x: float, y: float, r: float, colour: RGB, opacity: int) -> None:
        stretch = rng.uniform(1.0, 2.0)  # spots tend to run along the leaf
        box = (x - r * stretch, y - r, x + r * stretch, y + r)
        dp.ellipse(box, fill=colour)
        da.ellipse(box, fill=opacity)

    def colour() -> RGB:
        return _hsv(rng.uniform(12, 38), rng.uniform(0.35, 0.8), rng.uniform(0.04, 0.24))

    for _ in range(rng.randint(60, 170)):
        x, y = blade.at(rng.uniform(0.04, 0.97), rng.uniform(-0.92, 0.92))
        r = blade.length * rng.uniform(0.005, 0.014)
        if rng.random() < 0.25:  # dusky olive-brown halo
            spot(x, y, r * 1.8, _hsv(rng.uniform(25, 40), 0.55, rng.uniform(0.18, 0.28)), 120)
        spot(x, y, r, colour(), rng.randint(215, 255))
    for _ in range(rng.randint(2, 7)):  # blotches: clusters of merged spots
        cx, cy = blade.at(rng.uniform(0.1, 0.9), rng.uniform(-0.7, 0.7))
        for _ in range(rng.randint(3, 8)):
            r = blade.length * rng.uniform(0.008, 0.02)
            spread = blade.length * 0.03
            spot(cx + rng.uniform(-spread, spread), cy + rng.uniform(-spread, spread) * 0.6, r, colour(), 235)
    canvas.paste(
        paint.filter(ImageFilter.GaussianBlur(0.6)), (0, 0), alpha.filter(ImageFilter.GaussianBlur(0.9))
    )


def _wave(rng: random.Random) -> Callable[[float], float]:
    f1, f2 = rng.uniform(18, 45), rng.uniform(60, 110)
    p1, p2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    a1, a2 = rng.uniform(0.15, 0.3), rng.uniform(0.05, 0.12)
    return lambda t: 1 + a1 * math.sin(f1 * t + p1) + a2 * math.sin(f2 * t + p2)


def _lesion_outline(
    blade: _Blade, side: int, ta: float, tb: float, depth: Callable[[float], float], extra: float
) -> list[tuple[float, float]]:
    ts = _steps(ta, tb, 90)
    edge = [blade.at(t, side * 1.25) for t in ts]
    inner = [
        blade.at(t, side * (1 - min(2.2, depth(t) + extra if depth(t) > 0 else 0))) for t in reversed(ts)
    ]
    return edge + inner


def _blight(rng: random.Random, canvas: Image.Image, blade: _Blade) -> None:
    """Straw-coloured lesions from the tip and the edges, spreading along the blade, with wavy yellow
    margins."""
    straw = _hsv(rng.uniform(36, 52), rng.uniform(0.22, 0.48), rng.uniform(0.74, 0.92))
    straw_light = _mix(straw, (238, 234, 215), rng.uniform(0.2, 0.5))
    yellow = _hsv(rng.uniform(47, 58), rng.uniform(0.6, 0.85), rng.uniform(0.8, 0.96))
    lesions: list[tuple[int, float, float, Callable[[float], float]]] = []

    def add(side: int, ta: float, tb: float, peak: float, to_tip: bool) -> None:
        """A lesion along one edge from ``ta`` to ``tb``: deepest at the tip if it reaches the tip, else
        in its middle; ``peak`` is its depth in half-widths, so more than 1 crosses the midrib."""
        wave = _wave(rng)
        power = rng.uniform(0.4, 0.8) if to_tip else 0.5

        def depth(t: float) -> float:
            x = max(0.0, (t - ta) / (tb - ta))
            rise = x if to_tip else max(0.0, math.sin(math.pi * x))
            return peak * rise**power * wave(t)

        lesions.append((side, ta, tb, depth))

    if rng.random() < 0.75:  # from the tip, across the whole width near the tip
        ta = rng.uniform(0.35, 0.65)
        for side in (-1, 1):
            add(side, ta + rng.uniform(-0.05, 0.05), 1.0, rng.uniform(1.1, 1.5), to_tip=True)
    for _ in range(rng.randint(1, 3) if lesions else rng.randint(2, 4)):
        side = rng.choice((-1, 1))
        ta = rng.uniform(0.08, 0.6)
        tb = min(1.0, ta + rng.uniform(0.25, 0.55))
        add(side, ta, tb, rng.uniform(0.3, 0.75), to_tip=tb >= 0.98)

    halo = Image.new("L", canvas.size, 0)
    core = Image.new("L", canvas.size, 0)
    dh, dc = ImageDraw.Draw(halo), ImageDraw.Draw(core)
    for side, ta, tb, depth in lesions:
        dh.polygon(_lesion_outline(blade, side, ta, tb, depth, 0.16), fill=255)
        dc.polygon(_lesion_outline(blade, side, ta, tb, depth, 0.0), fill=255)
    soft = blade.length * 0.006
    canvas.paste(yellow, (0, 0, *canvas.size), halo.filter(ImageFilter.GaussianBlur(soft * 2)))
    w, h = canvas.size
    tex = _soften(_fractal(rng, (w, h), [(12, 1.0), (40, 0.4)]), 0.7)
    canvas.paste(
        ImageOps.colorize(tex, straw, straw_light), (0, 0), core.filter(ImageFilter.GaussianBlur(soft))
    )


def _draw_leaf(label: str, rng: random.Random, length: int) -> Image.Image:
    """The leaf lying along x, base at the left, as an RGBA image (alpha = the leaf)."""
    w, h = round(length * 1.34) + 4, round(length * 0.8) + 4
    blade = _Blade.random(rng, x0=length * 0.17 + 2, length=length, cy=h / 2)

    hue, sat, val = rng.uniform(78, 135), rng.uniform(0.45, 0.85), rng.uniform(0.35, 0.78)
    base = _hsv(hue, sat, val)
    light = _hsv(hue - rng.uniform(0, 6), sat * 0.9, val * 1.2)
    dark = _hsv(hue + rng.uniform(0, 6), sat * 1.05, val * 0.78)
    mottle = _soften(_fractal(rng, (w, h), [(6, 1.0), (20, 0.35), (60, 0.15)]), rng.uniform(0.3, 0.6))
    canvas = ImageOps.colorize(mottle, dark, light, mid=base)

    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(_blade_outline(blade), fill=255)

    # One half of the blade turned slightly away from the light.
    half = Image.new("L", (w, h), 0)
    ImageDraw.Draw(half).polygon(_blade_outline(blade, -1.0, 0.0), fill=rng.randint(60, 140))
    half = half.filter(ImageFilter.GaussianBlur(length * 0.02))
    canvas = Image.composite(ImageEnhance.Brightness(canvas).enhance(0.8), canvas, half)

    # A slightly darker rim.
    rim = ImageChops.subtract(mask, mask.filter(ImageFilter.MinFilter(5))).filter(
        ImageFilter.GaussianBlur(1.5)
    )
    canvas = Image.composite(
        ImageEnhance.Brightness(canvas).enhance(0.75), canvas, rim.point(lambda v: v // 2)
    )

    vein_colour = _mix(base, (225, 235, 165), rng.uniform(0.3, 0.55))
    canvas.paste(vein_colour, (0, 0, w, h), _draw_veins(rng, blade, (w, h)))

    if rng.random() < 0.75:  # stalk
        stalk = _mix(base, (120, 95, 50), rng.uniform(0.1, 0.4))
        width = max(2, round(length * rng.uniform(0.014, 0.022)))
        ends = (blade.at(-rng.uniform(0.08, 0.15), 0), blade.at(0.04, 0))
        ImageDraw.Draw(canvas).line(ends, fill=stalk, width=width)
        ImageDraw.Draw(mask).line(ends, fill=255, width=width)

    if label == "leaf-smut":
        _smut(rng, canvas, blade)
    elif label == "bacterial-leaf-blight":
        _blight(rng, canvas, blade)

    canvas.putalpha(mask)
    return canvas


# --- the photo --------------------------------------------------------------------------------------


def _check_label(label: str) -> None:
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")


def leaf_photo_with_mask(label: str, rng: random.Random, size: int = 256) -> tuple[Image.Image, Image.Image]:
    """The photo (RGB, ``size`` square) and a mask of where the leaf is in it (L, 255 = leaf), for
    measuring symptoms. Draws from ``rng`` exactly as :func:`leaf_photo` does."""
    _check_label(label)
    if size < 32:
        raise ValueError("size must be at least 32 pixels")
    n = size
    photo = rng.choice(_BACKGROUNDS)(rng, n)

    # The leaf (blade and stalk, as turned) spans 35-85 % of the frame side. It is drawn at least twice
    # as large as it will appear, then turned and shrunk to that span.
    cover = rng.uniform(0.35, 0.85)
    leaf = _draw_leaf(label, rng, max(48, round(_SUPERSAMPLE * 1.2 * cover * n)))
    leaf = leaf.convert("RGBa").rotate(rng.uniform(0, 360), resample=_BICUBIC, expand=True)
    leaf = leaf.crop(leaf.getchannel(3).getbbox() or (0, 0, *leaf.size))
    scale = cover * n / max(leaf.size)
    leaf = leaf.resize(
        (max(1, round(leaf.width * scale)), max(1, round(leaf.height * scale))), Image.Resampling.LANCZOS
    ).convert("RGBA")
    lw, lh = leaf.size
    room_x, room_y = max(0.0, (n - lw) / 2) + 0.02 * n, max(0.0, (n - lh) / 2) + 0.02 * n
    left = round(n / 2 + rng.uniform(-room_x, room_x) - lw / 2)
    top = round(n / 2 + rng.uniform(-room_y, room_y) - lh / 2)
    alpha = leaf.getchannel("A")

    # A soft shadow under the leaf.
    shadow = Image.new("L", (n, n), 0)
    off = n * rng.uniform(0.0, 0.04)
    direction = rng.uniform(0, 2 * math.pi)
    shadow.paste(alpha, (round(left + off * math.cos(direction)), round(top + off * math.sin(direction))))
    strength = rng.uniform(0.2, 0.55)
    shadow = shadow.filter(ImageFilter.GaussianBlur(n * rng.uniform(0.008, 0.03))).point(
        lambda v: round(v * strength)
    )
    photo = Image.composite(ImageEnhance.Brightness(photo).enhance(0.35), photo, shadow)

    photo.paste(leaf.convert("RGB"), (left, top), alpha)
    mask = Image.new("L", (n, n), 0)
    mask.paste(alpha, (left, top))
    mask = mask.point(lambda v: 255 if v >= 128 else 0)

    # Lighting: exposure, contrast, saturation, and light falling off across the frame.
    photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.78, 1.22))
    photo = ImageEnhance.Contrast(photo).enhance(rng.uniform(0.8, 1.2))
    photo = ImageEnhance.Color(photo).enhance(rng.uniform(0.85, 1.15))
    falloff = rng.uniform(0.0, 0.18)
    if falloff > 0.02:
        photo = Image.composite(
            ImageEnhance.Brightness(photo).enhance(1 + falloff),
            ImageEnhance.Brightness(photo).enhance(1 - falloff),
            _ramp(n, rng.uniform(0, 360)),
        )

    # Camera: a little focus blur and sensor noise.
    if rng.random() < 0.7:
        photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.9) * n / 256))
    amp = rng.randint(2, 9)
    grain = Image.merge(
        "RGB", [_noise(rng, (n, n), (n, n)).point(lambda v: v * 2 * amp // 255) for _ in "RGB"]
    )
    photo = ImageChops.add(photo, grain, 1.0, -amp)
    return photo, mask


def leaf_photo(label: str, rng: random.Random, size: int = 256) -> Image.Image:
    """A ``size`` square RGB photo of one leaf showing ``label``'s symptoms, every detail drawn from
    ``rng``."""
    return leaf_photo_with_mask(label, rng, size)[0]


# --- files ------------------------------------------------------------------------------------------


def _encode(img: Image.Image, fmt: str) -> bytes:
    """Bytes that depend on the pixels only: fixed settings, no EXIF, ICC, comments or timestamps."""
    buffer = io.BytesIO()
    if fmt == "PNG":
        img.save(buffer, "PNG", optimize=False, compress_level=6)
    else:
        img.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=False, progressive=False)
    return buffer.getvalue()


def _format(fmt: str) -> tuple[str, str]:
    key = fmt.upper()
    if key not in _FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; use JPEG or PNG")
    return ("PNG" if key == "PNG" else "JPEG"), _FORMATS[key]


def generate_dataset(
    root: Path, per_label: int, seed: int, fmt: str = "JPEG", *, size: int = 256
) -> dict[str, list[Path]]:
    """Write ``per_label`` photos of each label to ``root/<label>/<label>-<i:04d>.jpg`` (one folder per
    label: Rekognition Custom Labels takes the label from the folder name) and return the paths by label.
    Photo ``i`` of a label depends only on ``seed``, the label and ``i``: the same seed gives the same
    bytes, and a larger ``per_label`` keeps the first photos unchanged."""
    if per_label < 0:
        raise ValueError("per_label must not be negative")
    kind, ext = _format(fmt)
    root = Path(root)
    out: dict[str, list[Path]] = {}
    for label in LABELS:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(per_label):
            path = folder / f"{label}-{i:04d}{ext}"
            path.write_bytes(_encode(leaf_photo(label, random.Random(f"{seed}-{label}-{i}"), size), kind))
            paths.append(path)
        out[label] = paths
    return out


def _label_counts(count: int, mix: dict[str, float]) -> dict[str, int]:
    """Split ``count`` by ``mix`` exactly (largest remainder; ties go to the earlier label)."""
    for label, share in mix.items():
        _check_label(label)
        if not (share >= 0 and math.isfinite(share)):
            raise ValueError(f"share for {label!r} must be a finite number >= 0, got {share!r}")
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("mix must give some label a positive share")
    exact = {label: count * mix.get(label, 0.0) / total for label in LABELS}
    counts = {label: math.floor(v) for label, v in exact.items()}
    short = count - sum(counts.values())
    by_remainder = sorted(LABELS, key=lambda lb: (-(exact[lb] - counts[lb]), LABELS.index(lb)))
    for label in by_remainder[:short]:
        counts[label] += 1
    return counts


def incoming_batch(
    root: Path, count: int, seed: int, mix: dict[str, float] | None = None, *, size: int = 256
) -> list[tuple[Path, str]]:
    """Photos as a user would upload them: ``root/field-NN/IMG_NNNN.jpg``, nothing in the path telling
    the label. Returns (path, true label) in upload order; the labels follow ``mix`` (shares by label,
    default 60 % healthy, 25 % leaf-smut, 15 % bacterial-leaf-blight) exactly, up to rounding."""
    if count < 0:
        raise ValueError("count must not be negative")
    counts = _label_counts(count, DEFAULT_MIX if mix is None else mix)
    rng = random.Random(f"{seed}-incoming")
    labels = [label for label in LABELS for _ in range(counts[label])]
    rng.shuffle(labels)
    fields = sorted(rng.sample(range(1, 40), k=rng.randint(2, 5)))
    first = rng.randint(1, max(1, 9999 - count))  # camera counters: IMG_0001 on
    root = Path(root)
    out: list[tuple[Path, str]] = []
    for i, label in enumerate(labels):
        path = root / f"field-{rng.choice(fields):02d}" / f"IMG_{first + i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_encode(leaf_photo(label, random.Random(f"{seed}-incoming-{i}"), size), "JPEG"))
        out.append((path, label))
    return out
