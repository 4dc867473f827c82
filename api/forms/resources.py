"""HTTP resources for forms."""
from flask_smorest import Blueprint

blp = Blueprint("forms", __name__, url_prefix="/forms", description="Inspection forms 检查表")
