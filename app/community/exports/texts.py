"""What the requester reads when a background work ledger is ready, or could not be made (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from app.core.clock import to_shanghai
from app.notify.payloads import Rendered, thing, time_value

READY_KEY: Final = "export_ready"
READY_TITLE: Final = "工作台账已生成"
FAILED_TITLE: Final = "工作台账生成失败"
#: Where the mini-program lists the caller's exports and downloads their files.
EXPORTS_PAGE: Final = "pages/exports/index?id={job_id}"


@dataclass(frozen=True, slots=True)
class ExportFacts:
    job_id: int
    #: The community's or street's name.
    area: str
    first: date
    last: date
    #: Orders in the range when it was asked for.
    rows: int

    @property
    def span(self) -> str:
        return f"{self.first:%Y-%m-%d}至{self.last:%Y-%m-%d}"


def ready(facts: ExportFacts, expires_at: datetime) -> Rendered:
    """The ledger is written: where to get it and until when (the file is deleted then)."""
    until = f"{to_shanghai(expires_at):%m-%d %H:%M}"
    return Rendered(
        data={
            "thing1": thing(f"{facts.area}工作台账"),
            "thing2": thing(facts.span),
            "thing3": thing(f"共{facts.rows}张工单，请按时下载"),
            "time4": time_value(expires_at),
        },
        title=READY_TITLE,
        body=(
            f"{facts.area} {facts.span} 的工作台账已生成（{facts.rows} 张工单），"
            f"请在 {until} 前下载，过期后文件将删除。"
        ),
        page=EXPORTS_PAGE.format(job_id=facts.job_id),
    )


def failed(facts: ExportFacts, reason: str, at: datetime) -> Rendered:
    """The ledger could not be written after every attempt: the requester may ask again."""
    return Rendered(
        data={
            "thing1": thing(f"{facts.area}工作台账"),
            "thing2": thing(facts.span),
            "thing3": thing(reason),
            "time4": time_value(at),
        },
        title=FAILED_TITLE,
        body=f"{facts.area} {facts.span} 的工作台账未能生成：{reason}。请稍后重新申请。",
        page=EXPORTS_PAGE.format(job_id=facts.job_id),
    )
