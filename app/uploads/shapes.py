"""How answers show a photo. Services know ids only; the delivery layer that serialises an answer
passes ``context={PHOTO_URL: id → url}`` and each photo's ``url`` is made then (the API's path, or
a signed link), so no use case builds an HTTP URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pydantic import FieldSerializationInfo, field_serializer

from app.core.shapes import Shape

#: The serialisation-context key of the ``photo id → url`` function.
PHOTO_URL: Final = "photo_url"


class PhotoRef(Shape):
    id: int
    #: Filled in when the answer is serialised; empty where no delivery layer gave a URL maker.
    url: str = ""

    @field_serializer("url")
    def _url(self, url: str, info: FieldSerializationInfo) -> str:
        context = info.context if isinstance(info.context, dict) else {}
        make_url: Callable[[int], str] | None = context.get(PHOTO_URL)
        return make_url(self.id) if make_url is not None else url
