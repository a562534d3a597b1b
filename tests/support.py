"""Small helpers for test assertions (importable as tests.support)."""


def texts(body: dict) -> str:
    """All bot texts of one chat reply, joined: what the merchant reads."""
    return "\n".join(m.get("text", "") for m in body.get("messages", []))


def buttons(body: dict) -> list[dict]:
    return [b for m in body.get("messages", []) for b in m.get("buttons", [])]


class ChatClient:
    """Merchants' browsers over HTTP: one session token per sender id, kept as the widget keeps it.

    ``post`` starts the session on first use (``POST /api/chat/session`` with that sender id)
    and sends ``Authorization: Bearer`` with every request afterwards.
    """

    def __init__(self, base_url: str, timeout: float = 60):
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.tokens: dict[str, str] = {}

    def token(self, sender_id: str) -> str:
        if sender_id not in self.tokens:
            r = self.http.post("/api/chat/session", json={"sender_id": sender_id})
            assert r.status_code == 200, r.text
            self.tokens[sender_id] = r.json()["token"]
        return self.tokens[sender_id]

    def auth(self, sender_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sender_id)}"}

    def post(self, sender_id: str, text: str, **extra):
        return self.http.post(
            "/api/chat", json={"sender_id": sender_id, "text": text, **extra}, headers=self.auth(sender_id)
        )

    def updates(self, sender_id: str):
        return self.http.get("/api/chat/updates", params={"sender_id": sender_id}, headers=self.auth(sender_id))

    def ack(self, sender_id: str, ids: list[str]):
        return self.http.post(
            "/api/chat/updates/ack", json={"sender_id": sender_id, "ids": ids}, headers=self.auth(sender_id)
        )

    def close(self) -> None:
        self.http.close()


class Merchant:
    """One merchant of a live stack: ``say`` a text, ``click`` an offered button by its payload."""

    def __init__(self, chat: ChatClient, sender_id: str):
        self.chat, self.sender_id = chat, sender_id
        self.offered: list[dict] = []

    def say(self, text: str) -> str:
        r = self.chat.post(self.sender_id, text)
        assert r.status_code == 200, r.text
        self.offered = buttons(r.json())
        return texts(r.json())

    def click(self, payload_start: str) -> str:
        """The offered button whose payload starts so (as the widget sends it)."""
        return self.say(next(b["payload"] for b in self.offered if b["payload"].startswith(payload_start)))

    def open_repair_form_to_the_terminal_id(self) -> None:
        """打印机不出纸 → not solved → open a ticket → merchant id: the form then asks for the terminal id."""
        self.say("打印机不出纸")
        assert "故障报修工单" in self.click("/deny")  # 试了还是不行
        assert "15位商户号" in self.click("/affirm")  # 登记工单
        assert "8位终端号" in self.say("898310048161234")


def operator_key(database_url: str, scopes=("tickets:read",)) -> dict[str, str]:
    """Headers with a fresh API key on that database: /healthz shows its details only to a key."""
    from bot.core.db import Database
    from bot.tickets.apikeys import ApiKeyStore

    db = Database(database_url)
    try:
        return {"X-API-Key": ApiKeyStore(db).create("operator", list(scopes)).token}
    finally:
        db.dispose()


def signed_merchant(merchant_id: str, secret: str, expires: int | None = None) -> dict:
    """The host page's signed merchant identity (docs/widget.md): HMAC-SHA256 over "<id>.<expires>"."""
    import hashlib
    import hmac
    import time

    expires = int(time.time()) + 600 if expires is None else expires
    sig = hmac.new(secret.encode(), f"{merchant_id}.{expires}".encode(), hashlib.sha256).hexdigest()
    return {"id": merchant_id, "expires": expires, "signature": sig}


def rasa_events_table(engine):
    """Rasa's tracker store table (``events``) as its SQLTrackerStore creates it, for tests without Rasa."""
    import sqlalchemy as sa

    md = sa.MetaData()
    events = sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )
    md.create_all(engine)
    return events
