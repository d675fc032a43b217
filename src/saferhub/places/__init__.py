"""Prevent: places and what was done about them.

The places register (police.uk facility snap points and partners' premises registers), crime,
ASB and harm attributed to each place, risky-facility statistics (each place against its own
class, Eck, Clarke & Guerette 2007), the prevention fund's measures and their evaluation,
designing-out-crime actions, and ASB categories recorded the same way across partners.

Pure parts: `facilities`, `register`, `attribute`, `risky`, `measures`, `asbmap`; one service
module (`service`), an HTML report (`report`) and the CLI (`commands`). Docs: docs/prevent.md."""
