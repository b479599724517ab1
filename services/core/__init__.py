"""What the whole platform shares: accounts and sign-in (`auth`, `passwords`, `sso`, `tokens`), the audit log
(`audit`, `audit_log`), the activity log (`activity`, `activity_reader`), workshop membership (`membership`), quotas
(`quotas`), sharing rules (`sharing`), the database (`db`), logging (`logs`), HTTP middleware, worker processes,
write batching, the network guard and the typed service errors (`errors`).

May import: `models` (the ORM) and nothing else under `services`.
"""
