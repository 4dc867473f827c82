"""The notice's body as an ordered list of blocks: one wording shared by the PDF and the DOCX."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .content import NoticeContent, chinese_date, chinese_numeral


class Style(StrEnum):
    """The GB/T 9704 faces by role; fonts.py and docx.py map each to a font."""

    MARK = "mark"  # 小标宋, red
    TITLE = "title"  # 小标宋
    BODY = "body"  # 仿宋: 正文, 1. and （1）
    LEVEL1 = "level1"  # 黑体: 一、
    LEVEL2 = "level2"  # 楷体: （一）
    LABEL = "label"  # 黑体: 附件1
    NUMERAL = "numeral"  # 宋体: page numbers


@dataclass(frozen=True)
class Block:
    """One paragraph: its style, text and first-line indent; ``hang`` aligns wrapped lines."""

    style: Style
    text: str
    indent: int = 2  # characters
    hang: int = 0  # characters from the left where wrapped lines start (0: flush left)


PHOTO_ATTACHMENT_TITLE = "整改问题照片"


def body_blocks(c: NoticeContent) -> list[Block]:
    """From the addressee to the 附件说明 (the signature and colophon are placed apart)."""
    blocks = [Block(Style.BODY, f"{c.addressee}：", indent=0), Block(Style.BODY, c.basis)]
    blocks.append(Block(Style.LEVEL1, "一、存在的问题"))
    photo_no = 0
    for p in c.problems:
        blocks.append(Block(Style.LEVEL2, f"（{chinese_numeral(p.number)}）{p.category}（{p.severity}）"))
        blocks.append(Block(Style.BODY, p.text))
        blocks.append(Block(Style.BODY, f"整改时限：{p.deadline}。"))
        if p.thumbnails:
            first, photo_no = photo_no + 1, photo_no + len(p.thumbnails)
            where = f"图{first}" if first == photo_no else f"图{first}至图{photo_no}"
            blocks.append(Block(Style.BODY, f"佐证照片：见附件1{where}。"))
    section = 2
    if c.requirements:
        blocks.append(Block(Style.LEVEL1, f"{chinese_numeral(section)}、整改要求"))
        blocks += [Block(Style.BODY, f"{i}.{t}") for i, t in enumerate(c.requirements, 1)]
        section += 1
    if c.return_items:
        blocks.append(Block(Style.LEVEL1, f"{chinese_numeral(section)}、报送材料"))
        blocks += [Block(Style.BODY, f"{i}.{t}") for i, t in enumerate(c.return_items, 1)]
        section += 1
    blocks.append(Block(Style.LEVEL1, f"{chinese_numeral(section)}、联系方式"))
    blocks.append(Block(Style.BODY, f"联系人：{c.contact.name}，联系电话：{c.contact.telephone}。"))
    return blocks


def attachment_titles(c: NoticeContent) -> list[str]:
    titles = [PHOTO_ATTACHMENT_TITLE] if c.thumbnails else []
    return titles + [a.title for a in c.attachments]


def attachment_note(c: NoticeContent) -> list[Block]:
    """附件说明: "附件：1.××", one name a line, wrapped names aligned on the name's first character."""
    titles = attachment_titles(c)
    if not titles:
        return []
    if len(titles) == 1:
        return [Block(Style.BODY, f"附件：{titles[0]}", hang=2 + 3)]
    lines = [Block(Style.BODY, f"附件：1.{titles[0]}", hang=2 + 3 + 2)]
    lines += [Block(Style.BODY, f"{i}.{t}", indent=5, hang=2 + 3 + 2) for i, t in enumerate(titles[1:], 2)]
    return lines


def photo_captions(c: NoticeContent) -> list[str]:
    """图N, the problem it belongs to and the caption: the only text under a photo."""
    out = []
    for p in c.problems:
        for t in p.thumbnails:
            out.append(f"图{len(out) + 1}　问题（{chinese_numeral(p.number)}）：{t.caption}")
    return out


def colophon_lines(c: NoticeContent) -> tuple[str | None, str, str]:
    """(抄送 line or None, 印发机关, 印发日期) as the 版记 shows them."""
    cc = f"抄送：{'，'.join(c.cc)}。" if c.cc else None
    return cc, c.printing_office, f"{chinese_date(c.printed_on)}印发"
