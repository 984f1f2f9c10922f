"""What services hand back: pydantic models that the API serialises as they are.

Times are answered in Asia/Shanghai (+08:00), as the API contract fixes (docs/api.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from app.core.clock import to_shanghai

#: A datetime answered with a +08:00 offset. The serializer returns a plain string, so the
#: document would say only "string": the schema says what that string is, for client generators.
ShanghaiTime = Annotated[
    datetime,
    PlainSerializer(lambda moment: to_shanghai(moment).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)
