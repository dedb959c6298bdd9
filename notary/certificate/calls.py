"""The certificate's call record section (通话记录 / Call record), from the statement alone."""

from __future__ import annotations

from notary.core.callrecord import CallRecord, Direction
from notary.core.errors import StatementError

from .rows import Row, Section
from .wording import Bilingual

__all__ = ["call_section"]

DIRECTION_WORDS = {Direction.OUTBOUND: Bilingual("呼出", "outbound"),
                   Direction.INBOUND: Bilingual("呼入", "inbound")}
_COMMITTED = "号码承诺（HMAC-SHA-256，加盐）/ number commitment (salted HMAC-SHA-256)"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d} ({seconds} 秒 / s)"


def call_section(call: CallRecord) -> Section:
    """What the statement says about the call; the numbers appear only as commitments."""
    try:
        local = call.local_start().strftime("%Y-%m-%d %H:%M:%S")
    except StatementError:  # a zone this machine's database lacks: the times still stand
        local = "时区未知 / zone unknown here"
    direction = DIRECTION_WORDS[call.direction]
    rows = [
        Row(Bilingual("开始时间", "Started at"), call.started_at,
            note=f"当地时间 / local time {local} ({call.timezone})"),
        Row(Bilingual("结束时间", "Ended at"), call.ended_at),
        Row(Bilingual("通话时长", "Duration"), _duration(call.duration_seconds)),
        Row(Bilingual("呼叫方向", "Direction"), f"{direction.zh} / {direction.en}"),
        Row(Bilingual("坐席工号", "Agent ID (工号)"), call.agent_id),
    ]
    if call.campaign is not None:
        rows.append(Row(Bilingual("外呼任务", "Campaign"), call.campaign))
    rows += [
        Row(Bilingual("主叫号码", "Caller number"), call.caller.value, mono=True, note=_COMMITTED),
        Row(Bilingual("被叫号码", "Callee number"), call.callee.value, mono=True, note=_COMMITTED),
    ]
    return Section(Bilingual("通话记录", "Call record"), tuple(rows))
