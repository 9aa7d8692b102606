"""Screenshots: the text of a message's image attachments, read with OCR (bot/ocr), for the answers cog and
the message commands. Discord's attachment objects become the core's `ImageAttachment`; the core checks,
downloads and reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ocr.service import ImageAttachment

if TYPE_CHECKING:
    import discord

    from bot.app import GuideNestBot


def image_attachments(message: discord.Message) -> list[ImageAttachment]:
    """The message's attachments as the core describes them (what Discord says of each, unchecked)."""
    return [
        ImageAttachment(
            url=attachment.url,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            width=attachment.width,
            height=attachment.height,
        )
        for attachment in message.attachments
    ]


async def read_screenshots(bot: GuideNestBot, message: discord.Message) -> str | None:
    """Text read from the message's image attachments, or None (no images, OCR not installed, refused,
    nothing read)."""
    screenshots = getattr(bot, "screenshots", None)  # None: OCR is not installed (logged at start)
    if screenshots is None or not message.attachments:
        return None
    return await screenshots.read_attachments(image_attachments(message))
