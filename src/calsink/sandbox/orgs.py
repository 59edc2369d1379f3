"""Out-of-office entries of an organisation's users: /v2/organizations/{orgId}/users/{userId}/ooo.

Upstream (calcom/cal.com, apps/api/v2/src/modules/organizations/users/ooo/controllers/
organizations-users-ooo.controller.ts, commit 222d5801): the ORG_ADMIN role on an
organisation (IsOrgGuard, RolesGuard), the user a member of it (IsUserInOrg: NestJS's 403
"Forbidden resource" otherwise), ``userId`` and ``oooId`` through ParseIntPipe; then the
same UserOOOService as /v2/me/ooo, for that user, and IsUserOOO on update and delete.
"""

from __future__ import annotations

from calsink.sandbox import output
from calsink.sandbox.account import add_ooo
from calsink.sandbox.context import Call, Env, Reply, success
from calsink.sandbox.errors import ApiError, bad_request
from calsink.sandbox.model import User
from calsink.sandbox.resources import change_ooo, remove_ooo


def _number(raw: str) -> int:
    if not raw.isdigit():
        raise bad_request("Validation failed (numeric string is expected)")
    return int(raw)


def _org_user(call: Call, env: Env) -> User:
    caller = call.require_user()
    org_id = _number(call.params["orgId"])
    org = env.store.teams.get(org_id)
    if org is None or not org.is_organization or caller.id not in org.admin_ids:
        raise ApiError(403, f"User is not an admin of the organization with id={org_id}.")
    user = env.store.users.get(_number(call.params["userId"]))
    if user is None or user.id not in org.member_ids:
        raise ApiError(403, "Forbidden resource")
    return user


def create_org_user_ooo(call: Call, env: Env) -> Reply:
    return add_ooo(_org_user(call, env), call, env)


def list_org_user_ooo(call: Call, env: Env) -> Reply:
    user = _org_user(call, env)
    mine = sorted((e for e in env.store.ooo.values() if e.user_id == user.id), key=lambda e: e.id)
    return success([output.ooo(e) for e in mine])


def update_org_user_ooo(call: Call, env: Env) -> Reply:
    return change_ooo(_org_user(call, env), call, env)


def delete_org_user_ooo(call: Call, env: Env) -> Reply:
    return remove_ooo(_org_user(call, env), call, env)
