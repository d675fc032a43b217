"""Solve together: the multi-agency hub (cases, people, referrals, actions, risk, SARA/OSARA plans,
the statutory ASB workflow, rules over incidents), with need-to-know access and a hash-chained audit.

Layout: `models` (tables), `db` (URL, engine, migrations), `security` (passwords, tokens, login
throttling), `access` (need-to-know), `audit` (append-only chain), `rules` (vectorised flags),
`asb` (statutory clocks and order), `risk` (versioned questionnaires), `osara` (plans and export),
`services/` (the operations the API, web pages and CLI share, one module per resource),
`seed` (demo partnership from real events)."""
