"""Rules of village finance in plain Python: no nameko, no SQL.

budgets (APBDes and its one amendment), payments (SPP workflow and budget control), taxes
(withholding and deposits), books (cash entries, reversals, the cash books, month closing),
reports (realisation, semester, public summary, regency view). The application layer loads
state, asks these modules to decide, and saves.
"""
