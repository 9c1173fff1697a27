"""Test support: a fixed cast of organisations and users, one per role, plus outsiders.

Used by every permission test, and by the demo scenario's logins. Kept in the package (not in
tests/) because the demo and benchmarks build on it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.validators import USCC_ALPHABET, uscc_check_character

CAST_PASSWORD = "Cast-password-2026"


def make_uscc(number: int, *, district: int = 440703, government: bool = False) -> str:
    """A syntactically valid 统一社会信用代码 built from a number (deterministic)."""
    authority, category = ("1", "1") if government else ("9", "1")
    body = ""
    n = number
    for _ in range(9):
        body = USCC_ALPHABET[n % 31] + body
        n //= 31
    first17 = f"{authority}{category}{district:06d}{body}"
    return first17 + uscc_check_character(first17)


@dataclass
class Cast:
    organisations: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        user = User.objects.get(username=username)
        return actor_for(user)

    def org(self, key: str) -> Organisation:
        return self.organisations[key]

    def user(self, username: str) -> User:
        return self.users[username]


# key -> (name, kind, district, government?)
CAST_ORGANISATIONS: dict[str, tuple[str, str, int | None, bool]] = {
    "regulator": ("江门市城市管理和综合执法局", OrganisationKind.REGULATOR, None, True),
    "district_regulator": ("江门市蓬江区城市管理和综合执法局", OrganisationKind.REGULATOR, 440703, True),
    "developer": ("江门市滨江建设投资有限公司", OrganisationKind.DEVELOPER, 440703, False),
    "construction": ("广东五邑建工集团有限公司", OrganisationKind.CONSTRUCTION_UNIT, 440703, False),
    "construction_other": ("江门市新会宏达建筑工程有限公司", OrganisationKind.CONSTRUCTION_UNIT, 440705, False),
    "transport": ("江门市顺通渣土运输有限公司", OrganisationKind.TRANSPORT_COMPANY, 440704, False),
    "transport_other": ("台山市恒运运输有限公司", OrganisationKind.TRANSPORT_COMPANY, 440781, False),
    "site_operator": ("江门市绿源建筑废弃物处置有限公司", OrganisationKind.SITE_OPERATOR, 440705, False),
    "property_manager": ("江门市碧桂物业服务有限公司", OrganisationKind.PROPERTY_MANAGER, 440703, False),
    "street_office": ("蓬江区环市街道办事处", OrganisationKind.STREET_OFFICE, 440703, True),
    "housing_authority": ("江门市住房和城乡建设局", OrganisationKind.HOUSING_AUTHORITY, None, True),
    "hotline": ("江门市12345政务服务便民热线", OrganisationKind.HOTLINE, None, True),
}

# username -> (organisation key, role, display name)
CAST_USERS: dict[str, tuple[str, str, str]] = {
    "reg_admin": ("regulator", Role.ADMIN, "陈管理"),
    "reg_officer": ("regulator", Role.STAFF, "李监管"),
    "district_officer": ("district_regulator", Role.STAFF, "黄区监管"),
    "developer_admin": ("developer", Role.ADMIN, "周建设"),
    "construction_admin": ("construction", Role.ADMIN, "吴施工"),
    "construction_staff": ("construction", Role.STAFF, "郑施工员"),
    "transport_admin": ("transport", Role.ADMIN, "王运输"),
    "driver": ("transport", Role.DRIVER, "刘司机"),
    "site_operator": ("site_operator", Role.ADMIN, "赵场站"),
    "property_manager": ("property_manager", Role.ADMIN, "孙物业"),
    "street_officer": ("street_office", Role.STAFF, "钱街道"),
    "housing_officer": ("housing_authority", Role.STAFF, "冯住建"),
    "hotline_client": ("hotline", Role.STAFF, "12345接口"),
    # Outsiders: the same roles at competing companies. They must never see the others' data.
    "outsider": ("construction_other", Role.ADMIN, "何外人"),
    "transport_other_admin": ("transport_other", Role.ADMIN, "林外运"),
}


def build_cast() -> Cast:
    """Create the cast directly (no services, no audit rows): tests then audit only what they do."""
    cast = Cast()
    for number, (key, (name, kind, district, government)) in enumerate(CAST_ORGANISATIONS.items(), 1):
        cast.organisations[key] = Organisation.objects.create(
            name=name, kind=kind, district=district,
            uscc=make_uscc(number * 7919, district=district or 440700, government=government),
            address=f"{name}办公地址", contact_name="联系人", contact_phone=f"1380750{number:04d}",
        )
    for username, (org_key, role, display_name) in CAST_USERS.items():
        user = User(username=username, display_name=display_name)
        user.set_password(CAST_PASSWORD)
        user.save()
        Membership.objects.create(user=user, organisation=cast.organisations[org_key], role=role)
        cast.users[username] = user
    return cast


# Data migrations that load the rulebook a fresh database starts with. A transactional test
# (browser tests, the demo) empties every table when it ends, migration data included; tests
# that come after it and need the rulebook load it again with reload_rulebook_defaults().
RULEBOOK_DATA_MIGRATIONS = (
    ("wastetrail.core.migrations.0005_jiangmen_defaults", "load_defaults"),
    ("wastetrail.core.migrations.0007_plan_outflow_tolerance", "load"),
    ("wastetrail.complaints.migrations.0003_catalogue_and_parameters", "load"),
)


def reload_rulebook_defaults() -> None:
    """Run the rulebook's data migrations again (they converge: update_or_create by code)."""
    import importlib

    from django.apps import apps

    for module, function in RULEBOOK_DATA_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)
