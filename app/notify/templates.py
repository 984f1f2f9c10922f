"""The subscribe-message templates, as the mini-program needs them for
``wx.requestSubscribeMessage``: Linli's template key, the WeChat template id this deployment
configured for it (``[notify.subscribe_templates]``), and the message's Chinese title."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from app.core.config import TEMPLATE_KEYS, NotifySection
from app.notify.shapes import SubscribeTemplateList, SubscribeTemplateOut
from app.runtime import Runtime

#: The title of each template's message, as its inbox entry shows it (the wording of the messages
#: themselves is the order domain's, app/orders/texts.py; a test keeps the two titles equal).
TITLES: Final[Mapping[str, str]] = {
    "order_submitted": "新工单待派单",
    "order_dispatched": "您有新的派单",
    "order_claimed": "已有志愿者接单",
    "order_started": "服务已开始",
    "order_completed": "服务已完成，请评价",
    "order_escalated": "社区吹哨：请报到",
    "reminder": "工单提醒",
    "digest": "工作日报",
    "points_changed": "积分变动提醒",
    "care_missed": "关爱探访未按时完成",
    "survey_invite": "物业满意度测评",
    "property_flagged": "物业测评预警",
    "export_ready": "工作台账已生成",
}


def subscribe_templates_of(notify: NotifySection) -> SubscribeTemplateList:
    """The configured subscribe templates, in the order of ``TEMPLATE_KEYS``. A key with no
    template id is left out: the mini-program cannot ask consent for it."""
    configured = notify.subscribe_templates
    return SubscribeTemplateList(
        items=[
            SubscribeTemplateOut(key=key, template_id=configured[key], title=TITLES[key])
            for key in TEMPLATE_KEYS
            if configured.get(key)
        ]
    )


def list_subscribe_templates(rt: Runtime) -> SubscribeTemplateList:
    """Any logged-in user: what to pass to ``wx.requestSubscribeMessage`` and what to report back
    to ``POST /subscriptions``. Read from the settings; no database."""
    return subscribe_templates_of(rt.settings.notify)
