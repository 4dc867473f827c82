"""HTTP resources for units."""
from flask_smorest import Blueprint

blp = Blueprint("units", __name__, url_prefix="/units", description="units")
