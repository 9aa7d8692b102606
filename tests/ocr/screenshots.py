"""Screenshots rendered with Pillow, for the OCR tests and benchmarks/ocr.py.

Each `Shot` is a real error text from the knowledge base (its entry's `errors` or `asks`) drawn the way members
post it: a crop of a bounce or log line, a desktop dialog with a title bar, an icon and buttons (Outlook,
Thunderbird), a phone alert (iPhone Mail), a desktop notification (Thunderbird) and a terminal. Light and dark
themes, DejaVu Sans, Serif and Mono from 9 to 18 px, and some saved as JPEG at quality 30-60. `pasted` is what
a member would paste instead: the alert's title and message, never the buttons or the window's name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from collections.abc import Callable

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core
REGULAR = {"sans": "DejaVuSans.ttf", "serif": "DejaVuSerif.ttf", "mono": "DejaVuSansMono.ttf"}
BOLD = {"sans": "DejaVuSans-Bold.ttf", "serif": "DejaVuSerif-Bold.ttf", "mono": "DejaVuSansMono-Bold.ttf"}

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Theme:
    page: RGB  # behind everything
    panel: RGB  # the dialog, alert or notification
    text: RGB
    muted: RGB
    title_bar: RGB
    button: RGB
    border: RGB
    accent: RGB  # phone buttons, icons


THEMES = {
    "light": Theme(
        page=(243, 243, 243), panel=(255, 255, 255), text=(28, 28, 30), muted=(110, 110, 115),
        title_bar=(230, 230, 230), button=(225, 225, 225), border=(170, 170, 170), accent=(0, 122, 255),
    ),
    "dark": Theme(
        page=(30, 31, 34), panel=(43, 45, 49), text=(232, 232, 235), muted=(160, 160, 168),
        title_bar=(24, 25, 28), button=(64, 66, 72), border=(90, 92, 98), accent=(10, 132, 255),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Shot:
    entry: str  # the knowledge entry the text comes from
    layout: str  # plain, dialog, phone, toast, terminal
    message: str
    title: str | None = None  # an alert's own title, part of what it says (not a window's name)
    app: str = ""  # a window's or notification's name: chrome
    buttons: tuple[str, ...] = ("OK",)
    theme: str = "light"
    font: str = "sans"
    size: int = 13
    jpeg: int | None = None  # JPEG quality; None: PNG
    scale: int = 1  # a high-density screen's screenshot (a phone's is 3x)

    @property
    def name(self) -> str:
        saved = f"jpeg{self.jpeg}" if self.jpeg else "png"
        scaled = f"-x{self.scale}" if self.scale > 1 else ""
        return f"{self.layout}-{self.entry}-{self.theme}-{self.font}{self.size}{scaled}-{saved}"

    @property
    def pasted(self) -> str:
        return f"{self.title}\n{self.message}" if self.title else self.message

    def image(self) -> Image.Image:
        image = LAYOUTS[self.layout](self, THEMES[self.theme])
        if self.scale > 1:
            image = image.resize((image.width * self.scale, image.height * self.scale), Image.Resampling.LANCZOS)
        return image

    def encoded(self) -> bytes:
        buffer = io.BytesIO()
        image = self.image()
        if self.jpeg is None:
            image.save(buffer, "PNG")
        else:
            image.save(buffer, "JPEG", quality=self.jpeg)
        return buffer.getvalue()


@cache
def font(name: str, size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / (BOLD if bold else REGULAR)[name]), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and face.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def _line_height(face: ImageFont.FreeTypeFont) -> int:
    ascent, descent = face.getmetrics()
    return ascent + descent + 3


def _text_block(
    draw: ImageDraw.ImageDraw, lines: list[str], face: ImageFont.FreeTypeFont, x: int, y: int, fill: RGB,
    *, centre_width: int | None = None,
) -> int:
    """Draw `lines` from (x, y), centred in `centre_width` if given; the y below them."""
    for line in lines:
        offset = (centre_width - int(face.getlength(line))) // 2 if centre_width else 0
        draw.text((x + offset, y), line, font=face, fill=fill)
        y += _line_height(face)
    return y


def plain(shot: Shot, theme: Theme) -> Image.Image:
    """A crop of a bounce message or a log line."""
    face = font(shot.font, shot.size)
    lines = wrap(shot.message, face, 520)
    width = max(int(face.getlength(line)) for line in lines) + 36
    image = Image.new("RGB", (width, _line_height(face) * len(lines) + 28), theme.page)
    _text_block(ImageDraw.Draw(image), lines, face, 18, 14, theme.text)
    return image


def _button_row(
    draw: ImageDraw.ImageDraw, buttons: tuple[str, ...], face: ImageFont.FreeTypeFont, right: int, y: int,
    theme: Theme,
) -> None:
    x = right
    for label in reversed(buttons):
        width = max(76, int(face.getlength(label)) + 28)
        x -= width
        draw.rounded_rectangle((x, y, x + width, y + 26), radius=3, fill=theme.button, outline=theme.border)
        draw.text((x + (width - int(face.getlength(label))) // 2, y + 5), label, font=face, fill=theme.text)
        x -= 10


def dialog(shot: Shot, theme: Theme) -> Image.Image:
    """A desktop error dialog: title bar with the program's name and a close cross, a warning icon, the
    message, buttons at the bottom right."""
    face = font(shot.font, shot.size)
    small = font("sans", 12)
    lines = wrap(shot.pasted, face, 380)
    width = 500
    body_top = 32
    text_bottom = _text_block(ImageDraw.Draw(Image.new("RGB", (1, 1))), lines, face, 0, 0, theme.text)
    height = body_top + 22 + max(text_bottom, 40) + 22 + 26 + 16
    image = Image.new("RGB", (width, height), theme.panel)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, body_top), fill=theme.title_bar)
    draw.text((12, 9), shot.app, font=small, fill=theme.muted)
    draw.line((width - 26, 11, width - 16, 21), fill=theme.muted, width=2)
    draw.line((width - 26, 21, width - 16, 11), fill=theme.muted, width=2)
    # The warning triangle with its exclamation mark.
    top = body_top + 22
    draw.polygon([(38, top), (58, top + 34), (18, top + 34)], fill=(240, 190, 40))
    draw.rectangle((36, top + 10, 40, top + 24), fill=(40, 40, 40))
    draw.rectangle((36, top + 27, 40, top + 31), fill=(40, 40, 40))
    _text_block(draw, lines, face, 80, top, theme.text)
    _button_row(draw, shot.buttons, small, width - 16, height - 26 - 14, theme)
    draw.rectangle((0, 0, width - 1, height - 1), outline=theme.border)
    return image


def phone(shot: Shot, theme: Theme) -> Image.Image:
    """An iPhone alert over a dimmed screen: bold centred title, centred message, a row of buttons (a column
    for three)."""
    title_face = font(shot.font, shot.size + 4, bold=True)
    face = font(shot.font, shot.size + 1)
    alert_width = 270
    title_lines = wrap(shot.title or "", title_face, alert_width - 32)
    lines = wrap(shot.message, face, alert_width - 32)
    text_height = _line_height(title_face) * len(title_lines) + 6 + _line_height(face) * len(lines)
    button_height = 44
    rows = len(shot.buttons) if len(shot.buttons) > 2 else 1
    alert_height = 20 + text_height + 18 + button_height * rows
    width, height = 390, alert_height + 240
    dim = tuple(channel // 2 for channel in theme.page)
    image = Image.new("RGB", (width, height), dim)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(image)
    draw.text((24, 14), "9:41", font=font("sans", 15, bold=True), fill=(250, 250, 250))
    left, top = (width - alert_width) // 2, 120
    draw.rounded_rectangle((left, top, left + alert_width, top + alert_height), radius=14, fill=theme.panel)
    y = _text_block(draw, title_lines, title_face, left, top + 20, theme.text, centre_width=alert_width) + 6
    y = _text_block(draw, lines, face, left, y, theme.text, centre_width=alert_width) + 18
    button_face = font(shot.font, shot.size + 4)
    if rows == 1:
        draw.line((left, y, left + alert_width, y), fill=theme.border)
        cell = alert_width // len(shot.buttons)
        for index, label in enumerate(shot.buttons):
            if index:
                draw.line((left + cell * index, y, left + cell * index, y + button_height), fill=theme.border)
            offset = (cell - int(button_face.getlength(label))) // 2
            draw.text((left + cell * index + offset, y + 12), label, font=button_face, fill=theme.accent)
    else:
        for label in shot.buttons:
            draw.line((left, y, left + alert_width, y), fill=theme.border)
            offset = (alert_width - int(button_face.getlength(label))) // 2
            draw.text((left + offset, y + 12), label, font=button_face, fill=theme.accent)
            y += button_height
    return image


def toast(shot: Shot, theme: Theme) -> Image.Image:
    """A desktop notification: the program's icon and name, then the message."""
    face = font(shot.font, shot.size)
    name_face = font("sans", 12, bold=True)
    lines = wrap(shot.pasted, face, 300)
    height = 44 + _line_height(face) * len(lines) + 16
    image = Image.new("RGB", (380, height + 24), theme.page)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((12, 12, 368, 12 + height), radius=8, fill=theme.panel, outline=theme.border)
    draw.ellipse((26, 24, 46, 44), fill=theme.accent)
    draw.text((56, 26), shot.app, font=name_face, fill=theme.muted)
    _text_block(draw, lines, face, 26, 54, theme.text)
    return image


