"""The one gateway to WeChat: the Protocol Linli calls, its wechatpy implementation, its errors."""
