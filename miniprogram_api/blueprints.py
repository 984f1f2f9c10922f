"""Every blueprint and handler of the API, attached in one place."""

from __future__ import annotations

from flask import Flask

from miniprogram_api import (
    areas,
    audit,
    bot,
    care,
    directory,
    exports,
    identity,
    imports,
    notifications,
    opinions,
    ops,
    orders,
    points,
    reports,
    service_record,
    stats,
    surveys,
    timebank,
    uploads,
)
from miniprogram_api.errors import register_error_handlers
from miniprogram_api.registry import IdConverter


def register(app: Flask) -> None:
    """Attach every blueprint and handler to ``app``."""
    # Before any blueprint: a rule looks its converters up when it is added to the map.
    app.url_map.converters["id"] = IdConverter
    register_error_handlers(app)
    ops.install_metrics(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(directory.bp)
    app.register_blueprint(timebank.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(areas.bp)
    app.register_blueprint(points.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(service_record.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(bot.bp)
    app.register_blueprint(care.bp)
    app.register_blueprint(opinions.bp)
    app.register_blueprint(surveys.bp)
