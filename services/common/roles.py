"""Roles and role groups: the one table every service and the gateway read (ARCHITECTURE: Roles).

Village roles are bound to one village; district_admin to one district (kecamatan); the others
are regency- or platform-wide.
"""
from __future__ import annotations

RESIDENT = "resident"
OFFICER = "officer"
SECRETARY = "secretary"  # sekretaris desa: may sign "a.n. Kepala Desa" where the village allows
TREASURER = "treasurer"  # kaur keuangan
HEAD = "head"
DISTRICT_ADMIN = "district_admin"
REGENCY_ADMIN = "regency_admin"
OPERATOR = "operator"
SYSTEM = "system"  # a service acting on its own (issuing a signed letter), never a login

ALL = (RESIDENT, OFFICER, SECRETARY, TREASURER, HEAD, DISTRICT_ADMIN, REGENCY_ADMIN, OPERATOR)
# Staff who log in with username + password (residents use NIK + PIN).
STAFF = (OFFICER, SECRETARY, TREASURER, HEAD, DISTRICT_ADMIN, REGENCY_ADMIN, OPERATOR)
# Roles a staff account may be created with.
ACCOUNTS = (OFFICER, SECRETARY, TREASURER, HEAD, DISTRICT_ADMIN, REGENCY_ADMIN, OPERATOR)
# Roles a token may carry: who can log in.
LOGINS = (RESIDENT, *ACCOUNTS)
# The village office: staff bound to one village.
VILLAGE_STAFF = (OFFICER, SECRETARY, TREASURER, HEAD)
# Everyone whose token names one village.
VILLAGE_BOUND = (RESIDENT, *VILLAGE_STAFF)
# Everyone whose token names one district (kecamatan): the camat's read-only view.
DISTRICT_BOUND = (DISTRICT_ADMIN,)
# Who reads villages' aggregates and digital readiness (no personal data): a district's or all.
READINESS_READERS = (DISTRICT_ADMIN, REGENCY_ADMIN)
# Who may read and manage residents and families (within their scope).
RESIDENT_MANAGERS = (OFFICER, SECRETARY, HEAD, REGENCY_ADMIN)
# Who handles letter requests in the office (check, reject, request on a resident's behalf).
LETTER_CLERKS = (OFFICER, SECRETARY, HEAD)
# Who may configure a village's letter types.
LETTER_CONFIGURERS = (OFFICER, SECRETARY, HEAD, REGENCY_ADMIN)
# Who may change a village's settings.
VILLAGE_SETTINGS_EDITORS = (HEAD, REGENCY_ADMIN)
# Who drafts budgets and files payment requests (the activity officer, and the office above).
FINANCE_CLERKS = (OFFICER, SECRETARY, HEAD)
# Who reads a village's budget, books and reports.
FINANCE_READERS = (*VILLAGE_STAFF, REGENCY_ADMIN)
# Who records a village's potential, profile and publications (the village office).
POTENTIAL_EDITORS = (OFFICER, SECRETARY, HEAD)
# Who reads a village's potential with its personal data (owners' NIKs).
POTENTIAL_READERS = (*VILLAGE_STAFF, REGENCY_ADMIN)
# Who manages staff accounts through the API, and the roles each of them manages: a head the
# office staff of their own village, the regency admin every village's staff and the district
# admins. Operators (and regency admins) are managed with the `desa account` command only.
ACCOUNT_MANAGERS = (HEAD, REGENCY_ADMIN)
MANAGED_ROLES = {
    HEAD: (OFFICER, SECRETARY, TREASURER),
    REGENCY_ADMIN: (*VILLAGE_STAFF, DISTRICT_ADMIN),
    OPERATOR: ACCOUNTS,  # the `desa account` command
}
