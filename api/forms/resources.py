"""HTTP resources for forms: the catalogue, one version's content (cacheable by ETag), the categories."""
from __future__ import annotations

from functools import partial

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.problems import documents_problems
from domain.access import Permission
from domain.forms import services

from .schemas import CategoryCatalogueSchema, FormListSchema, FormVersionSchema

blp = Blueprint("forms", __name__, url_prefix="/forms", description="Inspection forms 检查表")


_problem = partial(documents_problems, blp)


def _conditional(etag: str, body, cache_control: str):
    """200 with the ETag, or an empty 304 when the phone already holds this ETag."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if request.if_none_match.contains_weak(etag.strip('"')):
        return Response(status=304, headers=headers)
    return body, 200, headers


@blp.route("")
class Forms(MethodView):
    @blp.doc(operationId="listForms")
    @guarded(blp, Permission.FORM_READ)
    @blp.response(200, FormListSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(304, description="not modified: the If-None-Match ETag is current")
    @_problem(403, "access.forbidden")
    def get(self, actor):
        """List forms

        The newest version of every form, with all its versions. Send the ETag back in
        If-None-Match to get 304 while nothing was loaded. Liaisons may not read forms.
        """
        catalogue = services.list_forms(actor)
        return _conditional(catalogue.etag, {"items": catalogue.items}, "private, no-cache")


@blp.route("/<form_id>/versions/<int:version>")
class FormVersionById(MethodView):
    @blp.doc(operationId="getFormVersion")
    @guarded(blp, Permission.FORM_READ)
    @blp.response(200, FormVersionSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(304, description="not modified: the If-None-Match ETag is this version's content hash")
    @_problem(403, "access.forbidden")
    @_problem(404, "form.version-not-found")
    def get(self, form_id, version, actor):
        """One form version

        The whole checklist as loaded. A version never changes, so its ETag (the quoted
        SHA-256 content hash) stays valid for good.
        """
        doc = services.get_form_version(actor, form_id, version)
        return _conditional(doc.etag, doc, "private, max-age=86400")


@blp.route("/categories")
class Categories(MethodView):
    @blp.doc(operationId="listProblemCategories")
    @guarded(blp, None)
    @blp.response(200, CategoryCatalogueSchema)
    def get(self, actor):
        """List problem categories

        The problem categories (三难, 三乱, the service systems, window discipline, openness)
        with zh/en labels; any signed-in user.
        """
        return services.list_categories(actor)
