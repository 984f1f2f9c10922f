"""The question set of Linli's monthly property survey, as data.

This is our own set, modelled on the areas residents usually judge a property company by; it is
not the official wording of any "4+5" evaluation. Each question is scored 1 (很不满意) to 5 (很满意);
a comment of up to ``COMMENT_MAX`` characters is optional. Changing the set changes what a
response must contain (miniprogram_api/schemas.py ``SurveyScores`` lists the same codes; a test
keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Question:
    #: Stable code: the answer rows' ``question`` and the key in the API.
    code: str
    label: str


QUESTIONS: Final = (
    Question("cleaning", "保洁卫生"),
    Question("greening", "绿化养护"),
    Question("security", "秩序安保"),
    Question("repairs", "维修响应"),
    Question("attitude", "服务态度"),
)
CODES: Final = tuple(q.code for q in QUESTIONS)
SCORE_MIN: Final = 1
SCORE_MAX: Final = 5
COMMENT_MAX: Final = 200
