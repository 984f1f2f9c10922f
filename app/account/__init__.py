"""A user's own account as a whole: the profile that gathers identity, skills and points."""
