"""HTTP resources for audit."""
from flask_smorest import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/audit-events", description="audit")
