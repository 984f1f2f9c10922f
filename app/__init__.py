"""Linli (邻里): the domains of the community volunteer-service backend.

Nothing here imports Flask: the HTTP API (``miniprogram_api``), the job process (``jobs``), the
``linli`` command (``cli``) and the WeChat simulator (``wechat_sim``) sit outside and call in.
"""
