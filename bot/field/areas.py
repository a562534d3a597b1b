"""The service area of an address: its city and district as the merchant wrote them.

Maintainers are dispatched by district, so an address must name a city, district or
county (市 / 区 / 县 / 旗); without one the bot asks again. No gazetteer: the queue groups
by what merchants write, and staff see the full address beside it.
"""

from __future__ import annotations

import re

ADDRESS_MIN = 6
ADDRESS_MAX = 200
_CITY = re.compile(r"([\u4e00-\u9fff]{2,8}?(?:市|自治州|地区|盟))")
_PROVINCE = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|自治区)")
_MUNICIPAL = ("北京", "上海", "天津", "重庆")


def service_area(address: str) -> str | None:
    """ "杭州市西湖区" from "浙江省杭州市西湖区文三路100号"; None without a district or county."""
    t = re.sub(r"\s+", "", address or "")
    t = _PROVINCE.sub("", t)
    city = None
    m = _CITY.match(t)
    if m:
        city, rest = m.group(1), t[m.end() :]
    else:
        rest = t
        for name in _MUNICIPAL:
            if t.startswith(name):
                city = f"{name}市"
                rest = t[len(name) :].lstrip("市")
                break
    d = re.match(r"([\u4e00-\u9fff]{1,6}?(?:区|县|旗|市))", rest)
    if d and (d.group(1).endswith(("区", "县", "旗")) or city):
        return f"{city or ''}{d.group(1)}"
    return city  # a county-level city ("昆山市玉山镇…") is an area of its own


def check_address(text: str) -> tuple[str | None, str | None, str | None]:
    """(address, area, None) or (None, None, what is wrong)."""
    t = re.sub(r"\s+", " ", (text or "").strip())
    if t.startswith("/") or len(t) < ADDRESS_MIN:
        return None, None, "地址太短了，请发完整的店铺地址，比如“杭州市西湖区文三路100号”"
    if len(t) > ADDRESS_MAX:
        return None, None, f"地址太长了，请控制在{ADDRESS_MAX}字以内"
    area = service_area(t)
    if area is None:
        return None, None, "地址里请带上所在的市和区（县），比如“杭州市西湖区文三路100号”，方便安排附近的服务人员"
    return t, area, None
