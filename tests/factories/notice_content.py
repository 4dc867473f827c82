"""Sample NoticeContent for the document compiler's tests and benchmark (plain data, no database)."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

from PIL import Image, ImageDraw

from domain.documents import (Attachment, Contact, NoticeContent, Problem, Thumbnail,
                              basis_paragraph, deadline_phrase)

NUMBER = "蓬督查〔2026〕15号"
ISSUED_AT = datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)

PROBLEM_TEXTS = [
    "办事群众在综合窗口排队等候期间，窗口工作人员长时间离开岗位，未安排其他人员顶岗，也未放置暂停服务提示牌，群众等候时间超过二十分钟，影响办事体验。",
    "咨询营业执照变更登记所需材料时，工作人员未能一次性告知全部材料清单，群众往返两次方才备齐，违反一次性告知制度。",
    "服务大厅电子显示屏公示的收费项目与实际收费标准不一致，部分已取消的收费项目仍在公示，政务公开信息更新不及时。",
    "窗口工作人员在工作时间使用手机浏览与工作无关的内容，对前来咨询的群众态度冷淡，未使用文明用语。",
]
CATEGORIES = [("窗口纪律", "较重"), ("一次性告知", "一般"), ("政务公开", "一般"), ("服务态度", "较重")]


def thumbnail_jpeg(index: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A 320 px working copy made here: no EXIF, no GPS, a different picture per index."""
    im = Image.new("RGB", size, (90 + index * 37 % 120, 120, 160 - index * 23 % 100))
    draw = ImageDraw.Draw(im)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(255, 255, 255), width=4)
    draw.line((0, 0, size[0], size[1]), fill=(250, 220, 60), width=6)
    draw.text((30, 30), f"#{index}", fill=(255, 255, 255))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


def problem(n: int, photos: int = 1, fixed: bool = True) -> Problem:
    category, severity = CATEGORIES[(n - 1) % len(CATEGORIES)]
    return Problem(
        number=n,
        text=PROBLEM_TEXTS[(n - 1) % len(PROBLEM_TEXTS)],
        category=category,
        severity=severity,
        deadline=deadline_phrase(5 if severity == "一般" else 3, date(2026, 12, 1) if fixed else None),
        thumbnails=tuple(Thumbnail(thumbnail_jpeg(n * 10 + i), f"第{n}项问题现场照片{i + 1}")
                         for i in range(photos)),
    )


def notice(problems: int = 4, photos_each: int = 1, draft: bool = False, **changes) -> NoticeContent:
    fields = dict(
        office_mark="蓬江区人民政府督查室",
        number=None if draft else NUMBER,
        title="关于蓬江区市场监督管理局政务服务窗口暗访发现问题的整改通知",
        addressee="蓬江区市场监督管理局",
        basis=basis_paragraph("undercover", date(2026, 11, 20), "蓬江区人民政府督查室",
                              "政务服务大厅窗口服务情况"),
        problems=tuple(problem(n, photos_each) for n in range(1, problems + 1)),
        requirements=(
            "立行立改。对本通知指出的问题，立即组织整改，明确责任人和整改时限。",
            "举一反三。对照问题清单全面自查，对同类问题一并整改，防止问题反弹。",
            "建立长效机制。完善窗口服务管理制度，加强日常监督检查和教育培训。",
        ),
        return_items=(
            "整改报告（加盖单位公章），写明整改措施、整改结果和责任人。",
            "佐证材料，包括整改前后对比照片、制度文件等。",
        ),
        contact=Contact("李明", "0750-3271234"),
        signing_office="蓬江区人民政府督查室",
        date=date(2026, 11, 24),
        cc=("蓬江区人民政府办公室", "蓬江区政务服务数据管理局"),
        printing_office="蓬江区人民政府督查室",
        printed_on=date(2026, 11, 24),
        issued_at=ISSUED_AT,
        draft=draft,
        attachments=(Attachment("整改情况回执", ("单位名称：", "签收人：", "签收日期：")),),
    )
    fields.update(changes)
    return NoticeContent(**fields)
