"""Request validation that answers the way Cal.com's ValidationPipe does.

Cal.com validates bodies with class-validator and answers 400 with
``error.details.errors``: one entry per invalid property, ``{property, value,
constraints: {<rule>: <message>}, children: [...]}``. Unknown properties are
stripped (whitelist without forbidNonWhitelisted), so a validator returns only
the fields it knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from calsink.sandbox.errors import ApiError
from calsink.sandbox.timeutil import HH_MM, is_time_zone, parse_iso

Failure = tuple[str, str]
Check = Callable[[str, Any], Failure | None]


def is_string(prop: str, value: Any) -> Failure | None:
    return None if isinstance(value, str) else ("isString", f"{prop} must be a string")


def is_int(prop: str, value: Any) -> Failure | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else ("isInt", f"{prop} must be an integer number")


def is_number(prop: str, value: Any) -> Failure | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return (
        None
        if ok
        else ("isNumber", f"{prop} must be a number conforming to the specified constraints")
    )


def is_boolean(prop: str, value: Any) -> Failure | None:
    return None if isinstance(value, bool) else ("isBoolean", f"{prop} must be a boolean value")


def is_object(prop: str, value: Any) -> Failure | None:
    return None if isinstance(value, dict) else ("isObject", f"{prop} must be an object")


def is_array(prop: str, value: Any) -> Failure | None:
    return None if isinstance(value, list) else ("isArray", f"{prop} must be an array")


def is_date_string(prop: str, value: Any) -> Failure | None:
    ok = parse_iso(value) is not None
    return None if ok else ("isDateString", f"{prop} must be a valid ISO 8601 date string")


def is_time_zone_check(prop: str, value: Any) -> Failure | None:
    ok = is_time_zone(value)
    return None if ok else ("isTimeZone", f"{prop} must be a valid IANA time-zone")


# close to validator.js isEmail, which class-validator uses: a dotted local part and a
# domain of letter/digit/hyphen labels ending in a top-level domain of two or more letters
_EMAIL = re.compile(
    r"^(?!\.)[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def is_email(prop: str, value: Any) -> Failure | None:
    ok = isinstance(value, str) and len(value) <= 254 and ".." not in value
    if ok and _EMAIL.match(value) is not None:
        return None
    return ("isEmail", f"{prop} must be an email")


def is_hh_mm(prop: str, value: Any) -> Failure | None:
    ok = isinstance(value, str) and HH_MM.match(value) is not None
    return None if ok else ("matches", f"{prop} must be a valid time format HH:MM")


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def is_url(prop: str, value: Any) -> Failure | None:
    ok = isinstance(value, str) and _URL.match(value) is not None
    return None if ok else ("isUrl", f"{prop} must be a URL address")


def at_least(minimum: int) -> Check:
    def check(prop: str, value: Any) -> Failure | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
        return None if ok else ("min", f"{prop} must not be less than {minimum}")

    return check


def is_in(allowed: Iterable[str]) -> Check:
    options = tuple(allowed)

    def check(prop: str, value: Any) -> Failure | None:
        ok = isinstance(value, str) and value in options
        listed = ", ".join(options)
        return None if ok else ("isEnum", f"{prop} must be one of the following values: {listed}")

    return check


def each(inner: Check) -> Check:
    def check(prop: str, value: Any) -> Failure | None:
        if not isinstance(value, list):
            return None
        for item in value:
            failure = inner(prop, item)
            if failure is not None:
                rule, message = failure
                return rule, "each value in " + message
        return None

    return check


def matches(pattern: str, message: str) -> Check:
    compiled = re.compile(pattern)

    def check(prop: str, value: Any) -> Failure | None:
        ok = isinstance(value, str) and compiled.match(value) is not None
        return None if ok else ("matches", message.format(prop=prop))

    return check


def _is_missing(data: dict[str, Any], name: str) -> bool:
    return name not in data or data[name] is None


class Validator:
    """Collects class-validator-shaped errors and the whitelisted fields of one object."""

    def __init__(self, data: Any) -> None:
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.errors: list[dict[str, Any]] = []
        self.clean: dict[str, Any] = {}

    def field(self, name: str, *checks: Check, required: bool = False) -> Any:
        if _is_missing(self.data, name):
            if required:
                self._fail(name, None, checks)
            return None
        value = self.data[name]
        if self._fail(name, value, checks):
            return None
        self.clean[name] = value
        return value

    def nested(
        self, name: str, build: Callable[[Validator], None], *, required: bool = False
    ) -> dict[str, Any] | None:
        if _is_missing(self.data, name):
            if required:
                self.add(name, None, {"isDefined": f"{name} should not be null or undefined"})
            return None
        value = self.data[name]
        if not isinstance(value, dict):
            message = f"nested property {name} must be either object or array"
            self.add(name, value, {"nestedValidation": message})
            return None
        inner = Validator(value)
        build(inner)
        if inner.errors:
            self.errors.append({"value": value, "property": name, "children": inner.errors})
            return None
        self.clean[name] = inner.clean
        return inner.clean

    def nested_list(
        self, name: str, build: Callable[[Validator], None], *, required: bool = False
    ) -> list[dict[str, Any]] | None:
        if _is_missing(self.data, name):
            if required:
                self.add(name, None, {"isArray": f"{name} must be an array"})
            return None
        value = self.data[name]
        if not isinstance(value, list):
            self.add(name, value, {"isArray": f"{name} must be an array"})
            return None
        cleaned: list[dict[str, Any]] = []
        children: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            inner = Validator(item)
            if not isinstance(item, dict):
                message = f"nested property {name} must be either object or array"
                inner.add(str(index), item, {"nestedValidation": message})
            else:
                build(inner)
            if inner.errors:
                children.append({"value": item, "property": str(index), "children": inner.errors})
            else:
                cleaned.append(inner.clean)
        if children:
            self.errors.append({"value": value, "property": name, "children": children})
            return None
        self.clean[name] = cleaned
        return cleaned

    def add(self, name: str, value: Any, constraints: dict[str, str]) -> None:
        self.errors.append(
            {"value": value, "property": name, "children": [], "constraints": constraints}
        )

    def _fail(self, name: str, value: Any, checks: tuple[Check, ...]) -> bool:
        constraints: dict[str, str] = {}
        for check in checks:
            failure = check(name, value)
            if failure is not None:
                constraints[failure[0]] = failure[1]
        if constraints:
            self.add(name, value, constraints)
            return True
        return False

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise validation_error(self.errors)


def _messages(errors: list[dict[str, Any]], prefix: str = "") -> list[str]:
    found: list[str] = []
    for error in errors:
        path = f"{prefix}{error['property']}"
        for message in error.get("constraints", {}).values():
            found.append(f"{prefix}{message}" if prefix else message)
        found.extend(_messages(error.get("children", []), f"{path}."))
    return found


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    message = "; ".join(_messages(errors)) or "Bad Request Exception"
    return ApiError(400, message, details={"errors": errors})


def require_object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return body
