"""`guidenest ask --image FILE`: the installed command reads a screenshot through the bot's own OCR core and
answers it, says what it read, and refuses hostile files with a clear line and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.ocr.images import encode, png_bomb, text_image
from tests.ocr.screenshots import SHOTS

GUIDENEST = Path(sys.executable).parent / "guidenest"
CANNOT_GET_MAIL = next(shot for shot in SHOTS if shot.entry == "ios-cannot-get-mail" and shot.jpeg is None)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GUIDENEST), *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def saved(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_a_screenshot_is_answered_and_the_answer_says_what_it_read(tmp_path: Path) -> None:
    result = run_cli("ask", "--image", saved(tmp_path, "alert.png", CANNOT_GET_MAIL.encoded()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("== iPhone")
    assert "From your screenshot: " in result.stdout
    assert "Cannot Get Mail — The connection to the server failed." in result.stdout
    assert result.stderr == ""


def test_json_has_what_was_read_and_a_question_given_too_is_asked_with_it(tmp_path: Path) -> None:
    code = saved(tmp_path, "code.png", encode(text_image("0x800CCC0E")))
    result = run_cli("ask", "--json", "--image", code, "outlook says this when I send")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == "outlook says this when I send"
    assert answer["image_text"] == "0x800CCC0E"
    assert answer["match"]["id"] == "outlook-0x800ccc0e"
    assert answer["confident"] is True


def test_hostile_and_wrong_files_are_refused_with_exit_3(tmp_path: Path) -> None:
    bomb = run_cli("ask", "--image", saved(tmp_path, "bomb.png", png_bomb(6000, 6000)))
    assert bomb.returncode == 3
    assert "bomb.png was not read: the image is 6000 x 6000 pixels; the limit is 25000000 pixels" in bomb.stderr
    text = run_cli("ask", "--image", saved(tmp_path, "notes.png", b"535 5.7.8 not an image"))
    assert text.returncode == 3
    assert "not a PNG, JPEG, WebP or GIF image" in text.stderr
    cut = CANNOT_GET_MAIL.encoded()
    truncated = run_cli("ask", "--image", saved(tmp_path, "cut.png", cut[: len(cut) // 2]))
    assert truncated.returncode == 3
    assert "damaged or cut short" in truncated.stderr
    for result in (bomb, text, truncated):
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


def test_the_byte_cap_is_the_setting(tmp_path: Path) -> None:
    data = CANNOT_GET_MAIL.encoded()
    env = {**os.environ, "GUIDENEST_OCR_MAX_BYTES": str(len(data) - 1)}
    result = run_cli("ask", "--image", saved(tmp_path, "alert.png", data), env=env)
    assert result.returncode == 3
    assert f"the image is {len(data)} bytes; the limit is {len(data) - 1}" in result.stderr


def test_no_text_and_no_file(tmp_path: Path) -> None:
    blank = run_cli("ask", "--image", saved(tmp_path, "blank.png", encode(text_image(""))))
    assert blank.returncode == 1
    assert "no text could be read in" in blank.stderr
    missing = run_cli("ask", "--image", str(tmp_path / "nowhere.png"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    assert "No such file or directory" in missing.stderr


def test_without_tesserocr_it_says_how_to_install(tmp_path: Path) -> None:
    # A package named tesserocr first on the path that fails to import, as an absent one does.
    shadow = tmp_path / "shadow" / "tesserocr"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tesserocr'\", name='tesserocr')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    result = run_cli("ask", "--image", saved(tmp_path, "alert.png", CANNOT_GET_MAIL.encoded()), env=env)
    assert result.returncode == 2
    assert "screenshots cannot be read here: tesserocr is not installed" in result.stderr
    assert "pip install 'guidenest-bot[ocr]'" in result.stderr
    assert "apt install tesseract-ocr tesseract-ocr-eng" in result.stderr
    # The rest of `ask` works without it.
    plain = run_cli("ask", "535 5.7.8 Username and Password not accepted", env=env)
    assert plain.returncode == 0
