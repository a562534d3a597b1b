"""Small helpers for test assertions (importable as tests.support)."""


def texts(body: dict) -> str:
    """All bot texts of one chat reply, joined: what the merchant reads."""
    return "\n".join(m.get("text", "") for m in body.get("messages", []))


def buttons(body: dict) -> list[dict]:
    return [b for m in body.get("messages", []) for b in m.get("buttons", [])]
