"""Text rules shared by the WeChat and WeCom channels: numbered options, length limits, fixed copy."""

from __future__ import annotations

from dataclasses import dataclass

from bot.rasa.client import BotMessage

CHOOSE_PROMPT = "请回复数字选择："


def render_messages(messages: list[BotMessage]) -> str:
    """Join the bot's messages into one text; buttons become a numbered list ("1" picks the first)."""
    parts: list[str] = []
    for m in messages:
        if m.text:
            parts.append(m.text)
        if m.buttons:
            options = "\n".join(f"{i}. {b['title']}" for i, b in enumerate(m.buttons, 1))
            parts.append(f"{CHOOSE_PROMPT}\n{options}")
    return "\n\n".join(parts)


def split_text(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into parts of at most ``max_bytes`` UTF-8 bytes, at paragraph or line breaks when possible.

    WeChat refuses a longer customer-service text (45002) and WeCom truncates it, so a long
    answer becomes several messages in reading order; a single over-long line is cut between
    characters, never inside one.
    """
    text = text.strip()
    if not text:
        return []
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text):
        candidate = f"{current}{piece}" if current else piece.lstrip("\n")
        if len(candidate.encode("utf-8")) <= max_bytes:
            current = candidate
            continue
        if current.strip():
            parts.append(current.strip())
        current = ""
        piece = piece.strip("\n")
        while len(piece.encode("utf-8")) > max_bytes:
            head = _cut(piece, max_bytes)
            parts.append(head)
            piece = piece[len(head) :]
        current = piece
    if current.strip():
        parts.append(current.strip())
    return parts


def _pieces(text: str) -> list[str]:
    """Lines with their leading newline kept, so joining them back restores the text."""
    lines = text.split("\n")
    return [lines[0]] + ["\n" + line for line in lines[1:]]


def _cut(s: str, max_bytes: int) -> str:
    out, size = [], 0
    for ch in s:
        n = len(ch.encode("utf-8"))
        if size + n > max_bytes:
            break
        out.append(ch)
        size += n
    return "".join(out)


@dataclass(frozen=True)
class Topic:
    key: str  # menu EventKey: posbot:<key>
    title: str  # what the merchant reads
    payload: str  # what Rasa receives


# The main topics offered as numbered choices in the welcome, and the built-in menu keys.
TOPICS: tuple[Topic, ...] = (
    Topic("settlement", "结算到账", "结算款没到账怎么办"),
    Topic("fees", "手续费", "手续费怎么算"),
    Topic("activation", "开通激活", "刷卡机怎么激活"),
    Topic("fault", "故障报修", "刷卡机坏了要报修"),
    Topic("ticket", "查询工单", "/check_ticket"),
    Topic("human", "转人工客服", "/request_human"),
)
MENU_PREFIX = "posbot:"

WELCOME_PAYLOAD = "/greet"
WELCOME_DISPLAY = "(关注公众号)"
TOPICS_TEXT = "常见问题可以直接回复数字："

IMAGE_TEXT = "收到您的图片啦～我暂时看不懂图片，请用文字说一下遇到的问题，比如“打印机不出纸”“钱没到账”。"
VOICE_TEXT = "收到您的语音～我暂时没听清，麻烦用文字描述一下问题，比如“刷卡机怎么激活”。"
VIDEO_TEXT = "收到您的视频～我暂时看不了视频，请用文字描述一下问题，我马上帮您查。"
LINK_TEXT = "收到您分享的链接～请用文字告诉我想咨询什么，我来帮您解答。"
FILE_TEXT = "收到您的文件～我暂时打不开文件，请用文字描述一下问题。"
UNKNOWN_MENU_TEXT = "这个菜单暂时没有内容，您可以直接发文字问我，比如“结算款什么时候到账”。"


def too_long_text(limit: int) -> str:
    return f"消息有点长，我一次最多能看 {limit} 个字。请分几条发，或者挑最要紧的问题先问我～"


def location_text(label: str) -> str:
    where = f"（{label}）" if label else ""
    return (
        f"收到您的位置{where}，已记下。\n"
        "如需上门维修，请再用文字说一下：\n1. 刷卡机遇到的问题\n2. 商户号或联系电话\n我来帮您登记报修。"
    )
