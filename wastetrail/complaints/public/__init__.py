"""The public pages (no login, phone first): find a stacking point, what may go in, report a
problem, follow a report and rate the answer. Mounted at /public/ (wastetrail/urls.py)."""
