"""What the hub does, once, for the API, the web pages and the CLI: each function takes a session
and the acting user, asks `saferhub.hub.access` whether the user may (need-to-know), logs
personal-data reads and writes (`audit`), and returns plain dicts.

Transactions belong to the caller: services flush, never commit or roll back; the route, CLI
command or test commits what it asked for (or closes the session, which rolls it back).

One module per resource: `directory` (agencies, users, the first administrator), `auth` (sign in
and out), `cases`, `places` (locations, incidents), `people` (and notes), `referrals`, `actions`,
`powers` (risk assessments, ASB powers, Case Reviews), `flags` (rules), `plans` (OSARA);
`common` holds what they share. Every public name is re-exported here, so
`from saferhub.hub import services; services.list_cases(...)` works."""

from saferhub.hub.access import case_for, plan_for, require_role
from saferhub.hub import tokens  # noqa: F401 (its session hooks end cached tokens when users or tokens change)
from saferhub.hub.services import auth
from saferhub.hub.services.actions import (
    action_dict,
    create_action,
    list_actions,
    overdue_actions,
    update_action,
)
from saferhub.hub.services.cases import (
    UPDATABLE,
    add_case_agency,
    add_case_member,
    case_dict,
    create_case,
    get_case,
    list_cases,
    list_cases_json,
    update_case,
)
from saferhub.hub.services.common import case_ref, stub, write_log
from saferhub.hub.services.directory import (
    add_user,
    agency_dict,
    create_agency,
    create_user,
    first_admin,
    list_agencies,
    list_users,
    update_user,
    user_dict,
)
from saferhub.hub.services.flags import list_flags, run_rules
from saferhub.hub.services.people import add_note, add_person_to_case, get_person
from saferhub.hub.services.places import (
    case_incidents,
    create_location,
    get_location,
    incidents_frame,
    link_incidents,
    location_dict,
    record_incidents,
)
from saferhub.hub.services.plans import (
    advance_plan,
    assess_from_evaluation,
    create_plan,
    export_plan,
    get_plan,
    plan_dict,
    public_plan_dict,
    public_plans,
    set_plan_public,
    set_plan_stage,
)
from saferhub.hub.services.powers import (
    apply_case_review,
    asb_alerts,
    assess_risk,
    case_review_publication,
    decide_case_review,
    questionnaires,
    review_dict,
    use_power,
)
from saferhub.hub.services.referrals import create_referral, list_referrals, referral_dict, respond_referral
from saferhub.hub.services import missing, missing_alerts, missing_figures  # noqa: E402 (issue 25)

__all__ = [
    "UPDATABLE", "action_dict", "add_case_agency", "add_case_member", "add_note", "add_person_to_case",
    "add_user", "advance_plan", "agency_dict", "assess_from_evaluation", "apply_case_review", "asb_alerts", "assess_risk", "auth",
    "case_dict", "case_for", "case_incidents", "case_ref", "case_review_publication", "create_action",
    "create_agency", "create_case", "create_location", "create_plan", "create_referral", "create_user",
    "decide_case_review", "export_plan", "first_admin", "get_case", "get_location", "get_person", "get_plan",
    "incidents_frame", "link_incidents", "list_actions", "list_agencies", "list_cases", "list_cases_json", "list_flags",
    "list_referrals", "list_users", "location_dict", "overdue_actions", "plan_dict", "plan_for",
    "questionnaires", "record_incidents", "referral_dict", "require_role", "respond_referral", "review_dict",
    "run_rules", "set_plan_stage", "stub", "update_action", "update_case", "update_user", "use_power",
    "user_dict", "write_log",
    "public_plan_dict", "public_plans", "set_plan_public",
    "missing", "missing_alerts", "missing_figures",
]

# Read models of the web pages and the briefing (pages are shells over these; see api/pages).
from saferhub.hub.services import briefing, maps, reports, trail  # noqa: E402
from saferhub.hub.services.directory import active_user  # noqa: E402
from saferhub.hub.services.plans import list_plans  # noqa: E402
from saferhub.hub.services.referrals import case_referrals  # noqa: E402

__all__ += ["active_user", "briefing", "case_referrals", "list_plans", "maps", "reports", "trail"]
from saferhub.hub.services.casefile import case_people_notes, opens_case_records  # noqa: E402

__all__ += ["case_people_notes", "opens_case_records"]
# Places named for people (issue 20): the briefing's places, a case's location from the web.
from saferhub.hub.services import placenames  # noqa: E402
from saferhub.hub.services.caseplace import case_place, resolve_place, set_case_location  # noqa: E402

__all__ += ["case_place", "placenames", "resolve_place", "set_case_location"]
from saferhub.hub.services.plans import may_publish, public_summary  # noqa: E402

__all__ += ["may_publish", "public_summary"]
