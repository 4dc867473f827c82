"""HTTP resources for uploads (tus 1.0)."""
from flask_smorest import Blueprint

blp = Blueprint("uploads", __name__, url_prefix="/uploads", description="Resumable uploads 断点续传上传 (tus 1.0)")
