"""Login, refresh, logout and password change (filled by the accounts work)."""
from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Authentication 登录与令牌")
