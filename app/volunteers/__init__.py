"""The volunteer registry: skills and volunteer teams (志愿服务队)."""
