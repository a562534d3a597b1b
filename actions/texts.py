"""Composed bot wording of the custom actions, written once.

Fixed replies are responses in ``domain.yml``; what depends on data (a ticket, an
answer, the service hours, the field being asked) is composed here, so the actions stay
thin and every sentence has one home. Button labels live next to the sentence that
names them, so the two always agree. The wording of a ticket lookup ("查工单") is in
actions/ticket_status_texts.py, the field service's in actions/field_texts.py.
"""

from __future__ import annotations

import re
from typing import Any

from bot.masking import mask_phone
from bot.vocabulary import slot_labels

# --- greetings and knowledge-base answers ---------------------------------------------------

_LEADING_GREETING = re.compile(r"^\s*(?:您好|你好)[，,！!。.～~\s]*")


def greeted(tracker: Any) -> bool:
    """True when the bot already said 您好 in this session."""
    for e in reversed(tracker.events):
        if e.get("event") == "session_started":
            return False
        if e.get("event") == "bot" and "您好" in (e.get("text") or ""):
            return True
    return False


def without_repeated_greeting(tracker: Any, text: str) -> str:
    """Drop a leading "您好，" once the bot has greeted: a conversation greets once, not every answer."""
    if greeted(tracker):
        stripped = _LEADING_GREETING.sub("", text, count=1)
        return stripped or text
    return text


# Knowledge-base answers are written for any channel and sometimes say "请联系客服";
# inside this chat the merchant reaches a person by saying 转人工, so that is what we say.
_CONTACT_REWRITES = (
    (re.compile(r"请联系客服(?=[。；，,;]|$)"), "可以直接说“转人工”找客服"),
    (re.compile(r"请(?:及时|尽快|立即)?联系客服(?=说明|反映|反馈)"), "可以直接说“转人工”，向客服"),
    (re.compile(r"请(?:及时|尽快|立即)?联系客服"), "可以直接说“转人工”，请客服"),
    (re.compile(r"(或|或者)联系客服"), r"\1说“转人工”请客服"),
    (re.compile(r"联系客服"), "找人工客服"),
)


def in_chat(text: str) -> str:
    """An answer as said inside the support chat: "请联系客服核实" becomes an action the merchant can take here."""
    for pattern, replacement in _CONTACT_REWRITES:
        text = pattern.sub(replacement, text)
    return text


def answer_text(tracker: Any, answer: str) -> str:
    return in_chat(without_repeated_greeting(tracker, answer.strip()))


# --- "did it help?" after a troubleshooting answer --------------------------------------------

_STEP_LINE = re.compile(r"^\s*\d+\s*[.、．)）]", re.MULTILINE)
RESOLVED_TITLES = ("解决了", "没解决")
TRIED_TITLES = ("解决了", "试了还是不行")


def step_count(answer: str) -> int:
    return len(_STEP_LINE.findall(answer or ""))


def resolved_question(answer: str) -> tuple[str, tuple[str, str]]:
    """The follow-up question and its two button titles (solved, not solved).

    Right after several steps the merchant has not tried yet, "问题解决了吗？" is the wrong
    question: they are asked to try first and tell us how it went.
    """
    n = step_count(answer)
    if n >= 2:
        return f"请先按上面的{n}个步骤试一试，试完点下面告诉我结果👇", TRIED_TITLES
    return "这样能解决您的问题吗？", RESOLVED_TITLES


def topic_of(question: str | None) -> str:
    """A knowledge-base question as a topic: "刷卡提示读卡失败怎么办？" -> "刷卡提示读卡失败"."""
    t = (question or "").strip().rstrip("？?。. ")
    t = re.sub(r"(怎么办|怎么回事|怎么处理|怎么解决|是什么原因|该怎么办)$", "", t).rstrip("，, ")
    return t or (question or "").strip()


def earlier_button(topic: str | None) -> str:
    """Lead of every reply to a button of an earlier question."""
    return f"您点的是之前关于“{topic}”的按钮～" if topic else "您点的是之前一个问题的按钮～"


# What follows the lead (earlier_button) for each kind of late click.
LATE_SOLVED = "那个问题解决了就好😊 还有其他问题随时问我。"
LATE_DECLINED = "好的，那个就先不处理了。还有其他问题随时问我。"
LATE_OTHER = "那个问题已经过去了，现在有什么可以帮您的，直接告诉我就行。"
IN_FORM_LATE = "我们正在登记工单，先把这张填完，那个问题可以写进问题描述里。"
LATE_RECORDED_IN_FORM = "收到您的反馈，谢谢～我们接着登记工单。"


def earlier_form_step() -> str:
    return "您点的是前面一步的按钮～我们接着填这张工单："


def form_already_submitted(number: str) -> str:
    return f"那次登记已经提交过了，工单号 {number}。想看进度，随时发“查工单 {number}”。"


# --- the ticket form -----------------------------------------------------------------------

