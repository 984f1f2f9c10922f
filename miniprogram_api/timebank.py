"""The time bank: merchants, the rewards catalogue, redemptions and their verification at the
till (thin views over app.timebank)."""

from __future__ import annotations

from flask import Blueprint

from app.identity.actor import Actor
from app.timebank import merchants, redemptions, rewards, verification
from app.timebank.shapes import (
    MerchantEnvelope,
    MerchantPage,
    RedemptionEnvelope,
    RedemptionPage,
    RewardEnvelope,
    RewardPage,
)
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import Limit, endpoint, idempotency_header, idempotency_key
from miniprogram_api.schemas import CommunityPageQuery, EmptyIn, MerchantIn, PageQuery, RedemptionIn, RewardIn

bp = Blueprint("timebank", __name__, url_prefix="/api/v1")

_IDEMPOTENCY_KEY = idempotency_header(
    "每次点击「兑换」生成一个（如 UUID），超时重试时原样再发：同一用户 24 小时内同一个键只兑换一次、只扣一次积分，"
    "返回第一次的兑换码；同一个键配不同的请求体答复 409 idempotency_key_reused。"
)


@endpoint(
    bp,
    "/merchants",
    method="GET",
    summary="本社区的商户（商业合伙人）",
    description="本社区书记、网格员，所属街道管理员。按编号排序分页。",
    example=examples.MERCHANTS,
    query=CommunityPageQuery,
    response=MerchantPage,
    errors=(400, 401, 403, 404),
)
def list_merchants(actor: Actor, query: CommunityPageQuery) -> MerchantPage:
    return merchants.list_merchants(runtime(), actor, query.community, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/merchants",
    method="POST",
    summary="登记商户（社区书记）",
    description=(
        "同一社区商户名称重复答复 409 `merchant_name_taken`。商户人员用带 `merchant_id` 的 `merchant` 邀请码加入。"
    ),
    example=examples.MERCHANT_ENVELOPE,
    body=MerchantIn,
    response=MerchantEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409),
)
def create_merchant(actor: Actor, body: MerchantIn) -> MerchantEnvelope:
    merchant = merchants.register_merchant(runtime(), actor, community=body.community, name=body.name)
    return MerchantEnvelope(merchant=merchant)


@endpoint(
    bp,
    "/rewards",
    method="GET",
    summary="积分兑换目录",
    description="本社区志愿者与工作人员。只列出在架的项目；`stock` 为 null 表示不限量。",
    example=examples.REWARDS,
    query=CommunityPageQuery,
    response=RewardPage,
    errors=(400, 401, 403, 404),
)
def list_rewards(actor: Actor, query: CommunityPageQuery) -> RewardPage:
    return rewards.list_rewards(runtime(), actor, query.community, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/rewards",
    method="POST",
    summary="新增兑换项目（社区书记）",
    description="`merchant_id` 须是本社区的商户（否则 400 指明该字段）；`stock` 不填为不限量。",
    example=examples.REWARD_ENVELOPE,
    body=RewardIn,
    response=RewardEnvelope,
    status=201,
    errors=(400, 401, 403, 404),
)
def create_reward(actor: Actor, body: RewardIn) -> RewardEnvelope:
    reward = rewards.register_reward(
        runtime(),
        actor,
        community=body.community,
        merchant_id=body.merchant_id,
        name=body.name,
        points=body.points,
        stock=body.stock,
    )
    return RewardEnvelope(reward=reward)


@endpoint(
    bp,
    "/rewards/<id:reward_id>/withdraw",
    method="POST",
    summary="下架兑换项目（社区书记）",
    description="不再出现在目录中，也不能再兑换；已发出的兑换码仍然有效。重复下架答复同样的结果。",
    example=examples.WITHDRAWN_REWARD,
    body=EmptyIn,
    response=RewardEnvelope,
    errors=(400, 401, 403, 404),
)
def withdraw_reward(actor: Actor, reward_id: int, body: EmptyIn) -> RewardEnvelope:
    del body
    return RewardEnvelope(reward=rewards.withdraw_reward(runtime(), actor, reward_id))


@endpoint(
    bp,
    "/redemptions",
    method="POST",
    summary="用积分兑换（志愿者）",
    description=(
        "扣除积分并发出一次性兑换码，到商户出示核销；逾期未用自动作废并退回积分。"
        "积分不足答复 409 `insufficient_points`（`details` 含余额与所需积分），已兑完 409 `out_of_stock`，"
        "已下架 409 `reward_withdrawn`。支持 Idempotency-Key 请求头。"
    ),
    example=examples.REDEMPTION_ENVELOPE,
    body=RedemptionIn,
    response=RedemptionEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409),
    headers=(_IDEMPOTENCY_KEY,),
)
def create_redemption(actor: Actor, body: RedemptionIn) -> RedemptionEnvelope:
    redemption = redemptions.redeem_reward(runtime(), actor, body.reward_id, idempotency_key=idempotency_key())
    return RedemptionEnvelope(redemption=redemption)


@endpoint(
    bp,
    "/redemptions",
    method="GET",
    summary="我的兑换记录",
    description="最新的在前。",
    example=examples.REDEMPTIONS,
    query=PageQuery,
    response=RedemptionPage,
    errors=(400, 401),
)
def list_redemptions(actor: Actor, query: PageQuery) -> RedemptionPage:
    return redemptions.list_my_redemptions(runtime(), actor, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/redemptions/<id:redemption_id>/cancel",
    method="POST",
    summary="取消未使用的兑换码（退回积分）",
    description="只能取消自己的、尚未使用的兑换码；已使用 409 `already_redeemed`，已过期 409 `redemption_expired`。",
    example=examples.CANCELLED_ENVELOPE,
    body=EmptyIn,
    response=RedemptionEnvelope,
    errors=(400, 401, 404, 409),
)
def cancel_redemption(actor: Actor, redemption_id: int, body: EmptyIn) -> RedemptionEnvelope:
    del body
    return RedemptionEnvelope(redemption=redemptions.cancel_redemption(runtime(), actor, redemption_id))


@endpoint(
    bp,
    "/redemptions/<code>/verify",
    method="POST",
    summary="商户核销兑换码",
    description=(
        "该奖品所属商户的工作人员。大小写、空格和短横线不限。再次核销答复 409 `already_redeemed`，"
        "过期 409 `redemption_expired`；不存在或属于其他商户的兑换码一律 404。"
    ),
    example=examples.REDEEMED_ENVELOPE,
    body=EmptyIn,
    response=RedemptionEnvelope,
    errors=(400, 401, 403, 404, 409),
    limits=(Limit("verify_redemption_per_user", "user"),),
)
def verify_redemption(actor: Actor, code: str, body: EmptyIn) -> RedemptionEnvelope:
    del body
    return RedemptionEnvelope(redemption=verification.verify_redemption(runtime(), actor, code))
