"""The image guard: what a screenshot must be before Pillow decodes it, and how it is prepared for Tesseract.

Only PNG, JPEG, WebP and GIF, recognised by their first bytes (a file's name and a server's content type are
claims). The byte cap is checked before anything is parsed and the pixel cap from the header, before a pixel is
decoded: a small file that declares a huge image (a decompression bomb) is refused without allocating it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bot.ocr import ImageRefused, Refusal

if TYPE_CHECKING:
    from PIL import Image


class ImageFormat(Enum):
    """The formats read, by Pillow's names for them."""

    PNG = "PNG"
    JPEG = "JPEG"
    WEBP = "WEBP"
    GIF = "GIF"


# The mean grey level (0-255) below which an image is taken for a dark theme and inverted: Tesseract is
# trained on dark text on a light page.
DARK_MEAN = 128
# Images this small (in pixels) are scaled up twice before reading: interface text of 11-13 px is below the
# size Tesseract reads best, and this costs little on small images (see benchmarks/ocr.py).
UPSCALE_BELOW_PIXELS = 1_000_000


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


def sniff(data: bytes) -> ImageFormat:
    """The format `data` is in, from its magic bytes; ImageRefused for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ImageFormat.GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    raise ImageRefused(Refusal.NOT_AN_IMAGE, "not a PNG, JPEG, WebP or GIF image")


def check_declared(
    limits: ImageLimits, *, size: int | None = None, width: int | None = None, height: int | None = None
) -> None:
    """Refuse early on what a sender says about an image (Discord's attachment size, width, height)."""
    if size is not None and size > limits.max_bytes:
        raise ImageRefused(Refusal.TOO_LARGE, f"the image is {size} bytes; the limit is {limits.max_bytes}")
    if width is not None and height is not None:
        _check_pixels(width, height, limits)


def _check_pixels(width: int, height: int, limits: ImageLimits) -> None:
    if width * height > limits.max_pixels:
        raise ImageRefused(
            Refusal.TOO_LARGE, f"the image is {width} x {height} pixels; the limit is {limits.max_pixels} pixels"
        )


def decode(data: bytes, limits: ImageLimits) -> Image.Image:
    """The image in `data` (its first frame, for an animated GIF or WebP), decoded; ImageRefused if it is too
    large, not one of the four formats, damaged or cut short."""
    if len(data) > limits.max_bytes:
        raise ImageRefused(Refusal.TOO_LARGE, f"the image is {len(data)} bytes; the limit is {limits.max_bytes}")
    image_format = sniff(data)
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; here a bomb is refused either way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _first_frame(data, image_format, limits)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(Refusal.TOO_LARGE, "the image declares more pixels than it could hold") from None
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types on hostile input; all mean the same
        raise ImageRefused(Refusal.DAMAGED, f"the image is damaged or cut short ({type(exc).__name__})") from None


def _first_frame(data: bytes, image_format: ImageFormat, limits: ImageLimits) -> Image.Image:
    from PIL import Image

    # open() reads the header only; formats= keeps Pillow from trying its other decoders.
    image = Image.open(io.BytesIO(data), formats=[image_format.value])
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRefused(Refusal.DAMAGED, "the image has no pixels")
    _check_pixels(width, height, limits)
    image.load()  # the first frame only: the reader never seeks further
    return image


def prepare(image: Image.Image, *, invert_dark: bool = True, upscale: bool = True) -> Image.Image:
    """A grey image with dark text on a light background, scaled up when small: what Tesseract reads best.

    Transparent parts become white. The switches exist for benchmarks/ocr.py, which measures what each adds.
    """
    from PIL import Image, ImageOps, ImageStat

    if image.mode in ("PA", "LA", "RGBA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        image = flat
    grey = ImageOps.grayscale(image.convert("RGB"))
    if invert_dark and ImageStat.Stat(grey).mean[0] < DARK_MEAN:
        grey = ImageOps.invert(grey)
    if upscale and grey.width * grey.height < UPSCALE_BELOW_PIXELS:
        grey = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
    return grey
