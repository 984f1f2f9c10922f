"""The area tree (street → community → grid → building) and each community's service catalogue."""
