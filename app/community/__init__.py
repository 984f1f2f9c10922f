"""Community operations (to come): statistics, work ledgers out to Excel, imports in, surveys,
随手拍 duplicates. Sits above orders: it reads them, they never import it."""
