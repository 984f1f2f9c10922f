"""Work-ledger exports made in the background (工作台账后台导出): asked for over HTTP, written by a job."""
