"""Images the OCR tests feed the guard: rendered text, and hostile files built byte by byte."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

from tests.ocr.screenshots import font


def text_image(text: str, *, size: int = 16, dark: bool = False, mode: str = "RGB") -> Image.Image:
    face = font("sans", size)
    image = Image.new("RGB", (int(face.getlength(text)) + 40, size * 3), (30, 31, 34) if dark else (255, 255, 255))
    ImageDraw.Draw(image).text((20, size), text, font=face, fill=(230, 230, 230) if dark else (20, 20, 20))
    return image.convert(mode)


def encode(image: Image.Image, image_format: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid black-and-white PNG of `width` x `height` zero pixels: a few kilobytes that decode to
    width x height pixels (Pillow holds one byte per pixel)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG header declaring `width` x `height`, then the start of its pixel data and nothing more: what a
    header check reads, with nothing behind it to decode."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def gif_with_screen(width: int, height: int) -> bytes:
    """A small valid GIF whose logical screen (what Pillow takes as its size) claims `width` x `height`."""
    data = bytearray(encode(Image.new("L", (8, 8), 255), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def animated_gif(first: str, second: str) -> bytes:
    """Two frames, each with its own text."""
    frames = [text_image(first).convert("P"), text_image(second).convert("P").resize(text_image(first).size)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
