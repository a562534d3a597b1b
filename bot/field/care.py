"""The care checklist a maintainer leaves behind: what keeps a terminal working, in our words.

Sent to the merchant after a repair or a delivery is done (on request, "保养清单"), and as
the periodic care reminder they may opt in to. Written once, here.
"""

from __future__ import annotations

CHECKLIST_TITLE = "🧰 刷卡机日常保养清单"
CHECKLIST_STEPS: tuple[str, ...] = (
    "勤清洁：用干的软布擦机身、屏幕和接口，打印头和读卡槽里的纸屑灰尘用小刷子清掉，别用湿布或酒精直接擦。",
    "防尘防潮：机器放在干燥通风的地方，远离水池、油烟和暖气，不要长时间放在太阳底下。",
    "正确开关机：关机断电后至少等一分钟再开机，不要频繁开关机；出故障时先断电再处理。",
    "看耗材：经常看看打印纸和色带还剩多少，快用完就换，换的时候顺手清一下打印机里面。",
    "及时更新：机器提示有系统或软件更新时及时更新，才能支持新的支付方式，也更安全。",
    "保护密码：输密码时用密码键盘并用手遮挡，收银密码定期更换，不要告诉别人。",
    "做备份：定期备份或导出交易记录，机器坏了也能查到账。",
)


def checklist() -> str:
    lines = [CHECKLIST_TITLE] + [f"{i}. {step}" for i, step in enumerate(CHECKLIST_STEPS, 1)]
    return "\n".join(lines)
