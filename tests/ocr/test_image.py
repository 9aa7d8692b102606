"""The image guard: formats by their magic bytes, byte and pixel caps before decoding, bombs, damaged files,
the first frame of animations, and the preparation for Tesseract."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from bot.ocr import ImageRefused, Refusal
from bot.ocr.image import UPSCALE_BELOW_PIXELS, ImageFormat, ImageLimits, check_declared, decode, prepare, sniff
from tests.ocr.images import (
    animated_gif,
    encode,
    gif_with_screen,
    png_bomb,
    png_header_only,
    text_image,
)

LIMITS = ImageLimits(max_bytes=1_000_000, max_pixels=25_000_000)


def refusal(data: bytes, limits: ImageLimits = LIMITS) -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        decode(data, limits)
    return caught.value


@pytest.mark.parametrize(
    ("image_format", "expected"),
    [("PNG", ImageFormat.PNG), ("JPEG", ImageFormat.JPEG), ("WEBP", ImageFormat.WEBP), ("GIF", ImageFormat.GIF)],
)
def test_the_four_formats_are_recognised_and_decoded(image_format: str, expected: ImageFormat) -> None:
    data = encode(text_image("535 5.7.8"), image_format)
    assert sniff(data) is expected
    assert decode(data, LIMITS).size == text_image("535 5.7.8").size


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"535 5.7.8 Username and Password not accepted",
        b"<svg xmlns='http://www.w3.org/2000/svg'><text>hi</text></svg>",
        encode(text_image("bmp"), "BMP"),  # Pillow reads these; the bot does not
        encode(text_image("tiff"), "TIFF"),
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but not WebP
    ],
    ids=["empty", "text", "svg", "bmp", "tiff", "wave"],
)
def test_anything_else_is_refused_by_its_first_bytes(data: bytes) -> None:
    assert refusal(data).refusal is Refusal.NOT_AN_IMAGE


def test_a_file_named_png_is_judged_by_its_bytes() -> None:
    # A JPEG is read as a JPEG whatever it claims to be; a PNG's magic with JPEG bytes after it is damaged.
    jpeg = encode(text_image("x"), "JPEG")
    assert sniff(jpeg) is ImageFormat.JPEG
    assert refusal(b"\x89PNG\r\n\x1a\n" + jpeg[8:]).refusal is Refusal.DAMAGED


def test_the_byte_cap_is_checked_before_parsing() -> None:
    data = encode(text_image("535 5.7.8 Username and Password not accepted"))
    refused = refusal(data, ImageLimits(max_bytes=len(data) - 1, max_pixels=LIMITS.max_pixels))
    assert refused.refusal is Refusal.TOO_LARGE
    assert f"{len(data)} bytes" in str(refused)


def test_a_bomb_under_pillows_own_limit_is_refused_from_its_header() -> None:
    data = png_bomb(6000, 6000)  # 36 million pixels in a few kilobytes
    assert len(data) < 20_000
    refused = refusal(data)  # decoded, it would simply be returned
    assert refused.refusal is Refusal.TOO_LARGE
    assert "6000 x 6000" in str(refused)


def test_a_bomb_over_pillows_limit_is_refused_too() -> None:
    refused = refusal(png_bomb(20_000, 20_000))  # 400 million pixels
    assert refused.refusal is Refusal.TOO_LARGE


def test_huge_dimensions_with_no_pixel_data_are_refused_before_decoding() -> None:
    # Refused for its size, not as damaged: nothing past the header was read.
    assert refusal(png_header_only(100_000, 100_000)).refusal is Refusal.TOO_LARGE
    assert refusal(png_header_only(10_000, 3_000)).refusal is Refusal.TOO_LARGE


def test_a_gif_claiming_a_huge_screen_is_refused() -> None:
    assert refusal(gif_with_screen(6000, 6000)).refusal is Refusal.TOO_LARGE
    assert refusal(gif_with_screen(65535, 65535)).refusal is Refusal.TOO_LARGE


def test_the_pixel_cap_is_the_setting() -> None:
    data = encode(text_image("535"))
    width, height = text_image("535").size
    assert decode(data, ImageLimits(LIMITS.max_bytes, width * height)).size == (width, height)
    assert refusal(data, ImageLimits(LIMITS.max_bytes, width * height - 1)).refusal is Refusal.TOO_LARGE


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_a_truncated_file_is_refused_as_damaged(image_format: str) -> None:
    data = encode(text_image("535 5.7.8 Username and Password not accepted", size=24), image_format)
    refused = refusal(data[: len(data) // 2])
    assert refused.refusal is Refusal.DAMAGED
    assert "damaged or cut short" in str(refused)


def test_an_image_with_no_pixels_is_refused() -> None:
    assert refusal(png_header_only(0, 10)).refusal is Refusal.DAMAGED


def test_an_animated_gif_gives_its_first_frame() -> None:
    data = animated_gif("first frame", "second frame")
    with Image.open(io.BytesIO(data)) as original:
        assert original.n_frames == 2
        first = original.convert("L")
    decoded = decode(data, LIMITS)
    assert decoded.convert("L").tobytes() == first.tobytes()


def test_declared_size_and_dimensions_refuse_early() -> None:
    check_declared(LIMITS, size=1000, width=1920, height=1080)
    check_declared(LIMITS)  # nothing declared: the download and the header decide
    with pytest.raises(ImageRefused) as too_big:
        check_declared(LIMITS, size=LIMITS.max_bytes + 1)
    assert too_big.value.refusal is Refusal.TOO_LARGE
    with pytest.raises(ImageRefused) as too_many:
        check_declared(LIMITS, width=10_000, height=10_000)
    assert too_many.value.refusal is Refusal.TOO_LARGE


def test_a_dark_theme_is_turned_into_dark_text_on_light() -> None:
    dark = text_image("535 5.7.8", dark=True)
    assert ImageStat.Stat(dark.convert("L")).mean[0] < 128
    prepared = prepare(dark)
    assert prepared.mode == "L"
    assert ImageStat.Stat(prepared).mean[0] > 128
    assert ImageStat.Stat(prepare(dark, invert_dark=False)).mean[0] < 128


def test_small_images_are_scaled_up_and_large_ones_are_not() -> None:
    small = text_image("535")
    assert prepare(small).size == (small.width * 2, small.height * 2)
    assert prepare(small, upscale=False).size == small.size
    side = int(UPSCALE_BELOW_PIXELS**0.5) + 1
    assert prepare(Image.new("RGB", (side, side), "white")).size == (side, side)


def test_transparency_becomes_white() -> None:
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert ImageStat.Stat(prepare(clear, upscale=False)).mean[0] == 255


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "1", "P", "LA"])
def test_unusual_modes_are_prepared(mode: str) -> None:
    image = text_image("535 5.7.8").convert("RGB")
    converted = image.convert("I;16") if mode == "I;16" else image.convert(mode)
    assert prepare(converted).mode == "L"