def terminal(shot: Shot, theme: Theme) -> Image.Image:
    """A terminal: a prompt with the command that failed, then its output."""
    face = font("mono", shot.size)
    lines = wrap(shot.message, face, 640)
    width = max(int(face.getlength(line)) for line in lines) + 32
    image = Image.new("RGB", (width, _line_height(face) * len(lines) + 24), theme.page)
    _text_block(ImageDraw.Draw(image), lines, face, 16, 12, theme.text)
    return image


LAYOUTS: dict[str, Callable[[Shot, Theme], Image.Image]] = {
    "plain": plain,
    "dialog": dialog,
    "phone": phone,
    "toast": toast,
    "terminal": terminal,
}


OUTLOOK = "Microsoft Outlook"
THUNDERBIRD = "Thunderbird"
PROMPT = "$ python3 send_report.py\n"

# (entry, layout, title, message, app, buttons): the texts, then each gets a style from the cycles below.
_TEXTS: list[tuple[str, str, str | None, str, str, tuple[str, ...]]] = [
    # Phone alerts (iPhone Mail, Android mail apps).
    ("ios-cannot-get-mail", "phone", "Cannot Get Mail", "The connection to the server failed.", "", ("OK",)),
    ("ios-cannot-verify-server-identity", "phone", "Cannot Verify Server Identity",
     ("The identity of \u201cimap.example.com\u201d cannot be verified by Mail. Review the certificate details to "
     "continue."), "", ("Cancel", "Details", "Continue")),
    ("ios-cannot-get-mail", "phone", "Cannot Send Mail", "The connection to the outgoing server failed.", "",
     ("OK",)),
    ("ios-server-not-responding", "phone", "Cannot Get Mail",
     ("The mail server \u201cimap.example.com\u201d is not responding. Verify that you have entered the correct "
     "account info in Mail settings."), "", ("OK",)),
    ("ios-server-not-responding", "phone", "Cannot Connect Using SSL",
     "Do you want to try setting up the account without SSL?", "", ("Cancel", "Yes")),
    ("android-gmail-app", "phone", None, "Couldn't open connection to server", "", ("Cancel", "Edit details")),
    ("thunderbird-android-k9", "phone", None, "Checking incoming server settings failed", "", ("Edit details",)),
    ("thunderbird-android-k9", "phone", None, "OAuth 2.0 is currently not supported with this provider.", "",
     ("OK",)),
    # Desktop dialogs.
    ("outlook-0x800ccc0e", "dialog", None, "Outlook cannot synchronize subscribed folders. Error: 0x800CCC0E",
     OUTLOOK, ("OK",)),
    ("outlook-0x800ccc0f", "dialog", None,
     "Sending reported error (0x800CCC0F): The connection to the server was interrupted.", OUTLOOK, ("OK",)),
    ("outlook-0x80042109", "dialog", None,
     "Outlook is unable to connect to your outgoing (SMTP) e-mail server. Error 0x80042109", OUTLOOK,
     ("OK", "Help")),
    ("outlook-0x80042108", "dialog", None, "Outlook is unable to connect to your incoming (POP3) e-mail server.",
     OUTLOOK, ("OK",)),
    ("outlook-0x800ccc1a", "dialog", None,
     ("Your server does not support the connection encryption type you have specified. Try changing the "
     "encryption method."), OUTLOOK, ("OK",)),
    ("thunderbird-smtp-auth-failed", "dialog", None,
     "Sending of the message failed. Unable to authenticate to Outgoing server (SMTP).", "Send Message Error",
     ("OK",)),
    ("thunderbird-cant-find-server", "dialog", None,
     "Thunderbird failed to find the settings for your email account.", "Account Setup", ("Cancel", "Retry")),
    ("thunderbird-exchange-ews", "dialog", None,
     ("Configuration could not be verified. If your username and password are correct, it's likely that the "
     "server administrator has disabled the selected configuration for your account. Try selecting another "
     "protocol."), "Account Setup", ("OK",)),
    ("sent-not-saved", "dialog", None,
     "Your message was sent but a copy was not placed in your sent folder due to network or file access errors.",
     THUNDERBIRD, ("OK",)),
    ("cert-hostname-mismatch", "dialog", None,
     ("The server you are connected to is using a security certificate that cannot be verified. The target "
     "principal name is incorrect."), "Internet Security Warning", ("Yes", "No", "View Certificate")),
    ("new-outlook-vs-classic", "dialog", None, "We couldn't reach the email server. Please try again.", "Outlook",
     ("Close",)),
    ("server-disconnected", "dialog", None,
     ("The message could not be sent because the connection to Outgoing server (SMTP) was lost in the middle of "
     "the transaction."), THUNDERBIRD, ("OK",)),
    ("max-connections", "dialog", None,
     ("Unable to connect to your IMAP server. You may have exceeded the maximum number of connections to this "
     "server."), THUNDERBIRD, ("OK",)),
    # Desktop notifications.
    ("thunderbird-cant-find-server", "toast", None, "Authentication failed. Please check the username and password",
     THUNDERBIRD, ()),
    ("server-disconnected", "toast", None, "Your IMAP server closed the connection", THUNDERBIRD, ()),
    ("max-connections", "toast", None, "[ALERT] Too many simultaneous connections. (Failure)", THUNDERBIRD, ()),
    ("oauth-token-expired", "toast", None, "The refresh token has expired due to inactivity", THUNDERBIRD, ()),
    ("mailbox-full-quota", "toast", None, "552 5.2.2 Quota exceeded (mailbox for user is full)", THUNDERBIRD, ()),
    ("app-passwords", "toast", None, "[ALERT] Application-specific password required", THUNDERBIRD, ()),
    ("imap-authentication-failed", "toast", None, "NO [AUTHENTICATIONFAILED] Invalid credentials", THUNDERBIRD, ()),
    # Bounces and log lines.
    ("auth-failed-535", "plain", None, "535 5.7.8 Username and Password not accepted", "", ()),
    ("app-passwords", "plain", None, "534-5.7.9 Application-specific password required", "", ()),
    ("m365-smtp-auth-disabled", "plain", None,
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant", "", ()),
    ("recipient-address-rejected", "plain", None,
     "550-5.1.1 The email account that you tried to reach does not exist", "", ()),
    ("relay-denied", "plain", None, "554 5.7.1 Relay access denied", "", ()),
    ("ip-blocklisted", "plain", None,
     "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org", "", ()),
    ("message-size-limit", "plain", None, "552-5.2.3 Your message exceeded Google's message size limits", "", ()),
    ("sending-limit-exceeded", "plain", None, "550 5.4.5 Daily user sending limit exceeded", "", ()),
    ("sender-address-rejected", "plain", None, "553 5.7.1 Sender address rejected: not owned by user", "", ()),
    ("smtp-not-authenticated-530", "plain", None, "530 5.7.57 Client not authenticated to send mail", "", ()),
    ("mail-lands-in-spam", "plain", None, "Our system has detected that this message is likely unsolicited mail",
     "", ()),
    ("plaintext-auth-disallowed", "plain", None,
     "Plaintext authentication disallowed on non-secure (SSL/TLS) connections", "", ()),
    ("starttls-required-530", "plain", None, "530 Must issue a STARTTLS command first", "", ()),
    ("google-less-secure-apps-ended", "plain", None,
     "Google will continue to block sign-in attempts from the app you're using", "", ()),
    # Terminals.
    ("wrong-version-number", "terminal", None,
     PROMPT + "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "", ()),
    ("smtp-server-disconnected", "terminal", None,
     PROMPT + "smtplib.SMTPServerDisconnected: Connection unexpectedly closed", "", ()),
    ("tls-version-too-old", "terminal", None,
     PROMPT + "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version", "", ()),
    ("smtp-code-connect-failed", "terminal", None,
     "$ php mail.php\nSMTP ERROR: Failed to connect to server: Connection refused (111)", "", ()),
    ("smtp-code-connect-failed", "terminal", None, "$ node send.js\nError: connect ECONNREFUSED 127.0.0.1:587", "",
     ()),
    ("starttls-not-offered", "terminal", None,
     PROMPT + "smtplib.SMTPNotSupportedError: STARTTLS extension not supported by server.", "", ()),
    ("smtp-requires-authentication", "terminal", None,
     PROMPT + "smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.", "", ()),
    ("server-disconnected", "terminal", None,
     PROMPT + "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol", "", ()),
    ("cert-expired", "terminal", None,
     PROMPT + "ssl.SSLCertVerificationError: certificate verify failed: certificate has expired", "", ()),
    ("pop3-mailbox-in-use", "terminal", None, "$ telnet pop.example.com 110\n-ERR [IN-USE] Unable to lock maildrop",
     "", ()),
    ("smtp-port-465", "terminal", None,
     "System.IO.IOException: Unable to read data from the transport connection: net_io_connectionclosed.", "", ()),
]  # fmt: skip

_FONTS = ("sans", "serif", "mono")
_SIZES = (9, 11, 12, 13, 14, 16, 18, 10)
_QUALITIES = (30, 40, 50, 60)


def _styled(index: int, text: tuple[str, str, str | None, str, str, tuple[str, ...]]) -> Shot:
    entry, layout, title, message, app, buttons = text
    return Shot(
        entry=entry,
        layout=layout,
        message=message,
        title=title,
        app=app,
        buttons=buttons,
        theme="dark" if index % 2 else "light",
        font="mono" if layout == "terminal" else _FONTS[(index // 2) % len(_FONTS)],
        size=_SIZES[(index // 3) % len(_SIZES)],
        # Every fourth one a JPEG, as phones and chat apps often save screenshots.
        jpeg=_QUALITIES[(index // 4) % len(_QUALITIES)] if index % 4 == 3 else None,
        # Half the phone alerts as a phone saves them (3 times the size), some desktop ones from a 2x screen.
        scale=3 if layout == "phone" and index % 2 == 0 else 2 if index % 9 == 4 else 1,
    )


SHOTS: tuple[Shot, ...] = tuple(_styled(index, text) for index, text in enumerate(_TEXTS))
