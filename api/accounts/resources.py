"""HTTP resources for accounts: one's own account, the admin's account management, a supervisor's pool."""
from __future__ import annotations

from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import guarded
from api.pagination import page_limit
from api.problems import documents_problems
from domain.access import Permission
from domain.accounts import queries, services

from .schemas import (AccountCreateSchema, AccountPageSchema, AccountQueryArgsSchema, AccountSchema,
                      AccountUpdateSchema, PasswordResetSchema)

blp = Blueprint("accounts", __name__, url_prefix="/accounts", description="Accounts 账号")


_problem = partial(documents_problems, blp)


@blp.route("")
class Accounts(MethodView):
    @blp.doc(operationId="listAccounts")
    @guarded(blp, Permission.INSPECTOR_POOL_READ)
    @blp.arguments(AccountQueryArgsSchema, location="query")
    @blp.response(200, AccountPageSchema)
    def get(self, args, actor):
        """List accounts

        An admin sees every account; a supervisor the inspectors in its office's pool.
        """
        result = queries.list_accounts(actor, role=args.get("role"), home_unit=args.get("home_unit"),
                                       active=args.get("active"), cursor=args.get("cursor"),
                                       limit=page_limit(args.get("limit")))
        return {"items": result.items, "next_cursor": result.next_cursor}

    @blp.doc(operationId="createAccount")
    @guarded(blp, Permission.ACCOUNT_MANAGE)
    @blp.arguments(AccountCreateSchema)
    @blp.response(201, AccountSchema)
    @_problem(409, "account.username-taken")
    @_problem(422, "account.role-rule", "auth.weak-password", "request.invalid")
    def post(self, data, actor):
        """Create an account"""
        return services.create_account(actor, **data)


@blp.route("/me")
class OwnAccount(MethodView):
    @blp.doc(operationId="getOwnAccount")
    @guarded(blp, Permission.ACCOUNT_READ_SELF)
    @blp.response(200, AccountSchema)
    def get(self, actor):
        """Your own account"""
        return queries.own_account(actor)


@blp.route("/<objectid:account_id>")
class AccountById(MethodView):
    @blp.doc(operationId="getAccount")
    @guarded(blp, Permission.ACCOUNT_READ_SELF)
    @blp.response(200, AccountSchema)
    @_problem(404, "account.not-found")
    def get(self, account_id, actor):
        """One account

        Admins read any account, supervisors the inspectors of their pool, everyone their own.
        """
        return queries.get_account(actor, account_id)

    @blp.doc(operationId="updateAccount")
    @guarded(blp, Permission.ACCOUNT_MANAGE)
    @blp.arguments(AccountUpdateSchema)
    @blp.response(200, AccountSchema)
    @_problem(404, "account.not-found")
    @_problem(409, "resource.concurrent-modification")
    @_problem(422, "account.role-rule", "request.invalid")
    def patch(self, data, account_id, actor):
        """Change an account

        Setting `active` to false disables the account: its tokens stop working on the next request.
        """
        return services.update_account(actor, account_id, **data)


@blp.route("/<objectid:account_id>/unlock")
class AccountUnlock(MethodView):
    @blp.doc(operationId="unlockAccount")
    @guarded(blp, Permission.ACCOUNT_MANAGE)
    @blp.response(204)
    @_problem(404, "account.not-found")
    def post(self, account_id, actor):
        """Lift a lock-out after failed logins"""
        services.unlock_account(actor, account_id)


@blp.route("/<objectid:account_id>/password")
class AccountPasswordReset(MethodView):
    @blp.doc(operationId="resetAccountPassword")
    @guarded(blp, Permission.ACCOUNT_MANAGE)
    @blp.arguments(PasswordResetSchema)
    @blp.response(204)
    @_problem(404, "account.not-found")
    @_problem(422, "auth.weak-password", "request.invalid")
    def post(self, data, account_id, actor):
        """Set a new password for an account

        Also lifts a lock-out and signs the account out everywhere.
        """
        services.reset_password(actor, account_id, data["new_password"])
