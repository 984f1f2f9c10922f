"""The one gateway to WeChat (wechatpy plus what it lacks) and the local WeChat simulator."""
