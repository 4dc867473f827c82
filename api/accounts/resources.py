"""HTTP resources for accounts."""
from flask_smorest import Blueprint

blp = Blueprint("accounts", __name__, url_prefix="/accounts", description="accounts")
