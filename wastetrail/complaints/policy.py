"""Who may see and do what with work orders.

- **Dispatchers** are regulator administrators and staff: they classify, dispatch, close and
  reopen the orders of their jurisdiction (a district bureau its district, the city bureau all).
  **Supervisors** (regulator administrators in jurisdiction) decide extension requests.
- **Handlers** are the administrators and staff of the unit an order is dispatched to (a district
  bureau, a street office, a property manager, the housing authority): they sign for it, return
  it, ask for more time, handle and answer it.
- The **hotline** organisation sees the orders it pushed.
- The complainant's name and phone are shown only to the handling staff: the dispatchers of the
  order's district and the handlers of its current unit (and the hotline for its own orders).
  Everyone else who sees the order sees them masked; a handler of another district does not see
  the order at all.
"""

from __future__ import annotations

from django.db.models import Q

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.complaints.models import WorkOrder, WorkOrderSource

STAFF_ROLES = (Role.ADMIN, Role.STAFF)
# Organisations an order can be dispatched to.
UNIT_KINDS = (OrganisationKind.REGULATOR, OrganisationKind.STREET_OFFICE, OrganisationKind.PROPERTY_MANAGER,
              OrganisationKind.HOUSING_AUTHORITY)


def _dispatcher_districts(actor: Actor, roles: tuple[str, ...] = STAFF_ROLES) -> frozenset[int] | None | bool:
    """False: not a dispatcher; None: the whole city; else the districts."""
    districts: set[int] = set()
    found = False
    for membership in actor.memberships:
        org = membership.organisation
        if org.kind == OrganisationKind.REGULATOR and membership.role in roles:
            found = True
            if org.district is None:
                return None
            districts.add(org.district)
    return frozenset(districts) if found else False


def is_dispatcher(actor: Actor) -> bool:
    return _dispatcher_districts(actor) is not False


def handler_unit_ids(actor: Actor) -> frozenset[int]:
    return actor.org_ids_of(*UNIT_KINDS, roles=STAFF_ROLES)


def hotline_ids(actor: Actor) -> frozenset[int]:
    return actor.org_ids_of(OrganisationKind.HOTLINE, roles=STAFF_ROLES)


def is_hotline(actor: Actor) -> bool:
    return bool(hotline_ids(actor))


def can_use_workorders(actor: Actor) -> bool:
    return is_dispatcher(actor) or bool(handler_unit_ids(actor)) or is_hotline(actor)


def workorder_visibility(actor: Actor) -> Q | None:
    """None: no restriction; an empty Q-set (pk__in=[]) when the actor sees nothing."""
    districts = _dispatcher_districts(actor)
    if districts is None:
        return None
    conditions = Q(pk__in=[])
    if districts:
        conditions |= Q(district__in=districts)
    units = handler_unit_ids(actor)
    if units:
        conditions |= Q(unit_id__in=units)
    if is_hotline(actor):
        conditions |= Q(source=WorkOrderSource.HOTLINE)
    return conditions


def _dispatches(actor: Actor, order: WorkOrder, roles: tuple[str, ...] = STAFF_ROLES) -> bool:
    districts = _dispatcher_districts(actor, roles)
    return districts is None or (districts is not False and order.district in districts)


def can_dispatch(actor: Actor, order: WorkOrder) -> bool:
    """Classify, dispatch, close, reopen, record a follow-up rating."""
    return _dispatches(actor, order)


def can_supervise(actor: Actor, order: WorkOrder) -> bool:
    """Decide extension requests."""
    return _dispatches(actor, order, roles=(Role.ADMIN,))


def can_handle(actor: Actor, order: WorkOrder) -> bool:
    """Sign for, return, ask for more time, handle, answer."""
    return order.unit_id is not None and order.unit_id in handler_unit_ids(actor)


def can_see_complainant(actor: Actor, order: WorkOrder) -> bool:
    if can_dispatch(actor, order) or can_handle(actor, order):
        return True
    return order.source == WorkOrderSource.HOTLINE and is_hotline(actor)


def can_link(actor: Actor, order: WorkOrder) -> bool:
    return can_dispatch(actor, order) or can_handle(actor, order)


def can_receive_for_hotline(actor: Actor) -> bool:
    return is_hotline(actor) or is_dispatcher(actor)


def can_receive_as_staff(actor: Actor) -> bool:
    """Staff record orders that reach them by phone, letter or visit."""
    return is_dispatcher(actor) or bool(handler_unit_ids(actor))


def mask_name(name: str) -> str:
    """张三丰 → 张**; keeps only the family name's first character."""
    name = (name or "").strip()
    return f"{name[0]}{'*' * max(len(name) - 1, 1)}" if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    phone = (phone or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def complainant_for(actor: Actor | None, order: WorkOrder) -> dict[str, str | bool]:
    """What of the complainant this actor may see: the details, masked, or nothing."""
    if order.anonymous:
        return {"anonymous": True, "name": "", "phone": "", "masked": False}
    if actor is not None and can_see_complainant(actor, order):
        return {"anonymous": False, "name": order.complainant_name, "phone": order.complainant_phone,
                "masked": False}
    return {"anonymous": False, "name": mask_name(order.complainant_name),
            "phone": mask_phone(order.complainant_phone), "masked": True}
