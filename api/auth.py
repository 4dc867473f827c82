"""Bearer token → Actor, and the declaration of what each endpoint requires.

Every endpoint is wrapped by ``guarded`` (with a permission, or ``None`` for any signed-in
user) or marked ``public``; the role-matrix test reads these declarations.
"""
from __future__ import annotations

from functools import wraps

from flask import g, request

from domain.access import ROLE_PERMISSIONS, Actor, Permission
from domain.errors import Forbidden, TokenInvalidError, Unauthenticated


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    return token.strip()


def current_actor() -> Actor:
    actor = g.get("actor")
    if actor is None:
        from domain.accounts.services import actor_from_access_token

        actor = actor_from_access_token(bearer_token())
        g.actor = actor
    return actor


def roles_with(permission: Permission | None) -> list[str]:
    return sorted(str(r) for r, perms in ROLE_PERMISSIONS.items()
                  if str(r) != "system" and (permission is None or permission in perms))


def guarded(blp, permission: Permission | None):
    """Require a valid token (and ``permission``), document it, and hand the view ``actor``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if permission is not None and not actor.can(permission):
                raise Forbidden(permission=str(permission))
            return view(*args, actor=actor, **kwargs)

        wrapper._permission = permission
        wrapper._guarded = True
        roles = ", ".join(roles_with(permission))
        # blp.doc's description replaces the docstring's: keep the docstring's body and add the roles.
        body = (view.__doc__ or "").split("---")[0].strip().partition("\n")[2].strip()
        access = f"Roles: {roles}." + (f" Permission: `{permission}`." if permission else "")
        return blp.doc(security=[{"bearerAuth": []}],
                       description=f"{body}\n\n{access}" if body else access)(wrapper)

    return decorator


def public(view):
    view._guarded = True
    view._public = True
    return view


__all__ = ["guarded", "public", "current_actor", "TokenInvalidError"]
