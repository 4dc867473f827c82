"""What a 整改通知书 says, as plain frozen data: the one input of the PDF and DOCX compilers.

The notice service (later) builds a NoticeContent from its documents; the compilers know no
database. Nothing here names an inspector: the basis names the office and the mode only, and
the photos are working copies (metadata-free thumbnails), which __post_init__ checks.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, timezone

# 机关代字〔YYYY〕serial号: the year in full inside 六角括号, no 第, no leading zeros.
NUMBER_PATTERN = re.compile(r"^\S+〔\d{4}〕[1-9]\d*号$")

_NUMERALS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 23 → 二十三 (headings 一、 and （一） go up to 99)."""
    if not 0 < n < 100:
        raise ValueError(f"heading numbers run from 1 to 99, not {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens] + "十")
    return head + ("" if ones == 0 else _NUMERALS[ones])


def chinese_date(d: date) -> str:
    """成文日期 and 印发日期: Arabic numerals, the year in full, no zero padding."""
    return f"{d.year}年{d.month}月{d.day}日"


def deadline_phrase(working_days: int, fixed_on: date | None = None) -> str:
    """A problem's limit as the notice states it.

    The date is added only when it is fixed at issue (the office counts from 印发, so the
    issue date fixes it); a date that depends on when the unit signs is provisional and the
    live date is in the API, not in the document.
    """
    if working_days < 1:
        raise ValueError("a deadline is at least one working day")
    phrase = f"自印发（签收）之日起{working_days}个工作日内"
    return phrase if fixed_on is None else f"{phrase}（{chinese_date(fixed_on)}前）"


def basis_paragraph(mode: str, inspected_on: date, office: str, scope: str) -> str:
    """The basis: 明查 or 暗访, the date and the office, never a person of it."""
    if mode not in ("open", "undercover"):
        raise ValueError(f"mode is open or undercover, not {mode!r}")
    how = "明查" if mode == "open" else "暗访"
    return (f"{chinese_date(inspected_on)}，{office}对你单位{scope}进行了{how}，"
            "发现存在以下问题，现通知如下：")


def _is_plain_jpeg(data: bytes) -> bool:
    """A JPEG whose header segments carry no EXIF (so no GPS, no capture time, no camera)."""
    if data[:2] != b"\xff\xd8":
        return False
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: no more metadata segments
            return True
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xE1 and data[i + 4:i + 10] in (b"Exif\x00\x00", b"Exif\x00\xff"):
            return False
        if marker == 0xE1 and data[i + 4:i + 8] == b"http":  # XMP may hold GPS too
            return False
        i += 2 + length
    return True


@dataclass(frozen=True)
class Thumbnail:
    """A working copy cited as evidence: a 320 px JPEG without metadata, and its caption."""

    jpeg: bytes = field(repr=False)
    caption: str

    def __post_init__(self) -> None:
        if not _is_plain_jpeg(self.jpeg):
            raise ValueError("a notice cites working copies only: a JPEG without EXIF or XMP")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.jpeg).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One numbered problem: its text, labels, the deadline phrase and its photos."""

    number: int
    text: str
    category: str  # the label, e.g. 窗口纪律
    severity: str  # the label, e.g. 一般
    deadline: str  # from deadline_phrase()
    thumbnails: tuple[Thumbnail, ...] = ()


@dataclass(frozen=True)
class Contact:
    """The office's contact: the only person of the office a notice names."""

    name: str
    telephone: str


@dataclass(frozen=True)
class Attachment:
    """A further attachment set as text pages (e.g. a 回执); 附件1 is always the photos."""

    title: str
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoticeContent:
    """Everything a notice shows. ``number`` is None exactly when ``draft`` is True.

    ``issued_at`` (aware) is pinned as the PDF CreationDate and the DOCX core dates, so the
    same content compiles to the same bytes; for a draft pass the draft's last change.
    """

    office_mark: str  # 发文机关标志, e.g. 蓬江区人民政府督查室
    number: str | None  # 发文字号, e.g. 蓬督查〔2026〕15号
    title: str
    addressee: str  # 主送, without the colon
    basis: str  # from basis_paragraph()
    problems: tuple[Problem, ...]
    requirements: tuple[str, ...]  # 立行立改, 举一反三, ... (editable by the office)
    return_items: tuple[str, ...]  # 整改报告, 佐证材料, ...
    contact: Contact
    signing_office: str  # 署名
    date: date  # 成文日期
    cc: tuple[str, ...]  # 抄送
    printing_office: str  # 印发机关
    printed_on: date  # 印发日期
    issued_at: datetime
    draft: bool = False
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if self.draft != (self.number is None):
            raise ValueError("a draft has no number and an issued notice has one")
        if self.number is not None and not NUMBER_PATTERN.match(self.number):
            raise ValueError(f"document number {self.number!r} is not 代字〔YYYY〕N号")
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be aware")
        if not self.problems:
            raise ValueError("a notice states at least one problem")

    @property
    def thumbnails(self) -> tuple[Thumbnail, ...]:
        return tuple(t for p in self.problems for t in p.thumbnails)

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, photos by their SHA-256: the same content, the same text."""
        return json.dumps(_plain(self), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def canonical_hash(self) -> str:
        """SHA-256 of canonical_json(): what idempotent compiling and storing key on."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _plain(value):
    if isinstance(value, Thumbnail):
        return {"caption": value.caption, "sha256": value.sha256}
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
