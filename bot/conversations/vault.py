"""The phone vault: the one place a phone number typed in the chat is kept in clear, briefly and encrypted.

The chat masks every phone before it is stored or sent to Rasa (``ChatService.handle``),
so Rasa's slots, the transcript and the logs only ever hold ``138****5678``. The ticket
form needs the real number as the ticket's contact field: the chat keeps it here, per
conversation, under its masked form, and the form's actions resolve the masked slot value
back when they check the phone or file the ticket.

Rows (table ``conversation_pii``) hold the masked form in clear (it is what everyone sees
anyway) and the number encrypted with AES-GCM (key: ``settings.pii_vault_key``, else a
random key in ``<data_dir>/pii-key``), bound to its conversation and masked form. A row
expires ``settings.pii_vault_ttl_s`` after the number was last typed; expired rows are
deleted whenever a number is kept. Two numbers of one conversation with the same masked
form (same first three and last four digits): the later one wins.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, Database, UTCDateTime, utcnow
from bot.core.private_files import ensure_token
from bot.masking import MASKED_PHONE_RE, is_phone, mask_phone

log = logging.getLogger(__name__)

KEY_FILE = "pii-key"
KIND_PHONE = "phone"


class ConversationPii(Base):
    __tablename__ = "conversation_pii"
    __table_args__ = (Index("uq_conversation_pii_masked", "conversation_id", "kind", "masked", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    masked: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[str] = mapped_column(String(200))  # base64(nonce || AES-GCM ciphertext)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def vault_key(settings) -> bytes:
    """32 bytes from the configured secret, else from a key generated once into the data dir."""
    secret = settings.pii_vault_key.get_secret_value()
    if not secret:
        secret = ensure_token(Path(settings.data_dir) / KEY_FILE)
    return hashlib.sha256(secret.encode("utf-8")).digest()


class PhoneVault:
    def __init__(self, db: Database, key: bytes, ttl_s: int = 86_400, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self._aead = AESGCM(key)
        self.ttl = timedelta(seconds=ttl_s)
        self.clock = clock

    @classmethod
    def from_settings(cls, db: Database, settings) -> PhoneVault:
        return cls(db, vault_key(settings), settings.pii_vault_ttl_s)

    @staticmethod
    def _bound(conv_id: str, masked: str) -> bytes:
        return f"{conv_id}|{KIND_PHONE}|{masked}".encode()

    def keep(self, conv_id: str, phone: str) -> str:
        """Remember ``phone`` (11 digits) for this conversation; returns its masked form."""
        if not is_phone(phone):
            raise ValueError("not a mobile number")
        masked = mask_phone(phone)
        nonce = os.urandom(12)
        sealed = base64.b64encode(nonce + self._aead.encrypt(nonce, phone.encode(), self._bound(conv_id, masked)))
        now = self.clock()
        for _ in range(2):  # a concurrent keep of the same number: the second try updates its row
            try:
                with self.db.session() as s:
                    s.execute(delete(ConversationPii).where(ConversationPii.expires_at < now))
                    row = s.execute(
                        select(ConversationPii).where(
                            ConversationPii.conversation_id == conv_id,
                            ConversationPii.kind == KIND_PHONE,
                            ConversationPii.masked == masked,
                        )
                    ).scalar_one_or_none()
                    if row is None:
                        row = ConversationPii(conversation_id=conv_id, kind=KIND_PHONE, masked=masked, created_at=now)
                        s.add(row)
                    row.sealed = sealed.decode("ascii")
                    row.expires_at = now + self.ttl
                return masked
            except IntegrityError:
                continue
        return masked

    def resolve(self, conv_id: str, value: str | None) -> str | None:
        """The clear number behind ``value`` (a masked form kept for this conversation, or a clear number)."""
        value = (value or "").strip()
        if is_phone(value):
            return value
        if not MASKED_PHONE_RE.fullmatch(value):
            return None
        with self.db.session() as s:
            row = s.execute(
                select(ConversationPii).where(
                    ConversationPii.conversation_id == conv_id,
                    ConversationPii.kind == KIND_PHONE,
                    ConversationPii.masked == value,
                    ConversationPii.expires_at >= self.clock(),
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            raw = base64.b64decode(row.sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], self._bound(conv_id, value)).decode()
        except InvalidTag:
            log.error("phone vault row of %s does not decrypt (key changed?)", conv_id)
            return None

    def reveal(self, conv_id: str, text: str | None) -> str:
        """``text`` with each masked phone this conversation kept replaced by the number (for parsing only)."""
        text = text or ""
        if not MASKED_PHONE_RE.search(text):
            return text
        return MASKED_PHONE_RE.sub(lambda m: self.resolve(conv_id, m.group(0)) or m.group(0), text)
