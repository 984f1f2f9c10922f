"""The printable 服务证明 page: the service record as HTML with print CSS. Jinja's autoescape is on,
so a nickname, a team's or a unit's name is shown as text, never as markup."""

from __future__ import annotations

from jinja2 import Environment

from app.account.shapes import ServiceRecordOut

_ENV = Environment(autoescape=True)  # every {{ }} is escaped, whatever it holds

_PAGE = _ENV.from_string(
    """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>志愿服务证明</title>
<style>
  body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
  body { margin: 2em auto; max-width: 48em; color: #111; }
  h1 { text-align: center; letter-spacing: 0.5em; }
  table { width: 100%; border-collapse: collapse; margin: 1em 0; }
  th, td { border: 1px solid #444; padding: 0.3em 0.5em; text-align: left; }
  td.n { text-align: right; }
  .issued { text-align: right; margin-top: 3em; }
  @media print {
    body { margin: 0; max-width: none; }
    @page { size: A4; margin: 2cm; }
    tr { page-break-inside: avoid; }
  }
</style>
</head>
<body>
<h1>志愿服务证明</h1>
<p>兹证明 <strong>{{ r.name }}</strong>
{%- if r.communities %}（{{ r.communities | join("、") }}志愿者）{% endif -%}
于 {{ r.date_from }} 至 {{ r.date_to }} 期间参加志愿服务 {{ r.total_orders }} 次，
累计服务时长 {{ "%.1f" | format(r.total_hours) }} 小时，获得时间银行积分 {{ r.total_points }} 分。</p>
{% if r.teams %}<p>所在服务队：{{ r.teams | join("、") }}</p>{% endif %}
{% if r.employer_unit %}<p>在职党员双报到单位：{{ r.employer_unit }}
{%- if r.unit_hours %}（每年要求服务 {{ r.unit_hours }} 小时）{% endif %}</p>{% endif %}
<table>
<thead><tr><th>工单编号</th><th>服务类别</th><th>日期</th><th>时长（小时）</th><th>积分</th></tr></thead>
<tbody>
{% for o in r.orders %}<tr><td>{{ o.number }}</td><td>{{ o.category }}</td><td>{{ o.date }}</td>
<td class="n">{{ "%.1f" | format(o.hours) }}</td><td class="n">{{ o.points }}</td></tr>
{% else %}<tr><td colspan="5">此期间没有服务记录</td></tr>
{% endfor %}</tbody>
<tfoot><tr><th colspan="3">合计</th><td class="n">{{ "%.1f" | format(r.total_hours) }}</td>
<td class="n">{{ r.total_points }}</td></tr></tfoot>
</table>
<p class="issued">开具日期：{{ r.issued }}</p>
</body>
</html>
"""
)


def service_record_html(record: ServiceRecordOut) -> str:
    return _PAGE.render(r=record)