FIELD_LABELS = slot_labels(
    "merchant_id", "terminal", "terminal_id", "device_serial", "phone", "txn_date", "amount", "description"
)
ASK_TEXTS = {
    "merchant_id": "请提供您的15位商户号（印在签购单最上方）：",
    "terminal_id": "请提供8位终端号（签购单上商户编号下面一行）；手边没有签购单的话，发机身背面标签上的SN序列号也可以。",
    "device_serial": "请发一下机身背面标签上的SN序列号：",
    "phone": "请留一个能联系到您的手机号（11位）：",
    "txn_date": "请问是哪天的交易？可以说“昨天”“前天”或“11月20日”。",
    "amount": "这笔交易的金额是多少元？",
    "description": "请简单描述一下遇到的问题，比如“打印机不出纸”“昨天的款没到账”：",
}
# Where to find each value: shown after the second wrong answer for the same field.
WHERE_TO_FIND = {
    "merchant_id": "商户号印在签购单（刷卡小票）最上方的“商户编号”一栏；商户App“我的/商户信息”里也能看到。",
    "terminal_id": "终端号印在签购单最上方、商户编号下面的“终端编号”一栏；没有签购单的话，"
    "也可以发机身背面标签上的SN序列号。",
    "device_serial": "序列号在机身背面的标签上，以字母开头，比如 N910SN00123456。",
    "phone": "客服会通过这个号码联系您，请留一个能接通的11位手机号（1开头）。",
    "txn_date": "可以说“今天”“昨天”“前天”，或者“11月20日”；签购单上也印着交易时间。",
    "amount": "请只发金额数字，比如 1280 或 1280.50（单位：元），签购单上“金额”一栏就是。",
    "description": "简单说一下遇到的问题就行，比如“打印机不出纸”“昨天的款没到账”。",
}
# What each category's merchant can expect after submitting.
NEXT_STEPS = {
    "repair": "技术客服会先电话帮您远程排查，需要上门或换机会和您约时间",
    "settlement": "结算专员会核实这笔交易的清算和出款情况",
    "activation": "开通专员会核对资料并协助您完成激活",
    "other": "客服会尽快跟进处理",
}
CONFIRM_TITLES = ("确认提交", "修改", "取消")
CONTINUE_TITLES = ("继续登记", "先不登记了")


SERIAL_PROBLEM = "没看懂这个序列号，它一般以字母开头，比如 N910SN00123456"
# The lines of the summary the merchant confirms.
SUMMARY_LABELS = {
    "merchant_id": "商户号",
    "terminal_id": "终端号",
    "device_serial": "设备序列号",
    "phone": "联系手机",
    "txn_date": "交易日期",
    "amount": "交易金额",
    "description": "问题描述",
}


def yuan(amount: str | None) -> str:
    return f"{amount} 元"


def form_intro(category_label: str) -> str:
    return (
        f"好的，我来帮您登记{category_label}工单，需要几项信息，之前告诉过我的就不用再说了。中途说“取消”可以随时退出。"
    )


def retry(problem: str) -> str:
    return f"{problem}，请再发一次～"


def where_to_find(problem: str, field: str) -> str:
    return f"{problem}。\n{WHERE_TO_FIND[field]}\n找到了直接发给我就行；暂时找不到的话，也可以先不登记。"


def looks_like_other_field(other: str, asked: str) -> str:
    """The merchant sent a valid value of another field: say so, and ask again for this one."""
    return f"这个看起来是{FIELD_LABELS[other]}～现在需要的是{FIELD_LABELS[asked]}。{ASK_TEXTS[asked]}"


def continue_prompt() -> str:
    return f"还要继续登记工单吗？可以点“{CONTINUE_TITLES[0]}”或“{CONTINUE_TITLES[1]}”。"


def continue_reask() -> str:
    return f"请点“{CONTINUE_TITLES[0]}”或“{CONTINUE_TITLES[1]}”～也可以直接把信息发给我。"


def confirm_reask() -> str:
    return f"请点“{CONFIRM_TITLES[0]}”；要改哪一项可以点“{CONFIRM_TITLES[1]}”，不登记了就点“{CONFIRM_TITLES[2]}”。"


# The ticket form's phone waited too long in the vault (settings.pii_vault_ttl_s) before 确认提交.
PHONE_FORGOTTEN = (
    "为了保护您的信息，手机号只临时保存一段时间，现在已经过期了。请再发一次您的11位手机号，我马上重新给您核对～"
)


def ask_new_value(slot: str, old: str | None) -> str:
    """Re-asking a field the merchant chose to change: name the value being replaced."""
    shown = mask_phone(old) if slot == "phone" else old
    head = f"好的，请发新的{FIELD_LABELS[slot]}" + (f"（现在是 {shown}）" if shown else "")
    return f"{head}；不改了就说“不改了”。"


def kept_value(slot: str) -> str:
    return f"好的，{FIELD_LABELS[slot]}保持不变。"


def edit_failed(problem: str, slot: str) -> str:
    return f"{problem}。{FIELD_LABELS[slot]}先保持原来的，您可以稍后再改。"


def summary(category_label: str, lines: list[tuple[str, str]]) -> str:
    body = "\n".join(f"· {label}：{value}" for label, value in lines)
    return (
        f"请核对工单信息（{category_label}）：\n{body}\n"
        f"没问题请点“{CONFIRM_TITLES[0]}”；需要改就点“{CONFIRM_TITLES[1]}”。"
    )


