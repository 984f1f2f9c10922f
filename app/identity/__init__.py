"""Who people are: users, their roles per area, households, invitations, login and the Actor."""
