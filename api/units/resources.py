"""HTTP resources for the unit tree: regions, organisations, offices and sites."""
from __future__ import annotations

from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.pagination import page_limit
from api.problems import documents_problems
from domain.access import Permission
from domain.units import queries, services

from .schemas import (UnitCreateSchema, UnitMoveSchema, UnitPageSchema, UnitQueryArgsSchema, UnitSchema,
                      UnitUpdateSchema)

blp = Blueprint("units", __name__, url_prefix="/units", description="Units 单位、督查室与服务场所")

RULES_422 = ("unit.code-format", "unit.parent-rule", "unit.field-rule", "geo.coordinate-out-of-range",
             "request.invalid")


_problem = partial(documents_problems, blp)


@blp.route("")
class Units(MethodView):
    @blp.doc(operationId="listUnits")
    @guarded(blp, Permission.UNIT_READ)
    @blp.arguments(UnitQueryArgsSchema, location="query")
    @blp.response(200, UnitPageSchema)
    @_problem(422, "pagination.invalid-cursor", "request.invalid")
    def get(self, args, actor):
        """List units

        Admins see every unit; supervisors and leaders their office's jurisdiction; liaisons and
        inspectors their own unit.
        """
        near = None
        if "near_lon" in args:
            near = queries.Near(args["near_lon"], args["near_lat"], args["within_m"])
        result = queries.list_units(actor, kind=args.get("kind"), level=args.get("level"),
                                    parent=args.get("parent_id"), ancestor=args.get("ancestor_id"),
                                    active=args.get("active"), code=args.get("code"), q=args.get("q"), near=near,
                                    cursor=args.get("cursor"), limit=page_limit(args.get("limit")))
        return {"items": result.items, "next_cursor": result.next_cursor}

    @blp.doc(operationId="createUnit")
    @guarded(blp, Permission.UNIT_MANAGE)
    @blp.arguments(UnitCreateSchema)
    @blp.response(201, UnitSchema)
    @_problem(409, "unit.code-taken")
    @_problem(422, *RULES_422)
    def post(self, data, actor):
        """Create a unit

        A site needs a position and a geofence radius; a position from a Chinese map SDK may be
        sent in GCJ-02 or BD-09 (`crs`) and is stored in WGS-84.
        """
        return services.create_unit(actor, position=data.pop("position"), **data)


@blp.route("/<objectid:unit_id>")
class UnitById(MethodView):
    @blp.doc(operationId="getUnit")
    @guarded(blp, Permission.UNIT_READ)
    @blp.response(200, UnitSchema)
    @_problem(404, "unit.not-found")
    def get(self, unit_id, actor):
        """One unit"""
        return queries.get_unit(actor, unit_id)

    @blp.doc(operationId="updateUnit")
    @guarded(blp, Permission.UNIT_MANAGE)
    @blp.arguments(UnitUpdateSchema)
    @blp.response(200, UnitSchema)
    @_problem(404, "unit.not-found")
    @_problem(422, *RULES_422)
    def patch(self, data, unit_id, actor):
        """Update a unit

        Only the fields sent change. Set `active` to false to retire a unit that has history.
        """
        return services.update_unit(actor, unit_id, **data)

    @blp.doc(operationId="deleteUnit")
    @guarded(blp, Permission.UNIT_MANAGE)
    @blp.response(204)
    @_problem(404, "unit.not-found")
    @_problem(409, "unit.has-children", "unit.has-history", "resource.concurrent-modification")
    def delete(self, unit_id, actor):
        """Delete a unit entered by mistake

        Refused when the unit has children or any history; deactivate it instead.
        """
        services.delete_unit(actor, unit_id)


@blp.route("/<objectid:unit_id>/move")
class UnitMove(MethodView):
    @blp.doc(operationId="moveUnit")
    @guarded(blp, Permission.UNIT_MANAGE)
    @blp.arguments(UnitMoveSchema)
    @blp.response(200, UnitSchema)
    @_problem(404, "unit.not-found")
    @_problem(422, "unit.move-into-own-subtree", "unit.parent-rule", "unit.field-rule", "request.invalid")
    def post(self, data, unit_id, actor):
        """Move a unit with its subtree

        Every unit below moves with it; the move is kept in the unit's history.
        """
        return services.move_unit(actor, unit_id, data["parent_id"])