def ticket_submitted(number: str, category: str, phone: str | None) -> str:
    return (
        f"工单已提交 ✅\n工单号：{number}\n接下来：\n"
        f"1. {NEXT_STEPS[category]}，会通过 {mask_phone(phone)} 联系您；\n"
        f"2. 想看进度，随时发“查工单 {number}”；\n"
        "3. 处理完成后，我会在这里通知您。"
    )


# --- 转人工 ----------------------------------------------------------------------------------

MISSING_LABELS = slot_labels("merchant_id", "phone")


def handoff_reply(
    promise: str, *, number: str | None, attached: bool, urgent: bool, open_now: bool, missing: list[str]
) -> str:
    """What the merchant is told when a person takes over.

    ``promise`` is bot.conversations.hours.reply_promise (the one wording of when a person
    answers); ``attached``: the handoff joined the conversation's open ticket.
    """
    sorry = "非常抱歉给您带来不好的体验😔 " if urgent else ""
    if number and attached:
        head = f"已为您转接人工客服，您的工单 {number} 由客服接着处理。"
    elif number:
        head = f"已为您转接人工客服（工单号 {number}）。"
    else:
        head = "已为您转接人工客服。"
    text = f"{sorry}{head}{promise}。"
    if missing:
        text += f"\n方便的话先发一下您的{'和'.join(MISSING_LABELS[m] for m in missing)}，客服查起来更快。"
    elif not open_now:
        text += "\n您可以先留言补充情况，客服上线后会一并查看。"
    return text


# --- fault types, as ticket descriptions name them ------------------------------------------

# fault_type entity values (data/nlu/entities.yml synonyms) as ticket descriptions show them.
FAULT_TYPE_LABELS = {
    "printer": "打印机",
    "card_reader": "读卡",
    "network": "网络通讯",
    "power": "电源开机",
    "screen": "屏幕",
    "keyboard": "按键",
    "software": "软件升级",
}


def fault_type_label(value: str) -> str:
    """Chinese name of a fault_type value; free text (no synonym matched) stays as the merchant wrote it."""
    return FAULT_TYPE_LABELS.get(value, value)


# --- fixed replies of the actions (no data in them; the rest of domain.yml's kind) ----------

NOT_UNDERSTOOD = "抱歉，我没太明白您的意思😅 可以换个说法，直接说说遇到的问题；也可以说“转人工”。"
CHOSEN_ENTRY_GONE = "抱歉，没找到您选的这条内容，可以直接说说您遇到的问题吗？"
# Said under an answer or a code explanation given while the ticket form is open.
IN_FORM_SUFFIX = "（我们接着登记工单～）"


def problem_only(problem: str) -> str:
    return f"{problem}。"


def facts_noted(noted: str) -> str:
    """The merchant sent only ids (``noted``: "商户号 8983****1234、手机号 138****5678")."""
    return f"收到，已记下您的{noted}。请问遇到了什么问题呢？"


# --- offers of a person or a ticket ----------------------------------------------------------

HANDOFF_TITLES = ("转人工", "不用了")
TICKET_OFFER_TITLES = ("登记工单", "不用了")
HANDOFF_DECLINED = "好的～还有其他问题随时问我。"
TICKET_DECLINED = "好的，那先不登记了。之后需要帮忙随时找我，也可以说“转人工”。"


def handoff_offer(lead: str) -> str:
    return f"{lead}要为您转人工客服吗？"


def ticket_offer(lead: str, category_label: str) -> str:
    return f"{lead}我可以帮您登记一张{category_label}工单，由专人跟进处理。要登记吗？"


# --- feedback and ratings --------------------------------------------------------------------

RATING_REASK = "请点一下1到5分，5分最满意～"
RATING_OUT_OF_RANGE = "评分是1到5分哦，5分最满意～"
THANKS_UP = "收到，谢谢您的肯定😊 还有其他问题随时问我～"
SORRY_DOWN = "抱歉没能让您满意😥 我们会继续改进。需要的话可以说“转人工”。"
ASK_DOWN_REASON = "抱歉没帮上忙😥 能告诉我哪里不好吗？也可以直接打字说。"
THANKS_FEEDBACK = "谢谢您的反馈，我们会继续努力～"
THANKS_REASON = "谢谢您的反馈，我们会改进这条答案🙏 您可以换个说法再问问，或者说“转人工”。"
THANKS_LOW_RATING = "感谢您的评分，很抱歉这次没让您满意😔 我们会认真改进。需要的话随时说“转人工”。"
THANKS_RATING = "感谢您的评分！祝您生意兴隆～"


def ask_rating(lead: str) -> str:
    return f"{lead}方便给这次服务打个分吗？（5分最满意）"


# Leads of the rating question and of the ticket-or-person offer.
LEAD_SOLVED = "太好了，问题解决了就好😊 "
LEAD_UNSOLVED = "很抱歉没能帮您解决😥 "
LEAD_AFTER_REASON = "谢谢反馈。"
LEAD_GOODBYE = "好的，感谢使用！走之前"
LEAD_THANKS = "不客气，很高兴能帮到您😊 "
