"""The time bank (时间银行): the points ledger, the earning rule, settling an order's points and a
volunteer's statement; rewards, merchants and redemptions come next."""
