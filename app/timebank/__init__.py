"""The time bank (时间银行): the points ledger; rewards, merchants and redemptions come next."""
