"""Orders (工单 / 微心愿 / 随手拍): the workflow table, access, submit, actions, reads, reminders."""
