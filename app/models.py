"""Every domain's tables in one import, for Alembic's ``env.py`` and the tests' clean-up.

Domain code never imports this module: each domain imports the models it needs from the domain
that owns them (an import-linter contract holds that).
"""

from app.areas import models as areas
from app.audit import models as audit
from app.bot import models as bot
from app.care import models as care
from app.community import kept_stats
from app.community.exports import models as exports
from app.community.opinions import models as opinions
from app.core import idempotency, job_runs, ratelimit
from app.core.db import Base
from app.identity import models as identity
from app.notify import models as notify
from app.orders import models as orders
from app.property import models as property_companies
from app.surveys import models as surveys
from app.timebank import ledger
from app.timebank import models as timebank
from app.uploads import models as uploads
from app.volunteers import models as volunteers

#: ``Base`` and the modules whose import registered their tables on ``Base.metadata``.
__all__ = [
    "Base",
    "areas",
    "audit",
    "bot",
    "care",
    "exports",
    "idempotency",
    "identity",
    "job_runs",
    "kept_stats",
    "ledger",
    "notify",
    "opinions",
    "orders",
    "property_companies",
    "ratelimit",
    "surveys",
    "timebank",
    "uploads",
    "volunteers",
]
