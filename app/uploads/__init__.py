"""Photos: verified, stripped of EXIF, stored content-addressed, linked to orders."""
