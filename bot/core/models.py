"""Imports every ORM module so Base.metadata knows all tables (Alembic, tests)."""

from bot.analytics import models as _analytics  # noqa: F401
from bot.channels import outbox as _channel_outbox  # noqa: F401
from bot.channels import wechat_dedupe as _wechat_dedupe  # noqa: F401
from bot.conversations import models as _conversations  # noqa: F401
from bot.conversations import vault as _vault  # noqa: F401
from bot.core import shared_state as _shared_state  # noqa: F401
from bot.faq import models as _faq  # noqa: F401
from bot.field import models as _field  # noqa: F401
from bot.staff import models as _staff  # noqa: F401
from bot.tickets import models as _tickets  # noqa: F401
