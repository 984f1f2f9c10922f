"""Care visits (to come): household tags, care plans and missed-visit alerts. Sits above orders."""
