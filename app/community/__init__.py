"""Community operations: the audit trail as staff read it; to come: statistics, work ledgers out
to Excel, imports in, surveys, 随手拍 duplicates. Sits above orders: it reads them, they never
import it."""
