"""Run Alembic from code (``linli db upgrade``, ``linli run``, the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.core.config import PROJECT_ROOT, Settings


def alembic_config(database_url: str) -> Config:
    """The project's Alembic configuration pointed at ``database_url``."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser interpolation would choke on a "%" in a password.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    # In-process callers have set up logging already; alembic.ini's would add a second handler.
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the configured database to ``revision``; creates the SQLite directory if needed."""
    if settings.database_url.startswith("sqlite"):
        settings.var_path.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), revision)
