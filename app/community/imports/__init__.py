"""Excel in: the community's secretary imports residents (and, later, volunteers) from a sheet."""
